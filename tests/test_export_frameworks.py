"""Each exported file checked by the framework itself, not by our reading of its docs.

- Megatron: the `pretrain_gpt.py` argument list becomes Megatron-Core's own `TransformerConfig`
  (the translation of Megatron-LM's `core_transformer_config_from_args`), its process groups
  are built by `parallel_state.initialize_model_parallel` on a fake world of the job's size,
  its micro-batch count by `ConstantNumMicroBatchesCalculator`, its DDP/FSDP settings by
  `DistributedDataParallelConfig`. (Megatron-LM's own argparse lives in `megatron/training`,
  which the megatron-core wheel does not ship.)
- torchtitan: the TOML is read by torchtitan's `ConfigManager`, its device mesh built by its
  `ParallelDims` on a fake world, its pipeline split by its stage splitter, and each model
  flavour is instantiated (on the meta device) and its parameters counted against the catalog.
- MaxText: the YAML is read by MaxText's `pyconfig` with the job's TPU topology as the AOT
  target, and its ICI/DCN meshes completed by MaxText's mesh code (in a subprocess: MaxText
  needs Python >= 3.12; set CHIPSWITCH_MAXTEXT_PYTHON to such an interpreter with maxtext).
- NeuronX Distributed Training is not on PyPI for this platform: its files are checked against
  the documented schema only (`chipswitch.export.neuronx_distributed.schema_problems`).

The extra `export-check` in pyproject.toml installs what runs here; without it these tests skip.
MaxText also trains two steps of a tiny model of the same family from two exported files, on
CPU devices that XLA fakes (one per chip), when its trainer imports. Neither Megatron-Core 0.16
nor torchtitan 0.2 trains on a CPU-only torch (both call CUDA unconditionally: Megatron's
rotary embedding and RNG tracker, torchtitan's device type); see docs/export/README.md.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from chipswitch.catalog import load_catalog
from chipswitch.export import CannotExpressError, ExportedConfig, export_best, export_plan
from chipswitch.export.neuronx_distributed import schema_problems
from chipswitch.model.params import count_params
from chipswitch.parallel.plan import parse_plan
from chipswitch.perf.workload import Workload

CAT = load_catalog()
EXTRA = "install the 'export-check' extra: pip install -e '.[export-check]'"


@dataclass(frozen=True)
class Case:
    framework: str
    model: str
    chip: str
    chips: int
    global_batch: int
    seq: int
    plan: str | None = None  # None: the best plan of the search
    software: str | None = None  # None: the vendor's reference stack

    @property
    def id(self) -> str:
        how = "best" if self.plan is None else "plan"
        stack = f"-{self.software}" if self.software else ""
        return f"{self.framework}-{self.model}-{self.chips}x{self.chip}-{how}{stack}"

    def export(self) -> ExportedConfig:
        w = Workload(CAT.model(self.model), self.global_batch, self.seq, software=self.software)
        chip = CAT.chip(self.chip)
        if self.plan is None:
            try:
                return export_best(self.framework, w, chip, self.chips, catalog=CAT)[0]
            except CannotExpressError as exc:  # the user's next step: the plan it names
                suggested = str(exc).split("'")[1]
                return export_plan(self.framework, w, chip, parse_plan(suggested), catalog=CAT)
        return export_plan(self.framework, w, chip, parse_plan(self.plan), catalog=CAT)


#: Dense and MoE, small and large, for each framework; best plans and given ones.
CASES = [
    Case(
        "megatron", "llama3.1-8b", "h100-sxm", 8, 64, 8192, "TP2 DP4 mb1 ZeRO-1 recompute=selective"
    ),
    Case(
        "megatron",
        "llama3.1-70b",
        "h100-sxm",
        256,
        512,
        8192,
        "TP8 PP4 VP5 DP8 mb1 ZeRO-1 recompute=full",
    ),
    Case(
        "megatron",
        "llama3.1-405b",
        "h100-sxm",
        1024,
        1024,
        8192,
        "TP8 PP8 DP4 CP4 mb1 ZeRO-1 recompute=none",
    ),
    Case(
        "megatron",
        "llama3.1-70b",
        "mi300x",
        256,
        512,
        8192,
        "TP1 DP256 mb2 ZeRO-3 recompute=full HSDP",
    ),
    Case("megatron", "mixtral-8x7b", "h100-sxm", 128, 512, 4096),
    Case("megatron", "deepseek-v3", "h100-sxm", 2048, 4096, 4096),
    Case(
        "megatron",
        "mixtral-8x22b",
        "h100-sxm",
        64,
        256,
        4096,
        "TP2 PP4 VP2 DP8 EP8 mb1 ZeRO-1 recompute=selective",
        software="megatron-core-ep-overlap",
    ),
    Case("torchtitan", "llama3.1-8b", "h100-sxm", 64, 256, 8192),
    Case("torchtitan", "llama3.1-8b", "h100-sxm", 8, 64, 8192, "TP1 DP8 mb1 ZeRO-0 recompute=none"),
    Case(
        "torchtitan",
        "llama3.1-405b",
        "h100-sxm",
        1024,
        1024,
        8192,
        "TP8 PP8 VP2 DP8 CP2 mb2 ZeRO-2 recompute=selective",
    ),
    Case("torchtitan", "qwen3-235b-a22b", "h100-sxm", 512, 1024, 4096),
    Case(
        "torchtitan",
        "qwen3-235b-a22b",
        "b200",
        256,
        512,
        4096,
        "TP4 PP4 DP16 EP2 mb1 ZeRO-3 recompute=full HSDP",
    ),
    Case("maxtext", "llama3.1-8b", "tpu-v5p", 64, 256, 8192),
    Case("maxtext", "llama3.1-405b", "tpu-v5p", 2048, 1024, 8192),
    Case("maxtext", "mixtral-8x7b", "tpu-v5p", 256, 512, 4096),
    Case(
        "maxtext",
        "mixtral-8x7b",
        "tpu-v5p",
        256,
        512,
        4096,
        "TP1 DP256 EP8 mb1 ZeRO-1 recompute=selective",
    ),
    Case(
        "maxtext",
        "llama3.1-70b",
        "tpu-v5e",
        512,
        1024,
        4096,
        "TP4 PP2 DP64 mb2 ZeRO-1 recompute=full",
    ),
    Case(
        "neuronx-distributed",
        "llama3.1-8b",
        "trn2",
        32,
        256,
        8192,
        "TP1 DP8 CP4 mb4 ZeRO-1 recompute=selective",
    ),
    Case(
        "neuronx-distributed",
        "llama3.1-70b",
        "trn2",
        256,
        1024,
        8192,
        "TP8 PP4 DP8 mb1 ZeRO-1 recompute=selective",
    ),
    Case(
        "neuronx-distributed",
        "mixtral-8x7b",
        "trn1",
        128,
        512,
        4096,
        "TP4 DP32 EP4 mb1 ZeRO-1 recompute=full",
    ),
]


def _cases(framework: str) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in CASES if c.framework == framework]


def test_every_format_has_dense_and_moe_small_and_large() -> None:
    for fw in ("megatron", "torchtitan", "maxtext", "neuronx-distributed"):
        cases = [c for c in CASES if c.framework == fw]
        assert len(cases) >= 3
        assert any(CAT.model(c.model).moe for c in cases)
        assert any(not CAT.model(c.model).moe for c in cases)
        assert len({c.chips for c in cases}) >= 2


@pytest.fixture
def fake_world() -> Iterator[Any]:
    """`init(world_size)` starts torch.distributed's fake backend; torn down after the test."""
    import torch.distributed as dist
    from torch.testing._internal.distributed.fake_pg import FakeStore

    def init(world: int) -> None:
        dist.init_process_group("fake", store=FakeStore(), rank=0, world_size=world)

    yield init
    if dist.is_initialized():
        dist.destroy_process_group()


# -- Megatron ----------------------------------------------------------------------------------


def megatron_args(text: str) -> tuple[dict[str, str | bool], int]:
    """The MEGATRON_ARGS array as Megatron-LM's argparse sees it (dest -> value), and the
    world size of the torchrun line."""
    block = text.split("MEGATRON_ARGS=(\n", 1)[1].split("\n)\n", 1)[0]
    code = [line for line in block.splitlines() if not line.strip().startswith("#")]
    tokens = shlex.split("\n".join(code))
    args: dict[str, str | bool] = {}
    i = 0
    while i < len(tokens):
        assert tokens[i].startswith("--"), tokens[i]
        dest = tokens[i][2:].replace("-", "_")
        if i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            args[dest], i = tokens[i + 1], i + 2
        else:
            args[dest], i = True, i + 1
    launch = re.search(r"--nproc-per-node (\d+) --nnodes (\d+)", text)
    assert launch
    return args, int(launch[1]) * int(launch[2])


def _number(v: str | bool) -> Any:
    if isinstance(v, bool):
        return v
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return v


def _layer_pattern(expr: str) -> list[int]:
    """Megatron-LM's `moe_freq_type` for '[0]*3+[1]*58' (list runs joined by '+')."""
    out: list[int] = []
    for run in expr.split("+"):
        value, count = re.fullmatch(r"\[(\d)\]\*(\d+)", run).groups()  # type: ignore[union-attr]
        out += [int(value)] * int(count)
    return out


def megatron_transformer_config(args: dict[str, str | bool]) -> Any:
    """Megatron-Core's TransformerConfig from the parsed flags, as Megatron-LM's
    `core_transformer_config_from_args` builds it (same-named fields copied, then the
    flags that map to other fields)."""
    import torch
    import torch.nn.functional as F
    from megatron.core.transformer import MLATransformerConfig, TransformerConfig

    cls = MLATransformerConfig if args.get("multi_latent_attention") else TransformerConfig
    names = {f.name for f in fields(cls)}
    renames = {
        "num_experts": "num_moe_experts",
        "decoder_first_pipeline_num_layers": "num_layers_in_first_pipeline_stage",
        "decoder_last_pipeline_num_layers": "num_layers_in_last_pipeline_stage",
        "fp8_format": "fp8",
    }
    kw: dict[str, Any] = {}
    for dest, value in args.items():
        name = renames.get(dest, dest)
        if name in names:
            kw[name] = _number(value)
    if args.get("swiglu"):
        kw |= {"gated_linear_unit": True, "activation_func": F.silu}
    kw["add_bias_linear"] = not args.get("disable_bias_linear", False)
    if not args.get("group_query_attention"):
        kw.pop("num_query_groups", None)
    if isinstance(args.get("moe_layer_freq"), str):
        kw["moe_layer_freq"] = _layer_pattern(str(args["moe_layer_freq"]))
    per_vstage = args.get("num_layers_per_virtual_pipeline_stage")
    if per_vstage:
        pp = int(args["pipeline_model_parallel_size"])
        kw["virtual_pipeline_model_parallel_size"] = (
            int(args["num_layers"]) // pp // int(per_vstage)
        )
    if args.get("bf16"):
        kw |= {"params_dtype": torch.bfloat16, "pipeline_dtype": torch.bfloat16}
    kw["moe_grouped_gemm"] = False  # the grouped-GEMM kernel package is a GPU build; not checked
    return cls(**kw)


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases("megatron"))
def test_megatron_core_accepts_the_argument_list(case: Case, fake_world: Any) -> None:
    pytest.importorskip("megatron.core", reason=f"megatron-core is not installed; {EXTRA}")
    from megatron.core import parallel_state as ps
    from megatron.core.distributed import DistributedDataParallelConfig
    from megatron.core.num_microbatches_calculator import ConstantNumMicroBatchesCalculator

    out = case.export()
    args, world = megatron_args(out.text)
    assert world == case.chips
    cfg = megatron_transformer_config(args)
    model = CAT.model(case.model)
    assert (cfg.num_layers, cfg.hidden_size, cfg.num_attention_heads) == (
        model.layers,
        model.hidden,
        model.heads,
    )
    assert cfg.num_moe_experts == (model.moe.experts if model.moe else None)

    fake_world(world)
    try:
        ps.initialize_model_parallel(
            tensor_model_parallel_size=cfg.tensor_model_parallel_size,
            pipeline_model_parallel_size=cfg.pipeline_model_parallel_size,
            virtual_pipeline_model_parallel_size=cfg.virtual_pipeline_model_parallel_size,
            context_parallel_size=cfg.context_parallel_size,
            expert_model_parallel_size=cfg.expert_model_parallel_size,
            num_distributed_optimizer_instances=int(
                args.get("num_distributed_optimizer_instances", 1)
            ),
            create_gloo_process_groups=False,
        )
        dp = ps.get_data_parallel_world_size()
        assert dp == out.plan.dp
        micro = ConstantNumMicroBatchesCalculator(
            int(args["global_batch_size"]), int(args["micro_batch_size"]), dp, False, 0
        )
        assert micro.get() == case.global_batch // (dp * out.plan.micro_batch)
    finally:
        ps.destroy_model_parallel()
    DistributedDataParallelConfig(
        use_distributed_optimizer=bool(args.get("use_distributed_optimizer")),
        data_parallel_sharding_strategy=str(
            args.get("data_parallel_sharding_strategy", "no_shard")
        ),
        num_distributed_optimizer_instances=int(args.get("num_distributed_optimizer_instances", 1)),
    )


@pytest.mark.slow
def test_megatron_core_check_can_fail() -> None:
    """The same check refuses a layout Megatron cannot build (64 heads over TP3), and takes
    TP8 over Qwen3's 4 KV groups, which Megatron-Core replicates."""
    pytest.importorskip("megatron.core", reason=f"megatron-core is not installed; {EXTRA}")
    out = Case("megatron", "qwen3-235b-a22b", "h100-sxm", 64, 64, 4096,
               "TP8 DP8 EP8 mb1 ZeRO-1").export()  # fmt: skip
    args, _ = megatron_args(out.text)
    assert megatron_transformer_config(args).num_query_groups == 4
    args["tensor_model_parallel_size"] = "3"
    with pytest.raises(ValueError, match="tensor_model_parallel_size"):
        megatron_transformer_config(args)


# -- torchtitan --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases("torchtitan"))
def test_torchtitan_parses_the_toml_and_builds_the_mesh(
    case: Case, tmp_path: Path, fake_world: Any
) -> None:
    pytest.importorskip("torchtitan", reason=f"torchtitan is not installed; {EXTRA}")
    from torchtitan.config import ConfigManager
    from torchtitan.distributed import ParallelDims
    from torchtitan.distributed.pipeline_parallel import generate_llm_fqn_per_model_part

    out = case.export()
    path = tmp_path / out.filename
    path.write_text(out.text)
    job = ConfigManager().parse_args(["--job.config_file", str(path)])
    p = job.parallelism
    dims = ParallelDims(
        dp_replicate=p.data_parallel_replicate_degree,
        dp_shard=p.data_parallel_shard_degree,
        cp=p.context_parallel_degree,
        tp=p.tensor_parallel_degree,
        pp=p.pipeline_parallel_degree,
        ep=p.expert_parallel_degree,
        etp=p.expert_tensor_parallel_degree,
        world_size=case.chips,
    )
    fake_world(case.chips)
    mesh = dims.build_mesh()
    assert mesh.size() == case.chips
    # the trainer's batch check (torchtitan/train.py): global = local x batch degree x accum
    batch_degree = p.data_parallel_replicate_degree * p.data_parallel_shard_degree
    accum, rest = divmod(
        job.training.global_batch_size, job.training.local_batch_size * batch_degree
    )
    assert rest == 0 and accum >= 1
    if p.pipeline_parallel_degree > 1:
        stages = p.pipeline_parallel_degree * out.plan.vp
        assert job.training.local_batch_size % p.pipeline_parallel_microbatch_size == 0
        parts = generate_llm_fqn_per_model_part(stages, CAT.model(case.model).layers, 0, 0)
        assert len(parts) == stages


def test_torchtitan_flavours_have_the_catalog_shape() -> None:
    """Each flavour the exporter names, built by torchtitan (meta device), has exactly the
    parameter count of its catalog model."""
    pytest.importorskip("torchtitan", reason=f"torchtitan is not installed; {EXTRA}")
    import torch
    from torchtitan.protocols.train_spec import get_train_spec

    from chipswitch.export.torchtitan import FLAVOURS

    for model_id, (name, flavour) in FLAVOURS.items():
        spec = get_train_spec(name)
        with torch.device("meta"):
            model = spec.model_cls(spec.model_args[flavour])
        built = sum(p.numel() for p in model.parameters())
        assert built == count_params(CAT.model(model_id)).total, model_id


# -- MaxText -----------------------------------------------------------------------------------


def _maxtext_python() -> str | None:
    given = os.environ.get("CHIPSWITCH_MAXTEXT_PYTHON")
    if given:
        return given
    return sys.executable if importlib.util.find_spec("maxtext") else None


def _topology(case: Case) -> tuple[str, int]:
    """MaxText's AOT target for the job: TPU type-size (v5p counts TensorCores) and slices."""
    chip = CAT.chip(case.chip)
    per_slice = min(chip.scale_up_domain or case.chips, case.chips)
    name = {"tpu-v5p": "v5p-{}", "tpu-v5e": "v5e-{}", "tpu-v6e": "v6e-{}", "tpu-v4": "v4-{}"}
    cores = 2 if case.chip in ("tpu-v5p", "tpu-v4") else 1
    return name[case.chip].format(per_slice * cores), case.chips // per_slice


@pytest.fixture(scope="module")
def maxtext_resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = _maxtext_python()
    if python is None:
        pytest.skip(
            "MaxText is not installed (it needs Python >= 3.12); set CHIPSWITCH_MAXTEXT_PYTHON "
            "to an interpreter with maxtext, or install the export-check extra on Python 3.12"
        )
    folder = tmp_path_factory.mktemp("maxtext")
    argv: list[str] = []
    for case in CASES:
        if case.framework == "maxtext":
            path = folder / f"{case.id}.yml"
            path.write_text(case.export().text)
            topology, slices = _topology(case)
            argv += [str(path), topology, str(slices)]
    script = Path(__file__).parent / "export_checks" / "maxtext_check.py"
    run = subprocess.run(
        [python, str(script), *argv], capture_output=True, text=True, timeout=600, cwd=folder
    )
    line = [x for x in run.stdout.splitlines() if x.startswith("MAXTEXT-CHECK ")]
    assert run.returncode == 0 and line, run.stderr[-3000:]
    resolved: dict[str, Any] = json.loads(line[0].removeprefix("MAXTEXT-CHECK "))
    return {Path(k).stem: v for k, v in resolved.items()}


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases("maxtext"))
def test_maxtext_pyconfig_resolves_the_job(case: Case, maxtext_resolved: dict[str, Any]) -> None:
    got = maxtext_resolved[case.id]
    m = CAT.model(case.model)
    assert got["num_target_devices"] == case.chips
    # MaxText's step batch: per-device batch x devices x gradient accumulation
    assert got["global_batch_size_to_train_on"] == case.global_batch
    assert (got["emb_dim"], got["num_query_heads"], got["num_kv_heads"]) == (
        m.hidden,
        m.heads,
        m.kv_heads,
    )
    assert (got["num_decoder_layers"], got["vocab_size"]) == (m.layers, m.vocab)
    assert got["num_experts"] == (m.moe.experts if m.moe else 1)
    axes = dict(zip(got["mesh_axes"], got["ici"], strict=True))
    dcn = dict(zip(got["mesh_axes"], got["dcn"], strict=True))
    plan = parse_plan(case.plan) if case.plan else None
    if plan is not None:
        assert axes["tensor"] * dcn["tensor"] == plan.tp
        assert axes["stage"] * dcn["stage"] == plan.pp
        assert axes["expert"] == plan.ep
        assert axes["context"] == plan.cp


#: A tiny model of the same family, trained on CPU devices that XLA fakes, one per chip: the
#: exported mesh, per-device batch, accumulation and remat policy run as written.
TINY_SEQ = 128
TINY = [
    "override_model_config=True", "base_emb_dim=64", "base_num_query_heads=4",
    "base_num_kv_heads=2", "base_mlp_dim=128", "base_num_decoder_layers=2", "head_dim=16",
    "vocab_size=256", f"max_target_length={TINY_SEQ}", "steps=2", "dataset_type=synthetic",
    "enable_checkpointing=False", "run_name=tiny", "attention=dot_product",
    "skip_jax_distributed_system=True", "hardware=cpu",
]  # fmt: skip
#: MoE: 4 experts; XLA:CPU has no ragged all-to-all, so the dense MoE kernel (sparse_matmul).
TINY_MOE = ["base_moe_mlp_dim=128", "num_experts=4", "num_experts_per_tok=2", "sparse_matmul=False"]
TRAIN_CASES = [
    Case("maxtext", "llama3.1-8b", "tpu-v5p", 8, 64, 8192, "TP2 DP4 mb2 ZeRO-3 recompute=full"),
    Case(
        "maxtext", "mixtral-8x7b", "tpu-v5p", 8, 32, 4096,
        "TP1 DP8 EP2 mb1 ZeRO-3 recompute=selective",
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def maxtext_trainer() -> str:
    python = _maxtext_python()
    if python is None:
        pytest.skip("MaxText is not installed; set CHIPSWITCH_MAXTEXT_PYTHON (see above)")
    probe = subprocess.run(
        [python, "-c", "import maxtext.trainers.pre_train.train"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if probe.returncode:
        missing = re.findall(r"No module named '([^']+)'", probe.stderr)
        pytest.skip(f"MaxText's trainer does not import there (missing {missing})")
    return python


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in TRAIN_CASES])
def test_maxtext_trains_two_steps_from_the_exported_file(
    case: Case, maxtext_trainer: str, tmp_path: Path
) -> None:
    path = tmp_path / "run.yml"
    path.write_text(case.export().text)
    overrides = [*TINY, f"base_output_directory={tmp_path / 'out'}"]
    if CAT.model(case.model).moe:
        overrides += TINY_MOE
    env = {
        **os.environ,
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={case.chips}",
        "JAX_PLATFORMS": "cpu",
    }
    run = subprocess.run(
        [maxtext_trainer, "-m", "maxtext.trainers.pre_train.train", str(path), *overrides],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env,
    )  # fmt: skip
    log = run.stdout + run.stderr
    steps = re.findall(r"completed step: (\d+), .*?total_weights: (\d+), loss: ([\d.]+)", log)
    assert run.returncode == 0 and [s[0] for s in steps] == ["0", "1"], log[-3000:]
    # each step consumed the exported global batch of sequences
    assert all(int(w) == case.global_batch * TINY_SEQ for _, w, _ in steps)
    assert all(0 < float(loss) < 20 for _, _, loss in steps)


# -- NeuronX Distributed Training --------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("neuronx-distributed"))
def test_nxdt_files_follow_the_documented_schema(case: Case) -> None:
    out = case.export()
    cfg = yaml.safe_load(out.text)
    assert schema_problems(cfg) == []
    ds, tr = cfg["distributed_strategy"], cfg["trainer"]
    world = tr["devices"] * tr["num_nodes"]
    cores = world // case.chips
    assert ds["tensor_model_parallel_size"] == out.plan.tp * cores
    dp = world // (
        ds["tensor_model_parallel_size"]
        * ds["pipeline_model_parallel_size"]
        * ds["context_parallel_size"]
    )
    assert dp == out.plan.dp
