"""The training job being estimated: a model shape, a batch, a sequence and a precision.

`LayerDims` pre-computes the per-layer widths the estimators need, once per model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from chipswitch.hardware.spec import Precision
from chipswitch.model.params import attention_params_per_layer, count_params, ffn_params
from chipswitch.model.shape import ModelShape
from chipswitch.perf.software import load_software


@dataclass(frozen=True)
class Workload:
    model: ModelShape
    global_batch: int  # sequences per optimizer step
    seq_len: int  # tokens per sequence
    precision: Precision = "bf16"
    # training stack (data/software.yaml); None: the chip vendor's reference stack
    software: str | None = None

    def __post_init__(self) -> None:
        if self.global_batch < 1 or self.seq_len < 1:
            raise ValueError("global batch and sequence length must be positive")
        if self.software is not None:
            load_software().get(self.software)  # ChipswitchError naming the known stacks

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch * self.seq_len

    @cached_property
    def dims(self) -> LayerDims:
        return LayerDims.of(self.model, self.seq_len)


@dataclass(frozen=True)
class LayerDims:
    """Per-layer sizes of a model (counts of parameters or elements, not bytes)."""

    hidden: int
    layers: int
    moe_layers: int
    dense_layers: int
    q_width: int  # query width (heads x qk head dim)
    kv_width: int  # K (or V) width as cached
    v_width: int  # attention output width (heads x v head dim)
    heads: int
    ffn: int
    gated: bool
    attn_params: int  # matmul parameters of one attention block
    mlp_params: int  # one dense FFN
    expert_params: int  # one routed expert
    shared_params: int  # all shared experts of one MoE layer
    experts: int
    top_k: int
    expert_ffn: int
    vocab: int
    embed_params: int
    head_params: int  # LM-head matmul parameters (tied heads still run the matmul)
    head_params_stored: int  # 0 when the head is tied to the embedding
    total_params: int
    active_params: int
    attn_context: float  # mean keys per query per layer, causal, window-aware
    attn_context_full: float  # same without the causal halving (paper convention)

    @classmethod
    def of(cls, m: ModelShape, seq: int) -> LayerDims:
        pc = count_params(m)
        e = m.moe
        if m.mla is not None:
            v_width = m.heads * m.mla.v_head_dim
            kv_width = m.mla.kv_lora_rank + m.mla.qk_rope_head_dim
        else:
            v_width = m.heads * m.head_dim
            kv_width = m.kv_width
        shared = 0
        if e is not None and e.shared_experts:
            shared = e.shared_experts * ffn_params(
                m, e.shared_expert_ffn_hidden or e.expert_ffn_hidden
            )
        # Causal attention: query i sees i+1 keys (mean ~ s/2); a window w caps it at w.
        full = float(seq)
        causal = seq / 2.0
        if m.sliding_window:
            w = min(m.sliding_window, seq)
            win_causal = w - w * w / (2.0 * seq)
            f = m.sliding_window_fraction
            causal = (1 - f) * causal + f * win_causal
            full = (1 - f) * full + f * w
        return cls(
            hidden=m.hidden,
            layers=m.layers,
            moe_layers=m.moe_layers,
            dense_layers=m.dense_layers,
            q_width=m.q_width,
            kv_width=kv_width,
            v_width=v_width,
            heads=m.heads,
            ffn=m.ffn_hidden,
            gated=m.gated_mlp,
            attn_params=attention_params_per_layer(m),
            mlp_params=ffn_params(m, m.ffn_hidden),
            expert_params=ffn_params(m, e.expert_ffn_hidden) if e else 0,
            shared_params=shared,
            experts=e.experts if e else 0,
            top_k=e.top_k if e else 0,
            expert_ffn=e.expert_ffn_hidden if e else 0,
            vocab=m.vocab,
            embed_params=pc.embeddings,
            head_params=m.vocab * m.hidden,
            head_params_stored=pc.head,
            total_params=pc.total,
            active_params=pc.active,
            attn_context=causal,
            attn_context_full=full,
        )

    @property
    def qk_width(self) -> int:
        return self.q_width

    @property
    def layer_params_dense(self) -> int:
        return self.attn_params + self.mlp_params

    @property
    def layer_params_moe_nonexpert(self) -> int:
        return self.attn_params + self.shared_params + self.hidden * self.experts
