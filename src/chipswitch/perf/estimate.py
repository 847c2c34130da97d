"""The estimator: (workload, system, plans) -> Breakdown, evaluated on whole plan arrays.

Step-time assembly (Narayanan et al. 2021, section 2.2 and 3.3), one function per term below:
    D_mb    = compute(fwd + bwd + recompute) + exposed TP/EP/CP traffic + PP sends
              + per-layer overhead, on the heaviest (last) pipeline stage
    T_mb    = max(D_mb, host time to issue the micro-batch)   # perf/host.py; stacks that
              block on TP collectives add their time to the host's
    T_step  = m * T_mb + (p - 1)/v * (T_mb - head)  # 1F1B / interleaved bubble, its slots
              + exposed data-parallel traffic        # costed by the stages without the head
              + optimizer step + spec-based cap
with m = global_batch / (dp * micro_batch) micro-batches per step. Backward costs twice the
forward for GEMMs and memory-bound ops, 2.5x for flash attention (Dao 2023, section 3.1).
Full recomputation adds one forward (and its TP traffic); selective recomputation re-runs the
norms and MLP activation: Korthikanti et al. 2022 (section 5) recompute the attention core
instead, which flash attention already does in its backward; this is the element-wise variant
(torchtitan's and MaxText's selective policies keep GEMM outputs and recompute the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from chipswitch.parallel.plan import PlanArrays
from chipswitch.perf import comm, compute, memory
from chipswitch.perf.flops import model_flops_per_token
from chipswitch.perf.host import host_time
from chipswitch.perf.software import Software, load_software
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
    overlap_slowdown: Arr  # compute slowed by the communication hidden behind it
    host_total: Arr
    host_exposed: Arr
    spec_cap: Arr
    tp_total: Arr
    tp_exposed: Arr
    pp_total: Arr
    dp_total: Arr
    dp_exposed: Arr
    ep_total: Arr
    ep_exposed: Arr
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


@dataclass(frozen=True)
class _Layout:
    """Per-plan quantities every term needs (float arrays, one entry per plan)."""

    tp: Arr
    pp: Arr
    dp: Arr
    cp: Arr
    ep: Arr
    vp: Arr
    mb: Arr
    rc: NDArray[np.int64]
    sp: NDArray[np.bool_]
    zero: NDArray[np.int64]
    hsdp: NDArray[np.bool_]
    m: Arr  # micro-batches per step
    tokens: Arr  # tokens per micro-batch on one worker
    dense_layers: Arr  # layers of each kind on the heaviest stage
    moe_layers: Arr

    @property
    def layers(self) -> Arr:
        return self.dense_layers + self.moe_layers


def _layout(w: Workload, plans: PlanArrays) -> _Layout:
    d = w.dims
    dp, mb, pp, vp = _f(plans.dp), _f(plans.micro_batch), _f(plans.pp), _f(plans.vp)
    cp = _f(plans.cp)
    # the heaviest stage: ceil(L / (p*v)) layers per virtual stage (uneven splits allowed)
    stage = memory.stage_layers(d.layers, pp, vp)
    return _Layout(
        tp=_f(plans.tp),
        pp=pp,
        dp=dp,
        cp=cp,
        ep=_f(plans.ep),
        vp=vp,
        mb=mb,
        rc=plans.recompute,
        sp=plans.sequence_parallel & (plans.tp > 1),
        zero=plans.zero,
        hsdp=plans.hsdp,
        m=w.global_batch / (dp * mb),
        tokens=mb * float(w.seq_len) / cp,
        dense_layers=stage * d.dense_layers / d.layers,
        moe_layers=stage * d.moe_layers / d.layers,
    )


@dataclass(frozen=True)
class _Compute:
    """Forward times of one micro-batch on the heaviest stage (s), and the derived totals."""

    gemm: Arr
    attn: Arr
    mem: Arr
    head: Arr  # LM head forward + backward
    recompute: Arr

    @property
    def fwd(self) -> Arr:
        return self.gemm + self.attn + self.mem

    @property
    def total(self) -> Arr:
        """Forward, backward (2x; 2.5x for flash attention, Dao 2023 section 3.1), recompute
        and the head."""
        return self.fwd * (1.0 + BWD) + self.attn * (ATTN_BWD - BWD) + self.recompute + self.head


def _compute(w: Workload, sys: System, lay: _Layout, sw: Software) -> _Compute:
    """Full recomputation adds one forward; selective recomputation re-runs the norms and
    the MLP activation (the element-wise variant: MaxText's `minimal` policy keeps every GEMM
    output; Korthikanti et al. 2022 section 5 recompute the attention core instead, which
    flash attention already does in its backward), plus the stack's
    `selective_gemm_recompute` share of the forward GEMMs (torchtitan re-runs every second
    matmul; data/software.yaml)."""
    d, fp8 = w.dims, w.precision == "fp8"
    tokens, tp, ep, sp = lay.tokens, lay.tp, lay.ep, lay.sp
    ld, lm = lay.dense_layers, lay.moe_layers
    gemm = ld * compute.layer_gemm_time(d, tokens, tp, ep, sys, fp8, moe=False)
    fuse = sw.epilogue_fusion
    membytes = ld * compute.elementwise_bytes(d, tokens, tp, sp, moe=False, epilogue_fusion=fuse)
    if d.moe_layers:
        gemm = gemm + lm * compute.layer_gemm_time(d, tokens, tp, ep, sys, fp8, moe=True)
        membytes = membytes + lm * compute.elementwise_bytes(
            d, tokens, tp, sp, moe=True, epilogue_fusion=fuse
        )
    attn = lay.layers * compute.attention_time(
        d, lay.mb, float(w.seq_len), lay.cp, tp, sys, sw.flash_attention, sw.legacy_attention_kernel
    )
    mem = compute.memory_bound_time(membytes, sys)
    head = compute.head_time(d, tokens, tp, sys, fp8) * (1.0 + BWD)
    fwd = gemm + attn + mem
    selective = mem + sw.selective_gemm_recompute * gemm
    recomp = np.where(lay.rc == 2, fwd, np.where(lay.rc == 1, selective, 0.0))
    return _Compute(gemm, attn, mem, head, recomp)


def _tp_traffic(
    w: Workload, sys: System, lay: _Layout, sw: Software, tp_link: tuple[Arr, Arr]
) -> tuple[Arr, Arr]:
    """(total, exposed) tensor-parallel traffic per micro-batch: an all-reduce of the layer's
    activations twice forward and twice backward (Shoeybi et al. 2019, Fig. 4), equal to an
    all-gather plus a reduce-scatter under sequence parallelism (Korthikanti et al. 2022,
    4.2.2); full recomputation repeats the forward pair. Stacks that block on TP collectives
    expose all of it; the others expose the `tp_exposed` fraction. `tp_link`: the TP group's
    (bus bandwidth, latency), shared with the pipeline sends."""
    bw, lat = tp_link
    per_call = comm.all_reduce(2.0 * lay.tokens * float(w.dims.hidden), lay.tp, bw, lat)
    calls = np.where(lay.rc == 2, 6.0, 4.0)
    total = lay.layers * calls * per_call
    exposed = total if sw.blocking_collectives else total * sys.eff.tp_exposed
    return total, exposed


def _ep_traffic(w: Workload, sys: System, lay: _Layout) -> Arr:
    """Expert-parallel all-to-all per micro-batch: dispatch and combine forward and backward
    (Lepikhin et al. 2021, GShard section 2.2), top_k copies of each token, scaled by the
    busiest rank's load (`Efficiency.moe_load`: imbalance, or the capacity factor)."""
    d = w.dims
    if not d.moe_layers:
        return np.zeros_like(lay.tp)
    bw, lat = comm.group_link(lay.ep, lay.tp, sys, "all_to_all")
    rep = np.where(lay.sp, lay.tp, 1.0)
    volume = 2.0 * lay.tokens * d.top_k * d.hidden / rep * sys.eff.moe_load
    a2a = comm.all_to_all(volume, lay.ep, bw, lat)
    return np.asarray(lay.moe_layers * np.where(lay.rc == 2, 6.0, 4.0) * a2a)


def _ep_exposed(lay: _Layout, sw: Software, ep_t: Arr, free: Arr) -> Arr:
    """Per micro-batch, the EP all-to-all left on the critical path. Stacks that overlap it
    (software.yaml `ep_overlap`) run one micro-batch's all-to-all behind another's compute
    (the forward of micro-batch i+1 beside the backward of micro-batch i: DeepSeek-V3's
    DualPipe, arXiv:2412.19437 section 3.2.1; Megatron-Core's
    `overlap_moe_expert_parallel_comm`), up to `free`, the compute not already hiding TP or
    CP traffic. The first forward and the last backward of a step have no partner: one
    micro-batch's worth stays exposed per step. Megatron-Core pairs micro-batches across
    pipeline stages only in the interleaved schedule (pp > 1 needs vp > 1)."""
    if not sw.ep_overlap:
        return ep_t
    can = (lay.pp == 1) | (lay.vp > 1)
    beyond = np.maximum(0.0, ep_t - np.maximum(free, 0.0))
    overlapped = beyond + (ep_t - beyond) / lay.m
    return np.where(can, overlapped, ep_t)


def _cp_ring(w: Workload, sys: System, lay: _Layout, attn: Arr) -> tuple[Arr, Arr]:
    """(total, exposed) context-parallel ring traffic: K and V chunks pass cp-1 times forward
    and twice backward (Liu et al. 2023, Ring Attention), hidden behind attention compute."""
    bw, lat = comm.group_link(lay.cp, lay.tp, sys, "ring")
    kv_chunk = 2.0 * lay.tokens * 2.0 * w.dims.kv_width / lay.tp
    total = lay.layers * np.where(lay.cp > 1, 3.0 * (lay.cp - 1.0) * (kv_chunk / bw + lat), 0.0)
    return total, np.maximum(0.0, total - attn * (1.0 + ATTN_BWD))


def _pp_sends(w: Workload, sys: System, lay: _Layout, tp_link: tuple[Arr, Arr]) -> Arr:
    """Pipeline activations sent and gradients received per micro-batch, once per virtual
    stage (Narayanan et al. 2021 section 2.2).

    Each tensor-parallel rank sends only its 1/tp share of the boundary activation; without
    sequence parallelism the receiving ranks then all-gather the full tensor over the
    scale-up fabric (the scatter/gather optimisation, Narayanan et al. 2021 section 4.1;
    under sequence parallelism the activation is already split by tp)."""
    bw, lat = comm.group_link(np.full_like(lay.pp, 2.0), lay.tp * lay.cp * lay.dp, sys, "ring")
    full = 2.0 * lay.tokens * float(w.dims.hidden)
    send = comm.p2p(full / lay.tp, bw, lat)
    bw_tp, lat_tp = tp_link
    gather = np.where(lay.sp, 0.0, comm.all_gather(full, lay.tp, bw_tp, lat_tp))
    return np.where(lay.pp > 1, 2.0 * lay.vp * (send + gather), 0.0)


def _bubble(lay: _Layout, device_mb: Arr, host_mb: Arr, head: Arr) -> Arr:
    """Pipeline bubble of 1F1B / interleaved schedules: (p - 1)/v micro-batch slots
    (Narayanan et al. 2021, section 2.2), each costed by what the *other* stages hold: the
    LM head and loss sit on the last stage only, so the slots the other stages leave idle are
    layer-only (the imbalance Yeung et al. 2024, "Balancing Pipeline Parallelism with
    Vocabulary Parallelism", measure). A host-bound slot lasts the host's time to issue it
    (the head's few launches left in). Seconds per step."""
    slot = np.where(
        lay.pp > 1,
        np.maximum(np.maximum(device_mb - head, 0.0), host_mb),
        np.maximum(device_mb, host_mb),
    )
    return np.asarray((lay.pp - 1.0) / lay.vp * slot)


def _data_parallel(
    w: Workload, sys: System, lay: _Layout, bwd_window: Arr, free_mb: Arr
) -> tuple[Arr, Arr, memory.ParamsOnWorker]:
    """(total, exposed) data-parallel traffic per step and the parameters on one worker.

    ZeRO shards over the dp*cp group, or with HSDP over its part inside one scale-up domain,
    replicas across domains all-reducing the sharded gradients (Zhao et al. 2023, PyTorch
    FSDP, section 3.2.2). Once per step: ZeRO-0 all-reduces gradients during the last
    backward; ZeRO-1 reduce-scatters them there and all-gathers parameters during the next
    forward (Megatron --overlap-grad-reduce/--overlap-param-gather); ZeRO-2 all-gathers
    parameters once. Every micro-batch: ZeRO-2 reduce-scatters that micro-batch's gradients
    (it keeps no full gradient buffer to accumulate into; DeepSpeed stage 2), ZeRO-3/FSDP
    gathers parameters for forward and backward and reduce-scatters gradients."""
    d, z = w.dims, lay.zero
    n = lay.dp * lay.cp
    in_domain = np.clip(np.floor(sys.domain_workers / lay.tp), 1.0, n)
    shards = np.where(lay.hsdp, in_domain, n)
    replicas = n / shards
    params = memory.params_on_worker(d, lay.tp, lay.pp, lay.dp, lay.cp, lay.ep, shards, lay.vp)
    p_all = params.total
    bw, lat = comm.group_link(shards, lay.tp, sys)
    gb, wb = memory.GRAD_COMM_BYTES, memory.WEIGHT_BYTES
    ar = comm.all_reduce(gb * p_all, shards, bw, lat)
    rs = comm.all_gather(gb * p_all, shards, bw, lat)
    ag = comm.all_gather(wb * p_all, shards, bw, lat)
    rbw, rlat = comm.group_link(replicas, lay.tp * shards, sys)
    cross = comm.all_reduce(gb * p_all / shards, replicas, rbw, rlat)
    once = np.where(z == 0, ar, np.where(z == 1, rs + ag, np.where(z == 2, ag, 0.0))) + cross
    once_window = np.where(z == 0, bwd_window, free_mb)
    per_mb = np.where(z == 2, rs, np.where(z == 3, 2.0 * ag + rs, 0.0))
    mb_window = np.where(z == 2, bwd_window, free_mb)
    total = once + lay.m * per_mb
    ov = sys.eff.dp_overlap
    exposed = np.maximum(0.0, once - ov * once_window) + lay.m * np.maximum(
        0.0, per_mb - ov * mb_window
    )
    return total, exposed, params


@dataclass(frozen=True)
class _Memory:
    weights: Arr
    gradients: Arr
    optimizer: Arr
    activations: Arr
    logits: Arr
    buffers: Arr

    @property
    def total(self) -> Arr:
        return (
            self.weights
            + self.gradients
            + self.optimizer
            + self.activations
            + self.logits
            + (self.buffers)
        )


def _memory(w: Workload, lay: _Layout, params: memory.ParamsOnWorker) -> _Memory:
    """Bytes per worker by category (perf/memory.py): the first k of (optimizer, gradients,
    weights) sharded by ZeRO stage k; activations of the micro-batches in flight on the
    heaviest stage; the last stage's logits; gather buffers and the framework's own."""
    d, z, rc = w.dims, lay.zero, lay.rc
    tokens, tp, sp = lay.tokens, lay.tp, lay.sp
    ld, lm = lay.dense_layers, lay.moe_layers
    w_b = memory.WEIGHT_BYTES * params.sharded(z >= 3)
    g_b = memory.GRAD_BYTES * params.sharded(z >= 2)
    o_b = memory.OPTIMIZER_BYTES * params.sharded(z >= 1)
    act_layer = ld * memory.layer_activation_bytes(d, tokens, tp, sp, rc, moe=False)
    if d.moe_layers:
        act_layer = act_layer + lm * memory.layer_activation_bytes(d, tokens, tp, sp, rc, moe=True)
    act = act_layer * memory.in_flight_factor(lay.pp, lay.vp, lay.m)
    # full recompute re-materialises one layer at a time on top of the checkpoints
    one_layer = memory.layer_activation_bytes(
        d, tokens, tp, sp, np.zeros_like(rc), moe=d.moe_layers > 0
    )
    act = act + np.where(rc == 2, one_layer, 0.0)
    logits = 2.0 * 4.0 * tokens * d.vocab / tp  # fp32 logits and their gradient
    last_stage = act_layer + logits + np.where(rc == 2, one_layer, 0.0)
    act_peak = np.where(lay.pp > 1, np.maximum(act, last_stage), act + logits)
    act_only = np.where(lay.pp > 1, np.where(act >= last_stage, act, last_stage - logits), act)
    ffn_params = np.maximum(d.mlp_params, d.shared_params + d.experts / lay.ep * d.expert_params)
    layer_params = (d.attn_params + ffn_params) / tp
    gather_buf = np.where(z == 3, 2.0 * memory.WEIGHT_BYTES * layer_params, 0.0)
    buffers = memory.FRAMEWORK_BYTES + gather_buf
    return _Memory(w_b, g_b, o_b, act_only, act_peak - act_only, buffers)


def _spec_cap(w: Workload, sys: System, plans: PlanArrays, step: Arr) -> Arr:
    """Seconds added so that a spec-based chip (a vendor with no measured row) is never
    faster than the median of the measured chip families' fitted efficiencies on the same
    plan."""
    if not sys.references:
        return np.zeros_like(step)
    steps = [
        estimate(w, replace(sys, eff=e, references=()), plans).step_time for e in sys.references
    ]
    return np.asarray(np.maximum(0.0, np.median(np.stack(steps), axis=0) - step))


def software_for(w: Workload, sys: System) -> Software:
    """The workload's stack, or the chip vendor's reference stack (data/software.yaml)."""
    return load_software().get(w.software, sys.chip.vendor)


def estimate(w: Workload, sys: System, plans: PlanArrays) -> Breakdown:
    """Evaluate every plan in `plans` for workload `w` on `sys` (pure; no I/O)."""
    d = w.dims
    sw = software_for(w, sys)
    lay = _layout(w, plans)
    c = _compute(w, sys, lay, sw)
    overhead = lay.layers * sys.eff.layer_overhead
    tp_link = comm.group_link(lay.tp, np.ones_like(lay.tp), sys)  # TP groups: adjacent ranks
    tp_t, tp_x = _tp_traffic(w, sys, lay, sw, tp_link)
    ep_t = _ep_traffic(w, sys, lay)
    cp_t, cp_x = _cp_ring(w, sys, lay, c.attn)
    pp_t = _pp_sends(w, sys, lay, tp_link)
    tp_hid, cp_hid = tp_t - tp_x, cp_t - cp_x  # traffic hidden behind compute
    ep_x = _ep_exposed(lay, sw, ep_t, c.total - tp_hid - cp_hid)
    ep_hid = ep_t - ep_x
    # traffic hidden behind compute still slows it (shared SMs, HBM, power)
    contention_mb = sys.eff.overlap_slowdown * (tp_hid + cp_hid + ep_hid)
    device_mb = c.total + overhead + tp_x + ep_x + cp_x + pp_t + contention_mb
    host_mb = host_time(
        d, sw, sys.eff.launch_overhead, lay.dense_layers, lay.moe_layers, lay.tp, lay.sp, lay.rc
    )
    if sw.blocking_collectives:  # the host waits for each TP collective to complete
        host_mb = host_mb + tp_t
    t_mb = np.maximum(device_mb, host_mb)
    bubble = _bubble(lay, device_mb, host_mb, c.head)
    # compute already hiding the CP ring or the EP all-to-all (which shares the NICs) cannot
    # hide data-parallel traffic as well; time the device waits on the host can (the
    # collectives run on their own stream)
    host_wait = t_mb - device_mb
    busy = cp_hid + ep_hid
    free_mb = c.total + host_wait - busy
    bwd_window = np.maximum(0.0, c.fwd * BWD + c.attn * (ATTN_BWD - BWD) + host_wait - busy)
    dp_t, dp_x, params = _data_parallel(w, sys, lay, bwd_window, free_mb)
    opt = compute.optimizer_time(params.sharded(lay.zero >= 1), sys)
    m = lay.m
    contention_dp = sys.eff.overlap_slowdown * (dp_t - dp_x)
    step = m * t_mb + bubble + dp_x + contention_dp + opt
    cap = _spec_cap(w, sys, plans, step)
    step = step + cap
    mem = _memory(w, lay, params)

    tok_s = w.tokens_per_step / step
    per_chip = tok_s / sys.n_chips
    peak_chip = sys.peak(w.precision) * sys.workers_per_chip
    return Breakdown(
        step_time=step,
        compute_matmul=m * (c.gemm * (1.0 + BWD)),
        compute_attention=m * c.attn * (1.0 + ATTN_BWD),
        compute_memory_bound=m * c.mem * (1.0 + BWD),
        compute_head=m * c.head,
        recompute=m * c.recompute,
        layer_overhead=m * overhead,
        overlap_slowdown=m * contention_mb + contention_dp,
        host_total=m * host_mb,
        host_exposed=m * host_wait,
        spec_cap=cap,
        tp_total=m * tp_t,
        tp_exposed=m * tp_x,
        pp_total=m * pp_t,
        dp_total=dp_t,
        dp_exposed=dp_x,
        ep_total=m * ep_t,
        ep_exposed=m * ep_x,
        cp_total=m * cp_t,
        cp_exposed=m * cp_x,
        bubble=bubble,
        optimizer=opt,
        mem_weights=mem.weights,
        mem_gradients=mem.gradients,
        mem_optimizer=mem.optimizer,
        mem_activations=mem.activations,
        mem_logits=mem.logits,
        mem_buffers=mem.buffers,
        mem_total=mem.total,
        micro_batches=m,
        tokens_per_s=tok_s,
        tokens_per_s_per_chip=per_chip,
        mfu=model_flops_per_token(d, "paper") * per_chip / peak_chip,
        mfu_causal=model_flops_per_token(d, "causal") * per_chip / peak_chip,
    )
