"""Physics of the estimator: property tests and formulas against the papers' own numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipswitch.catalog import load_catalog
from chipswitch.model.shape import ModelShape
from chipswitch.parallel.plan import Plan, PlanArrays
from chipswitch.perf import memory
from chipswitch.perf.estimate import estimate
from chipswitch.perf.flops import model_flops_per_token
from chipswitch.perf.system import build_system
from chipswitch.perf.workload import Workload

CAT = load_catalog()
H100 = CAT.chip("h100-sxm")

# A Megatron GPT layer: MHA, ffn = 4h, GELU, no biases so that matmul params are exactly 12h^2.
GPT = ModelShape(
    id="gpt-test",
    name="gpt-test",
    layers=24,
    hidden=2048,
    heads=16,
    kv_heads=16,
    head_dim=128,
    ffn_hidden=8192,
    vocab=51200,
    gated_mlp=False,
    position="learned",
    max_position=2048,
    tied_embeddings=True,
)


def _sys(n: int, chip=H100):  # type: ignore[no-untyped-def]
    return build_system(chip, n, peers=CAT.chips.values())


def test_narayanan_flops_per_token() -> None:
    """Narayanan et al. 2021 eq. (3) without recomputation: 72*B*s*l*h^2*(1 + s/(6h) + V/(12lh))
    per iteration, i.e. per token 72 l h^2 + 12 l h s + 6 V h."""
    s, h, n_layers, v = 2048, GPT.hidden, GPT.layers, GPT.vocab
    expected = 72 * n_layers * h**2 * (1 + s / (6 * h) + v / (12 * n_layers * h))
    got = model_flops_per_token(Workload(GPT, 8, s).dims, "paper")
    assert got == pytest.approx(expected, rel=1e-12)
    # causal convention halves only the attention term 12 l h s
    causal = model_flops_per_token(Workload(GPT, 8, s).dims, "causal")
    assert expected - causal == pytest.approx(6 * n_layers * h * s, rel=1e-12)


def test_korthikanti_activation_memory() -> None:
    """Korthikanti et al. 2022 eq. (4)-(5): TP + SP with selective recompute saves 34*s*b*h/t bytes
    per layer, of which 2*s*b*h/t are dropout masks; flash attention (no dropout) keeps the other
    32*s*b*h/t plus fp32 softmax statistics 4*a*s*b/t. Full recompute keeps 2*s*b*h/t."""
    s, b, t = 2048, 4, 8
    d = Workload(GPT, 8, s).dims
    tokens = np.array([b * s], dtype=float)
    tp = np.array([t], dtype=float)
    sp = np.array([True])
    h, a = GPT.hidden, GPT.heads
    kept = memory.layer_activation_bytes(d, tokens, tp, sp, np.array([0]), moe=False)[0]
    assert kept == pytest.approx((34 - 2) * s * b * h / t + 4 * a * s * b / t, rel=1e-12)
    full = memory.layer_activation_bytes(d, tokens, tp, sp, np.array([2]), moe=False)[0]
    assert full == pytest.approx(2 * s * b * h / t, rel=1e-12)


def test_one_chip_has_no_communication() -> None:
    w = Workload(GPT, 8, 2048)
    b = estimate(w, _sys(1), Plan(micro_batch=2, zero=0).to_arrays())
    for k in ("tp_total", "pp_total", "dp_total", "ep_total", "cp_total", "bubble"):
        assert getattr(b, k)[0] == 0.0, k
    assert b.step_time[0] > 0


def _valid_plans(n: int, w: Workload) -> PlanArrays:
    from chipswitch.parallel.enumerate import enumerate_plans

    return next(enumerate_plans(w.model, n, w.global_batch, w.seq_len, 8))


def test_model_flops_per_step_independent_of_plan() -> None:
    w = Workload(GPT, 64, 2048)
    sys = _sys(16)
    plans = _valid_plans(16, w)
    b = estimate(w, sys, plans)
    flops_per_step = b.mfu * sys.peak_bf16 * 16 * b.step_time
    expected = model_flops_per_token(w.dims, "paper") * w.tokens_per_step
    assert np.allclose(flops_per_step, expected, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(1.01, 10.0), seed=st.integers(0, 10_000))
def test_more_peak_flops_never_slower(scale: float, seed: int) -> None:
    w = Workload(GPT, 64, 2048)
    sys = _sys(16)
    plans = _valid_plans(16, w)
    fast = replace(sys, peak_bf16=sys.peak_bf16 * scale, peak_fp8=sys.peak_fp8 * scale)
    i = np.random.default_rng(seed).integers(0, len(plans), 50)
    sub = plans.take(i)
    assert np.all(estimate(w, fast, sub).step_time <= estimate(w, sys, sub).step_time + 1e-15)


def test_memory_decreases_with_zero_stage() -> None:
    w = Workload(GPT, 64, 2048)
    plans = PlanArrays.from_plans([Plan(tp=2, dp=8, micro_batch=2, zero=z) for z in (0, 1, 2, 3)])
    b = estimate(w, _sys(16), plans)
    mem = b.mem_weights + b.mem_gradients + b.mem_optimizer
    assert np.all(np.diff(mem) < 0)
    assert np.all(np.diff(b.mem_total) < 0)


def test_recompute_trades_memory_for_time() -> None:
    w = Workload(GPT, 64, 2048)
    plans = PlanArrays.from_plans(
        [Plan(dp=16, micro_batch=4, recompute=r) for r in ("none", "selective", "full")]
    )
    b = estimate(w, _sys(16), plans)
    assert np.all(np.diff(b.mem_activations) < 0)
    assert np.all(np.diff(b.step_time) > 0)


def test_interleaving_shrinks_bubble() -> None:
    w = Workload(GPT, 64, 2048)
    plans = PlanArrays.from_plans([Plan(pp=4, dp=4, vp=v) for v in (1, 2, 3)])
    b = estimate(w, _sys(16), plans)
    assert np.all(np.diff(b.bubble) < 0)
    # 1F1B bubble: (p-1) micro-batch slots (Narayanan et al. 2021 eq. 1), each costed by a
    # stage without the LM head (it sits on the last stage only)
    m = 64 / 4
    # no TP or CP traffic: the only compute slowed by hidden traffic is the DP part
    per_step = b.bubble[0] + b.dp_exposed[0] + b.overlap_slowdown[0] + b.optimizer[0]
    t_mb = (b.step_time[0] - per_step) / m
    head_mb = b.compute_head[0] / m
    assert b.bubble[0] == pytest.approx(3 * (t_mb - head_mb))
    assert 0 < head_mb < t_mb


def test_moe_active_compute_is_top_k() -> None:
    """MoE compute follows active parameters: Mixtral runs far fewer FLOPs than its total."""
    mix = CAT.model("mixtral-8x7b")
    w = Workload(mix, 64, 4096)
    d = w.dims
    per_tok = model_flops_per_token(d, "paper")
    assert 6 * 0.9 * 12.9e9 < per_tok < 6 * 1.2 * 12.9e9 + 12 * d.layers * d.q_width * 4096
    b = estimate(
        w, _sys(64), PlanArrays.from_plans([Plan(tp=2, dp=32, ep=8, micro_batch=1, zero=1)])
    )
    assert b.ep_total[0] > 0 and b.step_time[0] > 0


def test_fp8_is_faster_than_bf16_on_hopper() -> None:
    w16, w8 = Workload(GPT, 64, 2048), Workload(GPT, 64, 2048, "fp8")
    p = PlanArrays.from_plans([Plan(dp=16, micro_batch=4)])
    assert estimate(w8, _sys(16), p).step_time[0] < estimate(w16, _sys(16), p).step_time[0]


def test_rings_leaving_a_domain_run_at_one_nic() -> None:
    """Hierarchical collectives spread inter-node traffic over the k NICs of a node; a ring of
    point-to-point sends (CP, PP) is only as fast as its slowest hop, one worker's NIC."""
    from chipswitch.perf import comm

    sys = _sys(64)  # H100: 8 GPUs per NVLink domain, 400 Gbit/s NIC per GPU
    size, stride = np.array([16.0]), np.array([1.0])
    coll, _ = comm.group_link(size, stride, sys, "collective")
    ring, _ = comm.group_link(size, stride, sys, "ring")
    a2a, _ = comm.group_link(size, stride, sys, "all_to_all")
    nic = sys.scale_out_bandwidth * sys.eff.collective_out
    assert ring[0] == pytest.approx(nic)
    assert coll[0] == pytest.approx(min(8 * nic, sys.scale_up_bandwidth * sys.eff.collective_up))
    # all-to-all over 16 ranks in 2 nodes: 8 of 15 peers are remote
    assert a2a[0] == pytest.approx(nic * 15 / 8)
    inside, _ = comm.group_link(np.array([8.0]), stride, sys, "ring")
    assert inside[0] == pytest.approx(sys.scale_up_bandwidth * sys.eff.collective_up)
