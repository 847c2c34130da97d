"""Host time: the CPU's time to issue one micro-batch's kernels and collectives.

A step is never shorter than the time the host takes to issue it: eager frameworks dispatch
every operator from Python and launch its kernel, and the GPU idles when its kernels are
shorter than their launch cost (the launch-bound regime; PyTorch CUDA Graphs documentation,
"Accelerating PyTorch with CUDA Graphs", 2021; the H100 trace in benchmarks/results/h100
shows eager PyTorch idling the GPU about 25% of a step). The host runs ahead of the device
asynchronously, so per micro-batch the time is max(device, host) (Yu et al. 2021, Habitat,
section 3, for the same overlap argument on per-kernel dispatch).

Kernel counts per layer and micro-batch follow the operators of a Megatron-style transformer
layer in the forward pass, the backward running about two kernels per forward one (a GEMM's
data and weight gradients; an elementwise op's gradient and its accumulation), plus the
recomputed forward:
- GEMMs: QKV, output projection, FC1, FC2 (MoE: router, top-k, permute, two grouped GEMMs,
  un-permute; shared experts two more);
- attention: one fused kernel, or 6 unfused (two batched GEMMs, scale, mask-softmax,
  dropout, one layout copy);
- elementwise: fused stacks run 5 (two norms, two bias-dropout-adds, one bias-activation);
  unfused eager ones 12 (norms, biases, dropouts, residual adds, activation, rotary);
- tensor parallelism: 2 collectives forward (4 under sequence parallelism: all-gather and
  reduce-scatter each time), as many backward, each a launch.
Each launch costs the family's fitted `launch_overhead` times the stack's `host_launch`
fraction (compiled XLA/Neuron programs: 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from chipswitch.perf.software import Software
from chipswitch.perf.workload import LayerDims

Arr = NDArray[Any]

HEAD_KERNELS = 20.0  # embedding, final norm, LM head GEMMs and the loss, fwd + bwd


def forward_kernels(d: LayerDims, sw: Software, moe: bool) -> float:
    """Kernels launched by one layer's forward pass (collectives excluded)."""
    gemms = 4.0
    if moe:
        gemms = 2.0 + 6.0 + (2.0 if d.shared_params else 0.0)
    attention = 1.0 if sw.flash_attention else 6.0
    elementwise = 5.0 if sw.fused_elementwise else 12.0
    return gemms + attention + elementwise


def host_time(
    d: LayerDims,
    sw: Software,
    launch_s: float,
    dense_layers: Arr,
    moe_layers: Arr,
    tp: Arr,
    sp: NDArray[np.bool_],
    recompute: NDArray[np.int64],
) -> Arr:
    """Seconds the host needs to issue one micro-batch on the heaviest stage."""
    calls = np.where(tp > 1, np.where(sp, 4.0, 2.0), 0.0)
    rec = np.where(recompute == 2, 1.0, 0.0)

    def per_layer(moe: bool) -> Arr:
        fwd = forward_kernels(d, sw, moe)
        elem = 5.0 if sw.fused_elementwise else 12.0
        extra = np.where(recompute == 1, elem, rec * (fwd + calls))
        return fwd * 3.0 + calls * 2.0 + extra

    n = dense_layers * per_layer(False) + HEAD_KERNELS
    if d.moe_layers:
        n = n + moe_layers * per_layer(True)
    return np.asarray(n * launch_s * sw.host_launch, dtype=np.float64)
