"""The estimator: (workload, system, plans) -> Breakdown, evaluated on whole plan arrays.

Step-time assembly (Narayanan et al. 2021, section 2.2 and 3.3):
    T_mb    = compute(fwd + bwd + recompute) + exposed TP/EP/CP traffic + PP sends
              + per-layer overhead, on the heaviest (last) pipeline stage
    T_step  = (m + (p - 1)/v) * T_mb          # 1F1B / interleaved bubble (p-1)/(v*m)
              + exposed data-parallel traffic + optimizer step
with m = global_batch / (dp * micro_batch) micro-batches per step. Backward costs twice the
forward for GEMMs and memory-bound ops, 2.5x for flash attention (Dao 2023, section 3.1).
Full recomputation adds one forward (and its TP traffic); selective recomputation re-runs the
norms and MLP activation: Korthikanti et al. 2022 (section 5) recompute the attention core
instead, which flash attention already does in its backward; this is the element-wise variant
(torchtitan's and MaxText's selective policies keep GEMM outputs and recompute the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from chipswitch.parallel.plan import PlanArrays
from chipswitch.perf import comm, compute, memory
from chipswitch.perf.flops import model_flops_per_token
from chipswitch.perf.system import System
from chipswitch.perf.workload import Workload

Arr = NDArray[Any]  # float arrays; numpy stubs cannot type mixed scalar/array math

ATTN_BWD = 2.5
BWD = 2.0


@dataclass(frozen=True)
class Breakdown:
    """Per-plan arrays. Times are seconds per optimizer step, memory bytes per worker."""

    step_time: Arr
    compute_matmul: Arr
    compute_attention: Arr
    compute_memory_bound: Arr
    compute_head: Arr
    recompute: Arr
    layer_overhead: Arr
    tp_total: Arr
    tp_exposed: Arr
    pp_total: Arr
    dp_total: Arr
    dp_exposed: Arr
    ep_total: Arr
    cp_total: Arr
    cp_exposed: Arr
    bubble: Arr
    optimizer: Arr
    mem_weights: Arr
    mem_gradients: Arr
    mem_optimizer: Arr
    mem_activations: Arr
    mem_logits: Arr
    mem_buffers: Arr
    mem_total: Arr
    micro_batches: Arr
    tokens_per_s: Arr
    tokens_per_s_per_chip: Arr
    mfu: Arr
    mfu_causal: Arr

    def row(self, i: int) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)[i]) for f in fields(self)}

    def take(self, idx: NDArray[np.int64] | NDArray[np.bool_]) -> Breakdown:
        return Breakdown(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def _f(a: NDArray[Any]) -> Arr:
    return np.asarray(a, dtype=np.float64)


def estimate(w: Workload, sys: System, plans: PlanArrays) -> Breakdown:
    """Evaluate every plan in `plans` for workload `w` on `sys` (pure; no I/O)."""
    d = w.dims
    tp, pp, dp, cp, ep, vp = (
        _f(plans.tp),
        _f(plans.pp),
        _f(plans.dp),
        _f(plans.cp),
        _f(plans.ep),
        _f(plans.vp),
    )
    mb, rc, sp = _f(plans.micro_batch), plans.recompute, plans.sequence_parallel & (plans.tp > 1)
    fp8 = w.precision == "fp8"
    seq = float(w.seq_len)
    m = w.global_batch / (dp * mb)
    tokens = mb * seq / cp
    # the heaviest stage: ceil(L / (p*v)) layers per virtual stage (uneven splits allowed)
    stage = memory.stage_layers(d.layers, pp, vp)
    ld, lm = stage * d.dense_layers / d.layers, stage * d.moe_layers / d.layers
    lstage = ld + lm
    eff = sys.eff

    # ---- compute, one micro-batch on the heaviest stage --------------------------------
    gemm = ld * compute.layer_gemm_time(d, tokens, tp, ep, sys, fp8, moe=False)
    membytes = ld * compute.elementwise_bytes(d, tokens, tp, sp, moe=False)
    if d.moe_layers:
        gemm = gemm + lm * compute.layer_gemm_time(d, tokens, tp, ep, sys, fp8, moe=True)
        membytes = membytes + lm * compute.elementwise_bytes(d, tokens, tp, sp, moe=True)
    attn = lstage * compute.attention_time(d, mb, seq, cp, tp, sys)
    mem = compute.memory_bound_time(membytes, sys)
    head = compute.head_time(d, tokens, tp, sys, fp8) * (1.0 + BWD)
    fwd = gemm + attn + mem
    recomp = np.where(rc == 2, fwd, np.where(rc == 1, mem, 0.0))
    overhead = lstage * eff.layer_overhead

    # ---- tensor / expert / context parallel traffic per micro-batch --------------------
    h = float(d.hidden)
    bw, lat = comm.group_link(tp, np.ones_like(tp), sys)
    tp_layer = comm.all_reduce(2.0 * tokens * h, tp, bw, lat)  # = AG + RS under SP
    tp_calls = np.where(rc == 2, 6.0, 4.0)  # 2 fwd + 2 bwd (+2 recomputed fwd)
    tp_t = lstage * tp_calls * tp_layer
    tp_x = tp_t * eff.tp_exposed

    ep_t = np.zeros_like(tp)
    if d.moe_layers:
        bw, lat = comm.group_link(ep, tp, sys, "all_to_all")
        rep = np.where(sp, tp, 1.0)
        volume = 2.0 * tokens * d.top_k * h / rep * eff.moe_imbalance
        a2a = comm.all_to_all(volume, ep, bw, lat)
        ep_t = lm * np.where(rc == 2, 6.0, 4.0) * a2a

    bw, lat = comm.group_link(cp, tp, sys, "ring")
    kv_chunk = 2.0 * tokens * 2.0 * d.kv_width / tp
    cp_t = lstage * np.where(cp > 1, 3.0 * (cp - 1.0) * (kv_chunk / bw + lat), 0.0)
    cp_x = np.maximum(0.0, cp_t - attn * (1.0 + ATTN_BWD))

    bw, lat = comm.group_link(np.full_like(pp, 2.0), tp * cp * dp, sys, "ring")
    rep = np.where(sp, tp, 1.0)
    pp_t = np.where(pp > 1, 2.0 * vp * comm.p2p(2.0 * tokens * h / rep, bw, lat), 0.0)

    compute_mb = fwd * (1.0 + BWD) + attn * (ATTN_BWD - BWD) + recomp + head
    t_mb = compute_mb + overhead + tp_x + ep_t + cp_x + pp_t
    # compute already hiding the CP ring cannot hide data-parallel traffic as well
    free_mb = compute_mb - (cp_t - cp_x)
    bubble = (pp - 1.0) / vp * t_mb

    # ---- data parallel: gradient reduction, ZeRO/FSDP gathers ---------------------------
    # ZeRO shards over the dp*cp group, or with HSDP over its part inside one scale-up
    # domain, replicas across domains all-reducing the sharded gradients (Zhao et al. 2023,
    # PyTorch FSDP, section 3.2.2).
    z = plans.zero
    n = dp * cp
    in_domain = np.clip(np.floor(sys.domain_workers / tp), 1.0, n)
    shards = np.where(plans.hsdp, in_domain, n)
    replicas = n / shards
    params = memory.params_on_worker(d, tp, pp, dp, cp, ep, shards, vp)
    p_all = params.total
    bw, lat = comm.group_link(shards, tp, sys)
    gb, wb = memory.GRAD_COMM_BYTES, memory.WEIGHT_BYTES
    ar = comm.all_reduce(gb * p_all, shards, bw, lat)
    rs = comm.all_gather(gb * p_all, shards, bw, lat)
    ag = comm.all_gather(wb * p_all, shards, bw, lat)
    rbw, rlat = comm.group_link(replicas, tp * shards, sys)
    cross = comm.all_reduce(gb * p_all / shards, replicas, rbw, rlat)
    bwd_window = np.maximum(0.0, fwd * BWD + attn * (ATTN_BWD - BWD) - (cp_t - cp_x))
    # Once per step: ZeRO-0 all-reduces gradients during the last backward; ZeRO-1
    # reduce-scatters them there and all-gathers parameters during the next forward (Megatron
    # --overlap-grad-reduce/--overlap-param-gather); ZeRO-2 all-gathers parameters once.
    # Every micro-batch: ZeRO-2 reduce-scatters that micro-batch's gradients (it keeps no
    # full gradient buffer to accumulate into; DeepSpeed stage 2), ZeRO-3/FSDP gathers
    # parameters for forward and backward and reduce-scatters gradients.
    once = np.where(z == 0, ar, np.where(z == 1, rs + ag, np.where(z == 2, ag, 0.0))) + cross
    once_window = np.where(z == 0, bwd_window, free_mb)
    per_mb = np.where(z == 2, rs, np.where(z == 3, 2.0 * ag + rs, 0.0))
    mb_window = np.where(z == 2, bwd_window, free_mb)
    dp_t = once + m * per_mb
    dp_x = np.maximum(0.0, once - eff.dp_overlap * once_window) + m * np.maximum(
        0.0, per_mb - eff.dp_overlap * mb_window
    )

    opt = compute.optimizer_time(params.sharded(z >= 1), sys)
    step = m * t_mb + bubble + dp_x + opt

    # ---- memory per worker --------------------------------------------------------------
    w_b = memory.WEIGHT_BYTES * params.sharded(z >= 3)
    g_b = memory.GRAD_BYTES * params.sharded(z >= 2)
    o_b = memory.OPTIMIZER_BYTES * params.sharded(z >= 1)
    act_layer = ld * memory.layer_activation_bytes(d, tokens, tp, sp, rc, moe=False)
    if d.moe_layers:
        act_layer = act_layer + lm * memory.layer_activation_bytes(d, tokens, tp, sp, rc, moe=True)
    inflight = memory.in_flight_factor(pp, vp, m)
    act = act_layer * inflight
    # full recompute re-materialises one layer at a time on top of the checkpoints
    one_layer = memory.layer_activation_bytes(
        d, tokens, tp, sp, np.zeros_like(rc), moe=d.moe_layers > 0
    )
    act = act + np.where(rc == 2, one_layer, 0.0)
    logits = 2.0 * 4.0 * tokens * d.vocab / tp  # fp32 logits and their gradient
    last_stage = act_layer + logits + np.where(rc == 2, one_layer, 0.0)
    act_peak = np.where(pp > 1, np.maximum(act, last_stage), act + logits)
    act_only = np.where(pp > 1, np.where(act >= last_stage, act, last_stage - logits), act)
    logit_mem = act_peak - act_only
    ffn_params = np.maximum(d.mlp_params, d.shared_params + d.experts / ep * d.expert_params)
    layer_params = (d.attn_params + ffn_params) / tp
    gather_buf = np.where(z == 3, 2.0 * memory.WEIGHT_BYTES * layer_params, 0.0)
    buffers = memory.FRAMEWORK_BYTES + gather_buf
    total = w_b + g_b + o_b + act_peak + buffers

    tok_s = w.tokens_per_step / step
    per_chip = tok_s / sys.n_chips
    peak_chip = sys.peak(w.precision) * sys.workers_per_chip
    mfu = model_flops_per_token(d, "paper") * per_chip / peak_chip
    mfu_c = model_flops_per_token(d, "causal") * per_chip / peak_chip
    return Breakdown(
        step_time=step,
        compute_matmul=m * (gemm * (1.0 + BWD)),
        compute_attention=m * attn * (1.0 + ATTN_BWD),
        compute_memory_bound=m * mem * (1.0 + BWD),
        compute_head=m * head,
        recompute=m * recomp,
        layer_overhead=m * overhead,
        tp_total=m * tp_t,
        tp_exposed=m * tp_x,
        pp_total=m * pp_t,
        dp_total=dp_t,
        dp_exposed=dp_x,
        ep_total=m * ep_t,
        cp_total=m * cp_t,
        cp_exposed=m * cp_x,
        bubble=bubble,
        optimizer=opt,
        mem_weights=w_b,
        mem_gradients=g_b,
        mem_optimizer=o_b,
        mem_activations=act_only,
        mem_logits=logit_mem,
        mem_buffers=buffers,
        mem_total=total,
        micro_batches=m,
        tokens_per_s=tok_s,
        tokens_per_s_per_chip=per_chip,
        mfu=mfu,
        mfu_causal=mfu_c,
    )
