"""Compute time on one worker for one micro-batch: matmuls, attention, memory-bound ops.

All functions take plan quantities as numpy arrays (one entry per plan) and return seconds.
GEMMs follow a roofline (Williams et al. 2009) with a fixed launch cost:
    t = max(2mnk / (peak*eff_mm*q), bytes(m*k + k*n + m*n) / (bw*eff_mem)) + kernel_overhead,
where q is the shape's tile quantisation (NVIDIA, "Matrix Multiplication Background User's
Guide", Deep Learning Performance documentation, section "Tile Quantization"): the output is
computed in TILE x TILE tiles and a partial tile costs a full one. So thin GEMMs produced by
wide tensor parallelism lose efficiency, as measured by Calculon's efficiency tables (Isaev et
al. SC'23) and NeuSight (ASPLOS'25).

Wave quantisation (the same guide, section "Wave Quantization", with the A100's 108 SMs as
its example: tiles run in waves of one per SM, the last wave partly idle) applies only to the
families listed in data/engine_defaults.yaml (`wave_quantised_families`: Ampere and older,
whose cuBLAS kernels launch one grid of tiles). On the 144 bf16 GEMMs measured on an H100 and
an H200 (benchmarks/results/*/*-profile.json; benchmarks/gemm_quantisation.py) a 128x128-tile
wave model over 132 SMs fits worse than none (median error 9.5% vs 7.5% on the H100, 8.7% vs
6.7% on the H200): Hopper's persistent, stream-K-scheduled kernels avoid partial waves.

Systolic arrays (TPU MXUs; catalog `matrix_unit`, the array's edge E): the weight operand
(k x n) is loaded into the E x E array in blocks and the m rows stream through it (Jouppi et
al. 2017, "In-Datacenter Performance Analysis of a Tensor Processing Unit", section 2; Google
Cloud "TPU architecture": "128 x 128 multiply-accumulators in a systolic array"), so a partial
block of k or n idles its rows or columns while m is not quantised. The attention core is two
such products per head: Q K^T contracts over the query-key head width and P V produces the
value head width, so a head narrower than E fills head/E of the array (a 128-wide Llama head
on TPU v6e's 256 x 256 MXUs runs at half rate; on 128 x 128 MXUs at full rate).

A megacore chip (TPU v4, v5p: two TensorCores driven as one device) keeps the fitted
`megacore` fraction of its matmul and attention rates (System.split).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from chipswitch.perf.system import System
from chipswitch.perf.workload import LayerDims

Arr = NDArray[Any]  # float arrays; numpy stubs cannot type mixed scalar/array math

BF16 = 2.0  # bytes per element of activations and weights in mixed precision
TILE = 128.0  # output tile edge of the GEMM kernels (cuBLAS/CUTLASS 128x128 CTA tiles; also
# Trainium's 128x128 PE arrays and any chip whose catalog gives no `matrix_unit`)


def block_fill(width: Arr | float, edge: float) -> Arr:
    """Useful fraction of `width` rounded up to whole blocks of `edge`."""
    w = np.asarray(width, dtype=np.float64)
    return np.asarray(w / (np.ceil(w / edge) * edge), dtype=np.float64)


def quantisation(
    m: Arr | float,
    n: Arr | float,
    count: float | Arr,
    units: int | None,
    k: Arr | float = TILE,
    systolic: int | None = None,
) -> Arr:
    """Useful fraction of the tile-slots a GEMM occupies: tile fill, times wave fill when the
    chip's GEMMs run in waves over `units` SMs (None: no waves). `count` GEMMs of one shape
    share the waves (grouped GEMMs). On a systolic array of edge `systolic` the weight
    operand's k x n blocks are what fill (module docstring)."""
    if systolic:
        return np.asarray(block_fill(n, systolic) * block_fill(k, systolic), dtype=np.float64)
    tm, tn = np.ceil(np.asarray(m) / TILE), np.ceil(np.asarray(n) / TILE)
    fill = np.asarray(m) * np.asarray(n) / (tm * tn * TILE * TILE)
    if not units:
        return np.asarray(fill, dtype=np.float64)
    tiles = tm * tn * count
    return np.asarray(fill * tiles / (np.ceil(tiles / units) * units), dtype=np.float64)


def gemm_time(
    m: Arr | float, n: Arr | float, k: Arr | float, sys: System, fp8: bool, count: float | Arr = 1.0
) -> Arr:
    """Seconds for `count` GEMMs of shape (m x k) @ (k x n), forward only."""
    peak = sys.peak_fp8 * sys.eff.fp8_matmul if fp8 else sys.peak_bf16 * sys.eff.matmul
    elem = 1.0 if fp8 else BF16
    q = quantisation(m, n, count, sys.wave_units, k, sys.chip.matrix_unit)
    flop_t = 2.0 * m * n * k / (peak * sys.split * q)
    mem_t = elem * (m * k + k * n + m * n) / (sys.hbm_bandwidth * sys.eff.memory)
    t = np.maximum(flop_t, mem_t) + sys.eff.kernel_overhead
    # fp8 casts of the activations are fused into the producing kernels (Transformer Engine's
    # LayerNorm/GELU + cast); their residual cost is part of the fitted `fp8_matmul`.
    return np.asarray(count * t, dtype=np.float64)


def layer_gemm_time(
    d: LayerDims, tokens: Arr, tp: Arr, ep: Arr, sys: System, fp8: bool, moe: bool
) -> Arr:
    """Forward GEMM time of one transformer layer (Megatron TP splits: column then row).

    Dense: QKV (h -> q+2kv), out (v -> h), FC1 (h -> f or 2f gated), FC2 (f -> h), each
    width divided by `tp`. MoE (Shazeer et al. 2017; Lepikhin et al. 2021): each worker runs
    its E/ep experts on tokens*top_k*ep/E rows each, expert widths divided by `tp`; shared
    experts and the router run on every token.
    """
    h = float(d.hidden)
    n_qkv = (d.q_width + 2 * d.kv_width) / tp
    t = gemm_time(tokens, n_qkv, h, sys, fp8) + gemm_time(tokens, h, d.v_width / tp, sys, fp8)
    fc1 = 2.0 if d.gated else 1.0
    if not moe:
        return (
            t
            + gemm_time(tokens, fc1 * d.ffn / tp, h, sys, fp8)
            + gemm_time(tokens, h, d.ffn / tp, sys, fp8)
        )
    local = d.experts / ep
    rows = tokens * d.top_k * ep / d.experts * sys.eff.moe_load
    f = d.expert_ffn / tp
    t = t + gemm_time(rows, fc1 * f, h, sys, fp8, local) + gemm_time(rows, h, f, sys, fp8, local)
    t = t + gemm_time(tokens, float(d.experts), h, sys, False)  # router
    if d.shared_params:
        width = d.shared_params / (h * (fc1 + 1.0)) / tp
        t = t + gemm_time(tokens, fc1 * width, h, sys, fp8) + gemm_time(tokens, h, width, sys, fp8)
    return t


def attention_time(
    d: LayerDims,
    micro_batch: Arr,
    seq: float,
    cp: Arr,
    tp: Arr,
    sys: System,
    flash: bool = True,
    legacy_kernel: bool = False,
) -> Arr:
    """Forward time of the attention core (scores and weighted sum) of one layer.

    Flash (Dao 2023, FlashAttention-2): 2*T*ctx*(q_width + v_width)/tp FLOPs for T = b*s/cp
    queries against `ctx` mean keys (causal, window-aware; masked blocks are skipped), at the
    fitted `attention` fraction of the bf16 peak; a kernel written for the previous
    generation's tensor-core instructions (`legacy_kernel`: FlashAttention-2 or Triton on a
    Hopper, Shah et al. 2024) reaches `sys.legacy_attention` of that rate.
    Unfused (Megatron-LM before flash attention; Korthikanti et al. 2022 section 4.1): two
    batched GEMMs over the full s x s score matrix (masking skips nothing) at the matmul
    fraction, plus the score tensor's HBM traffic: write, scale-mask-softmax read and write,
    dropout read, write and mask, read by the second GEMM: 6 16-bit accesses and a 1-byte
    mask per score, b*heads/tp*(s/cp)*s scores.
    Always 16-bit: fp8 recipes keep attention in bf16. On a systolic array each product runs
    at its head width's fill of the array (module docstring).
    """
    tokens = micro_batch * seq / cp
    width = (d.q_width + d.v_width) / tp  # FLOPs at full fill of the array
    if sys.chip.matrix_unit:
        e = float(sys.chip.matrix_unit)
        qk, v = d.q_width / d.heads, d.v_width / d.heads
        width = (d.q_width / block_fill(qk, e) + d.v_width / block_fill(v, e)) / tp
    if flash:
        flops = 2.0 * tokens * d.attn_context * width
        rate = sys.peak_bf16 * sys.eff.attention * (sys.legacy_attention if legacy_kernel else 1.0)
        return np.asarray(flops / (rate * sys.split), dtype=np.float64)
    ctx = d.attn_context_full
    flops = 2.0 * tokens * ctx * width
    scores = tokens * ctx * d.heads / tp
    t = flops / (sys.peak_bf16 * sys.eff.matmul * sys.split) + memory_bound_time(
        (6.0 * BF16 + 1.0) * scores, sys
    )
    return np.asarray(t, dtype=np.float64)


def elementwise_bytes(
    d: LayerDims,
    tokens: Arr,
    tp: Arr,
    sp: NDArray[np.bool_],
    moe: bool,
    epilogue_fusion: bool = False,
) -> Arr:
    """HBM bytes moved by one layer's memory-bound ops in the forward pass.

    Two norms (read+write h each), two residual adds (read 2h, write h), rotary on q and k,
    the MLP activation (gated: read 2f write f; plain: read f write f), and for MoE layers the
    token permutation and un-permutation. Under sequence
    parallelism the norm/residual tensors are sharded by `tp` (Korthikanti et al. 2022, 4.2.2);
    without it they are replicated on every TP rank. With `epilogue_fusion` (XLA, Neuron)
    only the norms keep their own passes; the rest rides in the matmuls' prologues/epilogues.
    """
    h = float(d.hidden)
    rep = np.where(sp, tp, 1.0)
    # MoE: token permutation before the experts and un-permutation after (Megatron-Core MoE
    # token dispatcher): read h, write top_k*h; read top_k*h, write the weighted sum h
    permute = (2.0 + 2.0 * d.top_k) * h / rep if moe else 0.0
    if epilogue_fusion:
        return BF16 * tokens * (4.0 * h / rep + permute)
    norm_res = (4.0 * h + 6.0 * h) / rep
    rope = 2.0 * (d.q_width + d.kv_width) / tp
    if moe:
        width = d.top_k * d.expert_ffn + d.shared_params / (h * (3.0 if d.gated else 2.0))
    else:
        width = float(d.ffn)
    act = (3.0 if d.gated else 2.0) * width / tp
    return BF16 * tokens * (norm_res + rope + act + permute)


def memory_bound_time(bytes_: Arr, sys: System) -> Arr:
    return np.asarray(bytes_ / (sys.hbm_bandwidth * sys.eff.memory), dtype=np.float64)


def head_time(d: LayerDims, tokens: Arr, tp: Arr, sys: System, fp8: bool) -> Arr:
    """LM head GEMM (h -> V/tp, vocab-parallel) plus the fp32 softmax cross-entropy passes."""
    t = gemm_time(tokens, d.vocab / tp, float(d.hidden), sys, False)
    ce_bytes = 3.0 * 4.0 * tokens * d.vocab / tp  # write logits, read for softmax, write grad
    return t + memory_bound_time(ce_bytes, sys)


def optimizer_time(params_on_worker: Arr, sys: System) -> Arr:
    """AdamW step over the worker's (sharded) parameters: fp32 param, grad, m and v read,
    param, m, v and the bf16 copy written: 4*4 + 3*4 + 2 = 30 bytes per parameter."""
    return memory_bound_time(30.0 * params_on_worker, sys)
