"""Memory per worker by category: weights, gradients, optimizer states, activations, buffers.

Mixed-precision AdamW bytes per parameter follow Megatron-LM's distributed-optimizer
accounting (docs/source/api-guide/distrib_optimizer.md): bf16 weights 2, fp32 gradients 4,
fp32 master weights + two moments 12; ZeRO stage k shards the first k of (optimizer,
gradients, weights) over the data-parallel group (Rajbhandari et al. 2020, Fig. 1).

Activations per layer and micro-batch count the tensors saved for backward with fused
(flash) attention and no dropout, after Korthikanti et al. 2022 (section 4, eqs. 1-5): the
sb*h terms of norms and residuals are sharded by TP only under sequence parallelism; the
5as/h score term is absent because flash attention keeps only O(s) softmax statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from chipswitch.perf.defaults import MEMORY
from chipswitch.perf.workload import LayerDims

Arr = NDArray[Any]  # float arrays; numpy stubs cannot type mixed scalar/array math

WEIGHT_BYTES = 2.0
GRAD_BYTES = 4.0
GRAD_COMM_BYTES = 2.0  # gradients reduced in bf16 (Megatron-LM default, FSDP 'pure' bf16)
OPTIMIZER_BYTES = 12.0
FRAMEWORK_BYTES = MEMORY["framework_bytes"]  # context, collective buffers, allocator slack
USABLE_FRACTION = MEMORY["usable_fraction"]  # of HBM capacity that a framework can allocate


@dataclass(frozen=True)
class ParamsOnWorker:
    dense: Arr  # replicated across data parallel (non-expert) parameters on one worker
    expert: Arr  # routed-expert parameters on one worker
    dense_shards: Arr  # ZeRO sharding degree of dense parameters (dp*cp, or the in-domain part)
    expert_shards: Arr  # ZeRO sharding degree of expert parameters (dense_shards/ep)

    @property
    def total(self) -> Arr:
        return self.dense + self.expert

    def sharded(self, on: NDArray[np.bool_]) -> Arr:
        """Parameters held on this worker when `on` (per plan) says they are ZeRO-sharded."""
        return np.where(
            on, self.dense / self.dense_shards + self.expert / self.expert_shards, self.total
        )


def stage_layers(layers: int, pp: Arr, vp: Arr) -> Arr:
    """Layers on the heaviest pipeline stage: ceil(L / (p*v)) per virtual stage, v of them
    (Megatron-LM lets the first/last stages take fewer layers when p*v does not divide L)."""
    return np.ceil(layers / (pp * vp)) * vp


def params_on_worker(
    d: LayerDims, tp: Arr, pp: Arr, dp: Arr, cp: Arr, ep: Arr, shards: Arr, vp: Arr
) -> ParamsOnWorker:
    """Parameters on the heaviest pipeline stage of one worker (layers spread evenly).

    Embedding and LM head are vocab-parallel over TP; with PP > 1 they sit on the first and
    last stages, the larger of the two on the heaviest one.
    """
    dense_layer = d.attn_params + d.mlp_params
    moe_layer = d.layer_params_moe_nonexpert
    share = stage_layers(d.layers, pp, vp) / d.layers
    body = (d.dense_layers * dense_layer + d.moe_layers * moe_layer) * share / tp
    vocab = (
        np.where(
            pp > 1, max(d.embed_params, d.head_params_stored), d.embed_params + d.head_params_stored
        )
        / tp
    )
    expert = d.moe_layers * share * (d.experts / ep) * d.expert_params / tp
    return ParamsOnWorker(
        dense=body + vocab,
        expert=np.asarray(expert, dtype=np.float64),
        dense_shards=np.asarray(shards, dtype=np.float64),
        expert_shards=np.maximum(shards / ep, 1.0),
    )


def layer_activation_bytes(
    d: LayerDims, tokens: Arr, tp: Arr, sp: NDArray[np.bool_], recompute: Arr, moe: bool
) -> Arr:
    """Bytes saved for backward by one layer for one micro-batch of `tokens` per worker.

    recompute 0 (none): all saved tensors; 1 (selective): norm outputs and the MLP
    activation output are recomputed instead of saved; 2 (full): only the layer input.
    """
    h = float(d.hidden)
    rep = np.where(sp, tp, 1.0)
    b = 2.0 * tokens  # bf16 bytes per element, times tokens
    norm_in = 2.0 * h / rep  # two norm inputs (residual stream)
    norm_out = 2.0 * h / rep  # two norm outputs (GEMM inputs)
    qkvo = (d.q_width + 2.0 * d.kv_width + d.v_width) / tp
    stats = 2.0 * d.heads / tp  # fp32 log-sum-exp per head = 2 bf16 elements
    if moe:
        rows = float(d.top_k)
        shared_w = d.shared_params / (h * (3.0 if d.gated else 2.0)) if d.shared_params else 0.0
        width = rows * d.expert_ffn + shared_w
        dispatched = rows * h / rep  # token copies sent to experts
    else:
        width = float(d.ffn)
        dispatched = np.zeros_like(rep)
    fc1_out = (2.0 if d.gated else 1.0) * width / tp
    act_out = width / tp
    full = b * (norm_in + norm_out + qkvo + stats + dispatched + fc1_out + act_out)
    selective = full - b * (norm_out + act_out)
    layer_input = b * h / rep
    return np.where(recompute == 0, full, np.where(recompute == 1, selective, layer_input))


def in_flight_factor(pp: Arr, vp: Arr, micro_batches: Arr) -> Arr:
    """Micro-batches whose activations the first stage holds at the 1F1B peak: min(p, m),
    times (1 + (p-1)/(p*v)) for the interleaved schedule (Korthikanti et al. 2022, 4.2.3)."""
    base = np.minimum(pp, micro_batches).astype(np.float64)
    inter = np.where(vp > 1, 1.0 + (pp - 1.0) / (pp * vp), 1.0)
    return base * inter
