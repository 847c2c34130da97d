"""Parameter counts per component of a transformer shape.

Counting follows the layer definitions of the public reference implementations
(Megatron-LM GPT, HF Llama/Mixtral/Qwen3-MoE, DeepSeek-V3 `modeling_deepseek.py`, HF BERT):
a linear map d_in -> d_out has d_in*d_out weights (+ d_out biases when `bias`); LayerNorm has
a scale and a shift per channel (scale only with `norm_bias: false`), RMSNorm a scale only.
Per-head q/k norms (`qk_norm`) count under `norms`; MLA's low-rank norms under `attention`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chipswitch.model.shape import ModelShape


@dataclass(frozen=True)
class ParamCounts:
    """Parameters by component (counts, not bytes). `active` counts top-k routed experts only."""

    embeddings: int
    attention: int
    mlp: int
    experts: int
    shared_experts: int
    router: int
    norms: int
    head: int
    pooler: int
    active_experts: int

    @property
    def total(self) -> int:
        return (
            self.embeddings
            + self.attention
            + self.mlp
            + self.experts
            + self.shared_experts
            + self.router
            + self.norms
            + self.head
            + self.pooler
        )

    @property
    def active(self) -> int:
        """Parameters touched by one token (routed experts counted at top-k)."""
        return self.total - self.experts + self.active_experts

    @property
    def non_embedding(self) -> int:
        return self.total - self.embeddings - self.head

    def as_dict(self) -> dict[str, int]:
        return {
            "embeddings": self.embeddings,
            "attention": self.attention,
            "mlp": self.mlp,
            "experts": self.experts,
            "shared_experts": self.shared_experts,
            "router": self.router,
            "norms": self.norms,
            "head": self.head,
            "pooler": self.pooler,
            "total": self.total,
            "active": self.active,
        }


def _norm(m: ModelShape, width: int) -> int:
    """One norm over `width` channels: a scale, plus a shift for LayerNorm with `norm_bias`."""
    return width * (2 if m.norm == "layernorm" and m.norm_bias else 1)


def _linear(m: ModelShape, d_in: int, d_out: int) -> int:
    return d_in * d_out + (d_out if m.bias else 0)


def attention_params_per_layer(m: ModelShape) -> int:
    """Q, K, V and output projections of one layer (MLA: low-rank paths and their norms).

    MLA follows DeepSeek-V2 (arXiv:2405.04434, eqs. 37-47): q = W_UQ RMSNorm(W_DQ h),
    [c_kv; k_rope] = W_DKV h, [k_nope; v] = W_UKV RMSNorm(c_kv), out = W_O o.
    """
    h = m.hidden
    if m.mla is not None:
        a = m.mla
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim
        if a.q_lora_rank:
            q = h * a.q_lora_rank + a.q_lora_rank + a.q_lora_rank * m.heads * qk
        else:
            q = h * m.heads * qk
        kv = h * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank
        kv += a.kv_lora_rank * m.heads * (a.qk_nope_head_dim + a.v_head_dim)
        out = m.heads * a.v_head_dim * h
        return q + kv + out
    q = _linear(m, h, m.heads * m.head_dim)
    kv = 2 * _linear(m, h, m.kv_heads * m.head_dim)
    out = _linear(m, m.heads * m.head_dim, h)
    return q + kv + out


def ffn_params(m: ModelShape, width: int) -> int:
    """One FFN of inner width `width`: up (+gate when gated) and down projections."""
    n_in = 2 if m.gated_mlp else 1
    return n_in * _linear(m, m.hidden, width) + _linear(m, width, m.hidden)


def count_params(m: ModelShape) -> ParamCounts:
    """Parameters per component of `m`."""
    h = m.hidden
    emb = m.vocab * h
    if m.position == "learned" and m.max_position:
        emb += m.max_position * h
    emb += m.token_types * h
    if m.kind == "encoder":
        emb += _norm(m, h)  # BERT embedding LayerNorm
    attention = m.layers * attention_params_per_layer(m)
    mlp = m.dense_layers * ffn_params(m, m.ffn_hidden)
    experts = shared = router = active_experts = 0
    if m.moe is not None:
        e = m.moe
        per_expert = ffn_params(m, e.expert_ffn_hidden)
        experts = m.moe_layers * e.experts * per_expert
        active_experts = m.moe_layers * e.top_k * per_expert
        if e.shared_experts:
            width = e.shared_expert_ffn_hidden or e.expert_ffn_hidden
            shared = m.moe_layers * e.shared_experts * ffn_params(m, width)
        router = m.moe_layers * (h * e.experts + (e.experts if e.router_bias else 0))
    per_layer_norms = m.parallel_norms if m.parallel_block else 2
    norms = m.layers * per_layer_norms * _norm(m, h)
    if m.qk_norm:
        norms += m.layers * 2 * _norm(m, m.head_dim)  # Qwen3 q_norm and k_norm per layer
    if m.kind == "decoder":
        norms += _norm(m, h)  # final norm
    head = 0 if m.tied_embeddings else m.vocab * h
    pooler = _linear(m, h, h) if m.pooler else 0
    return ParamCounts(
        embeddings=emb,
        attention=attention,
        mlp=mlp,
        experts=experts,
        shared_experts=shared,
        router=router,
        norms=norms,
        head=head,
        pooler=pooler,
        active_experts=active_experts,
    )
