"""The model catalog: shipped shapes against public parameter counts, and user model files.

Expected per-component counts below are written out from each model's published configuration
(layers, widths, vocabulary), not taken from `count_params`: a wrong formula in
`chipswitch.model.params` has to disagree with the arithmetic in the comment next to it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from chipswitch._yaml import load_model
from chipswitch.catalog import DATA_DIR, ENV_VAR, load_catalog
from chipswitch.errors import CatalogFileError, UnknownNameError
from chipswitch.model import ModelShape, ParamCounts, count_params

MODEL_FILES = sorted((DATA_DIR / "models").glob("*.yaml"))
SHAPES = {p.stem: load_model(p, ModelShape) for p in MODEL_FILES}

REQUIRED_IDS = {
    "gpt3-175b",
    *(f"megatron-gpt-{s}" for s in ("1.7b", "3.6b", "7.5b", "18b", "39b", "76b", "145b")),
    *(f"megatron-gpt-{s}" for s in ("310b", "530b", "1t")),
    "llama2-7b",
    "llama2-13b",
    "llama2-70b",
    "llama3.1-8b",
    "llama3.1-70b",
    "llama3.1-405b",
    "mixtral-8x7b",
    "mixtral-8x22b",
    "deepseek-v3",
    "qwen3-235b-a22b",
    "gpt-neox-20b",
    "mpt-7b",
    "mpt-30b",
    "bert-large",
}

REL_TOL = 0.005  # 0.5%


def agrees(count: int, stated: float, rounded_to: float | None) -> bool:
    """`count` is within 0.5% of the stated figure, read as the interval its rounding allows.

    A headline "37B" (rounded_to 1e9) stands for [36.5B, 37.5B]; an exact count for itself.
    """
    half = (rounded_to or 0.0) / 2
    lo, hi = stated - half, stated + half
    gap = 0.0 if lo <= count <= hi else min(abs(count - lo), abs(count - hi))
    return gap <= REL_TOL * stated


def components(c: ParamCounts) -> dict[str, int]:
    return {k: v for k, v in c.as_dict().items() if k not in ("total", "active")}


# -- the shipped files ------------------------------------------------------------------


def test_required_models_are_shipped() -> None:
    assert set(SHAPES) >= REQUIRED_IDS, sorted(REQUIRED_IDS - set(SHAPES))


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_file_is_named_by_id_and_sourced(path: Path) -> None:
    m = SHAPES[path.stem]
    assert m.id == path.stem
    assert m.source and len(m.source) > 20
    assert m.reference is not None and m.reference.source
    assert (m.reference.params_active is not None) == m.is_moe


@pytest.mark.parametrize("mid", sorted(SHAPES))
def test_total_agrees_with_public_statement(mid: str) -> None:
    m = SHAPES[mid]
    assert m.reference is not None
    total = count_params(m).total
    assert agrees(total, m.reference.params_total, m.reference.rounded_to), (
        f"{mid}: counted {total:,}, stated {m.reference.params_total:,.0f}"
    )


@pytest.mark.parametrize("mid", sorted(k for k, m in SHAPES.items() if m.is_moe))
def test_moe_active_agrees_and_is_below_total(mid: str) -> None:
    m = SHAPES[mid]
    c = count_params(m)
    assert m.reference is not None and m.reference.params_active is not None
    assert 0 < c.active < c.total
    assert c.active_experts < c.experts
    assert agrees(c.active, m.reference.params_active, m.reference.rounded_to), (
        f"{mid}: counted active {c.active:,}, stated {m.reference.params_active:,.0f}"
    )


def test_exact_references_match_to_the_parameter() -> None:
    """Where the reference is an exact count, the shapes reproduce it, not just within 0.5%."""
    # Llama 2 checkpoints also store 64 rotary inv_freq numbers per layer (buffers, not weights).
    buffers = {"llama2-7b": 32 * 64, "llama2-13b": 40 * 64, "llama2-70b": 80 * 64}
    for mid, m in SHAPES.items():
        assert m.reference is not None
        if m.reference.rounded_to is None:
            stated = int(m.reference.params_total)
            assert count_params(m).total + buffers.get(mid, 0) == stated, mid


# -- component by component, from the published configs --------------------------------


def test_llama2_7b_components() -> None:
    # HF meta-llama/Llama-2-7b-hf: 32 layers, hidden 4096, 32 heads (MHA), FFN 11008, vocab 32000.
    h, layers, ffn, vocab = 4096, 32, 11008, 32000
    expected = {
        "embeddings": vocab * h,  # 32000 x 4096 = 131,072,000
        "attention": layers * 4 * h**2,  # Q, K, V, O all 4096x4096: 32 x 4 x 4096^2
        "mlp": layers * 3 * h * ffn,  # gate, up, down: 32 x 3 x 4096 x 11008
        "experts": 0,
        "shared_experts": 0,
        "router": 0,
        "norms": (2 * layers + 1) * h,  # two RMSNorm scales per layer + final
        "head": vocab * h,  # untied lm_head
        "pooler": 0,
    }
    c = count_params(SHAPES["llama2-7b"])
    assert components(c) == expected
    assert c.total == 6_738_415_616  # keras-hub llama2_7b_en preset


def test_llama2_70b_gqa_components() -> None:
    # 80 layers, hidden 8192, 64 query heads and 8 KV heads of 128, FFN 28672, vocab 32000.
    h, layers = 8192, 80
    q_and_o = 2 * h * (64 * 128)  # 8192 -> 8192 and back
    k_and_v = 2 * h * (8 * 128)  # 8192 -> 1024 each
    c = count_params(SHAPES["llama2-70b"])
    assert c.attention == layers * (q_and_o + k_and_v)  # 80 x 150,994,944
    assert c.mlp == layers * 3 * h * 28672
    assert c.total == 68_976_648_192


def test_gpt3_175b_components() -> None:
    # Brown et al. 2020 Table 2.1: 96 layers, d_model 12288, d_ff 4 x 12288, n_ctx 2048; GPT-2
    # BPE 50257; biases everywhere, two LayerNorms (scale + shift) per layer plus a final one;
    # tied head.
    h, layers, vocab, ctx = 12288, 96, 50257, 2048
    expected = {
        "embeddings": vocab * h + ctx * h,  # token + learned position tables
        "attention": layers * (4 * h * h + 4 * h),  # QKV 3h^2+3h, out-proj h^2+h
        "mlp": layers * (8 * h * h + 5 * h),  # up h x 4h + 4h, down 4h x h + h
        "experts": 0,
        "shared_experts": 0,
        "router": 0,
        "norms": layers * 2 * 2 * h + 2 * h,
        "head": 0,
        "pooler": 0,
    }
    assert components(count_params(SHAPES["gpt3-175b"])) == expected


MEGATRON_TABLE1 = [  # Narayanan et al. 2021 Table 1: (id suffix, layers l, hidden h)
    ("1.7b", 24, 2304),
    ("3.6b", 30, 3072),
    ("7.5b", 36, 4096),
    ("18b", 40, 6144),
    ("39b", 48, 8192),
    ("76b", 60, 10240),
    ("145b", 80, 12288),
    ("310b", 96, 16384),
    ("530b", 105, 20480),
    ("1t", 128, 25600),
]


@pytest.mark.parametrize(("suffix", "layers", "h"), MEGATRON_TABLE1)
def test_megatron_gpt_matches_the_papers_formula(suffix: str, layers: int, h: int) -> None:
    # arXiv:2104.04473 Section 5.1: P = 12 l h^2 (1 + 13/(12h) + (V+s)/(12lh)), V=51200, s=2048,
    # i.e. 12lh^2 + 13lh + (V+s)h. The formula leaves out the final LayerNorm (2h).
    vocab, seq = 51200, 2048
    paper = 12 * layers * h**2 + 13 * layers * h + (vocab + seq) * h
    assert count_params(SHAPES[f"megatron-gpt-{suffix}"]).total == paper + 2 * h


def test_mixtral_8x7b_moe_components() -> None:
    # HF config: 32 layers, hidden 4096, 32 q / 8 kv heads of 128, 8 SwiGLU experts of 14336, top-2.
    h, layers, width, vocab = 4096, 32, 14336, 32000
    expert = 3 * h * width  # w1, w3: 4096 -> 14336; w2 back: 176,160,768
    expected = {
        "embeddings": vocab * h,
        "attention": layers * (2 * h * 4096 + 2 * h * 1024),
        "mlp": 0,  # every layer is MoE
        "experts": layers * 8 * expert,
        "shared_experts": 0,
        "router": layers * h * 8,  # gate: 4096 -> 8, no bias
        "norms": (2 * layers + 1) * h,
        "head": vocab * h,
        "pooler": 0,
    }
    c = count_params(SHAPES["mixtral-8x7b"])
    assert components(c) == expected
    assert c.total == 46_702_792_704  # keras-hub mixtral_8_7b_en preset
    assert c.active == c.total - layers * 8 * expert + layers * 2 * expert  # 12.88B vs stated 12.9B


def test_mixtral_8x22b_total_matches_hf_checkpoint() -> None:
    # 56 layers, hidden 6144, 48 q / 8 kv heads of 128, 8 experts of 16384, vocab 32000.
    h, layers = 6144, 56
    per_layer = 2 * h * 6144 + 2 * h * 1024 + 8 * 3 * h * 16384 + h * 8 + 2 * h
    total = layers * per_layer + 2 * 32000 * h + h
    assert total == 140_620_634_112  # HF safetensors.total, mistral-community/Mixtral-8x22B-v0.1
    assert count_params(SHAPES["mixtral-8x22b"]).total == total


def test_deepseek_v3_mla_moe_components() -> None:
    # config.json: 61 layers, hidden 7168, 128 heads; q_lora 1536, kv_lora 512, qk nope 128 +
    # rope 64, v 128; layers 0-2 dense FFN 18432; 58 MoE layers of 256 routed experts of 2048
    # (top-8) plus one shared expert; router bias (e_score_correction_bias); vocab 129280, untied.
    h, layers, moe_layers = 7168, 61, 58
    q = h * 1536 + 1536 + 1536 * 128 * (128 + 64)  # W_DQ, q_a RMSNorm, W_UQ
    kv = h * (512 + 64) + 512 + 512 * 128 * (128 + 128)  # W_DKV (+k_rope), kv_a RMSNorm, W_UKV
    o = 128 * 128 * h
    expert = 3 * h * 2048
    expected = {
        "embeddings": 129280 * h,
        "attention": layers * (q + kv + o),
        "mlp": 3 * 3 * h * 18432,
        "experts": moe_layers * 256 * expert,
        "shared_experts": moe_layers * 1 * expert,
        "router": moe_layers * (256 * h + 256),
        "norms": (2 * layers + 1) * h,
        "head": 129280 * h,
        "pooler": 0,
    }
    c = count_params(SHAPES["deepseek-v3"])
    assert components(c) == expected
    assert c.active == c.total - moe_layers * 256 * expert + moe_layers * 8 * expert
    # README_WEIGHTS.md: 36.6B activated "including 0.9B for the output Head", i.e. without the
    # input embedding table.
    assert agrees(c.active - c.embeddings, 36.6e9, 1e8)


def test_qwen3_235b_components_with_qk_norm() -> None:
    # config.json: 94 layers, hidden 4096, 64 q / 4 kv heads of 128, 128 experts of 1536 (top-8),
    # vocab 151936, untied; per-head RMSNorm q_norm and k_norm (128 each) in every layer.
    h, layers = 4096, 94
    expected = {
        "embeddings": 151936 * h,
        "attention": layers * (2 * h * 64 * 128 + 2 * h * 4 * 128),
        "mlp": 0,
        "experts": layers * 128 * 3 * h * 1536,
        "shared_experts": 0,
        "router": layers * h * 128,
        "norms": (2 * layers + 1) * h + layers * 2 * 128,
        "head": 151936 * h,
        "pooler": 0,
    }
    c = count_params(SHAPES["qwen3-235b-a22b"])
    assert components(c) == expected
    assert c.total == 235_093_634_560  # HF safetensors.total for Qwen/Qwen3-235B-A22B


def test_bert_large_encoder_components() -> None:
    # L=24, H=1024, A=16, FFN 4096; vocab 30522, 512 positions, 2 segment types; biases, pooler.
    h, layers, ffn = 1024, 24, 4096
    expected = {
        "embeddings": 30522 * h + 512 * h + 2 * h + 2 * h,  # token, position, segment, LayerNorm
        "attention": layers * 4 * (h * h + h),
        "mlp": layers * (h * ffn + ffn + ffn * h + h),
        "experts": 0,
        "shared_experts": 0,
        "router": 0,
        "norms": layers * 2 * 2 * h,  # no final norm in a post-LN encoder
        "head": 0,
        "pooler": h * h + h,
    }
    c = count_params(SHAPES["bert-large"])
    assert components(c) == expected
    assert c.total == 335_141_888  # keras-hub bert_large_en_uncased = HF BertModel


def test_gpt_neox_20b_parallel_block_keeps_two_norms() -> None:
    # 44 layers, hidden 6144, FFN 24576, vocab 50432 untied; biases; use_parallel_residual with
    # input_layernorm and post_attention_layernorm both present.
    h, layers = 6144, 44
    c = count_params(SHAPES["gpt-neox-20b"])
    assert c.norms == layers * 2 * 2 * h + 2 * h
    assert c.attention == layers * (4 * h * h + 4 * h)
    assert c.mlp == layers * (2 * h * 24576 + 24576 + h)
    assert c.total == 20_554_567_680  # model card n_parameters


def test_mpt_7b_has_no_biases_and_no_position_table() -> None:
    # 32 layers, d_model 4096, expansion 4, vocab 50432; ALiBi; no_bias strips LayerNorm shifts too.
    h, layers = 4096, 32
    expected = {
        "embeddings": 50432 * h,
        "attention": layers * 4 * h * h,
        "mlp": layers * 8 * h * h,
        "experts": 0,
        "shared_experts": 0,
        "router": 0,
        "norms": (2 * layers + 1) * h,  # LayerNorm scales only
        "head": 0,  # tied to wte
        "pooler": 0,
    }
    assert components(count_params(SHAPES["mpt-7b"])) == expected


# -- schema rules -----------------------------------------------------------------------

BASE = {
    "id": "toy",
    "name": "Toy",
    "layers": 2,
    "hidden": 64,
    "heads": 4,
    "kv_heads": 2,
    "head_dim": 16,
    "ffn_hidden": 128,
    "vocab": 100,
    "gated_mlp": True,
}


def test_heads_not_multiple_of_kv_heads_is_rejected() -> None:
    with pytest.raises(ValidationError, match="multiple of kv_heads"):
        ModelShape.model_validate({**BASE, "heads": 6, "kv_heads": 4})


def test_new_fields_default_to_previous_counting() -> None:
    plain = count_params(ModelShape.model_validate(BASE))
    explicit = count_params(
        ModelShape.model_validate(
            {**BASE, "norm_bias": True, "qk_norm": False, "parallel_norms": 1}
        )
    )
    assert plain == explicit
    with pytest.raises(ValidationError, match="parallel_block"):
        ModelShape.model_validate({**BASE, "parallel_norms": 2})


def test_dense_model_cannot_state_active_params() -> None:
    ref = {"params_total": 1e6, "params_active": 5e5, "source": "x"}
    with pytest.raises(ValidationError, match="dense"):
        ModelShape.model_validate({**BASE, "reference": ref})


# -- user model files -------------------------------------------------------------------


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(ENV_VAR, raising=False)
    (tmp_path / "models").mkdir()
    return tmp_path


def _write(d: Path, name: str, data: dict[str, object]) -> Path:
    path = d / "models" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_misspelt_key_in_user_file_is_rejected_by_name(user_dir: Path) -> None:
    data = {k: v for k, v in BASE.items() if k != "hidden"} | {"hiden": 64}
    path = _write(user_dir, "toy", data)
    with pytest.raises(CatalogFileError) as err:
        load_catalog([user_dir])
    msg = str(err.value)
    assert str(path) in msg
    assert "hiden" in msg and "unknown key" in msg


def test_bad_kv_heads_in_user_file_names_the_file(user_dir: Path) -> None:
    _write(user_dir, "toy", {**BASE, "heads": 6, "kv_heads": 4})
    with pytest.raises(CatalogFileError, match="multiple of kv_heads"):
        load_catalog([user_dir])


def test_user_directory_adds_and_overrides_models(user_dir: Path) -> None:
    _write(user_dir, "toy", BASE)
    shipped = SHAPES["llama2-7b"].model_dump(exclude_none=True)
    override = _write(user_dir, "my-llama", {**shipped, "vocab": 32768, "reference": None})
    cat = load_catalog([user_dir])
    assert cat.model("toy").hidden == 64
    assert cat.model("llama2-7b").vocab == 32768
    assert cat.origin["model:llama2-7b"] == override
    assert cat.model("llama2-13b") == SHAPES["llama2-13b"]  # others untouched


def test_models_resolve_by_alias_and_suggest_on_typos(user_dir: Path) -> None:
    cat = load_catalog([user_dir])
    assert cat.model("meta-llama/Llama-2-7b-hf").id == "llama2-7b"
    assert cat.model("mpt-70b").id == "llmfoundry-mpt-70b"
    with pytest.raises(UnknownNameError, match="llama2-7b"):
        cat.model("llama2-7")
