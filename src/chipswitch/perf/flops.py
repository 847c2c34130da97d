"""FLOP counts: model FLOPs per token (the MFU numerator) under two stated conventions.

- "paper" (6N + attention, non-causal): PaLM (Chowdhery et al. 2022, appendix B):
  6*N + 12*L*H*Q*T per token, N = matmul parameters touched per token (active, incl. the LM
  head, excl. the embedding lookup), L layers, H*Q the query width, T the sequence length.
  Narayanan et al. 2021 eq. (3) without recomputation is the same count for GPT shapes.
- "causal": the attention term halved (queries see on average half the keys), as argued in
  Megatron-LM issue #831 and MaxText PR #1988; windowed layers use the window.

Neither counts recomputation: MFU is model FLOPs, not hardware FLOPs.
"""

from __future__ import annotations

from chipswitch.perf.workload import LayerDims


def matmul_params_per_token(d: LayerDims) -> int:
    """Matmul parameters each token goes through (active experts only, head included)."""
    per_dense = d.attn_params + d.mlp_params
    per_moe = d.attn_params + d.shared_params + d.top_k * d.expert_params + d.hidden * d.experts
    return d.dense_layers * per_dense + d.moe_layers * per_moe + d.head_params


def model_flops_per_token(d: LayerDims, convention: str = "paper") -> float:
    """Training FLOP per token (forward + backward = 3x forward) in the given convention."""
    ctx = d.attn_context_full if convention == "paper" else d.attn_context
    attn = 12.0 * d.layers * (d.q_width + d.v_width) / 2.0 * ctx
    return 6.0 * matmul_params_per_token(d) + attn
