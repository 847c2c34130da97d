"""Transformer shapes: the file schema and the typed object the engine reads.

Counts (layers, widths, heads) have no units, so the file and the spec are the same model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from chipswitch._schema import StrictModel


class MoESpec(StrictModel):
    """Mixture-of-experts FFN. Layers `first_dense_layers`.. are MoE every `layer_freq` layers."""

    experts: int = Field(gt=1)
    top_k: int = Field(ge=1)
    expert_ffn_hidden: int = Field(gt=0)
    shared_experts: int = Field(default=0, ge=0)
    shared_expert_ffn_hidden: int | None = Field(default=None, gt=0)
    first_dense_layers: int = Field(default=0, ge=0)
    layer_freq: int = Field(default=1, ge=1, description="1 = every layer after the dense ones")
    router_bias: bool = False

    @model_validator(mode="after")
    def _check(self) -> MoESpec:
        if self.top_k > self.experts:
            raise ValueError(f"top_k ({self.top_k}) exceeds experts ({self.experts})")
        return self


class MLASpec(StrictModel):
    """Multi-head latent attention (DeepSeek-V2/V3, arXiv:2405.04434 section 2.1)."""

    q_lora_rank: int | None = Field(default=None, gt=0)
    kv_lora_rank: int = Field(gt=0)
    qk_nope_head_dim: int = Field(gt=0)
    qk_rope_head_dim: int = Field(gt=0)
    v_head_dim: int = Field(gt=0)


class Reference(StrictModel):
    """Publicly stated parameter counts, to check our counting against.

    Counts are in parameters (not billions): "46.7B" is written `46.7e9`. Where the source
    rounds (a headline "37B"), `rounded_to` is the unit of its last digit (`1e9`), so the
    statement means "somewhere in params +/- rounded_to/2"; leave it unset for exact counts.
    """

    params_total: float = Field(gt=0)
    params_active: float | None = Field(default=None, gt=0)
    rounded_to: float | None = Field(
        default=None, gt=0, description="unit of the stated figures' last digit, in parameters"
    )
    source: str
    note: str | None = None


class ModelShape(StrictModel):
    """A decoder-only (or encoder-only) transformer's shape.

    `head_dim` is explicit: attention widths are `heads*head_dim` and `kv_heads*head_dim`,
    not `hidden`. `ffn_hidden` is the dense FFN width (the gate and up projections each have
    this width when `gated`).

    Norm details that only move parameter counts slightly still follow the public code:
    `norm_bias: false` for MPT (llm-foundry `no_bias` strips LayerNorm shifts too),
    `qk_norm` for Qwen3 (HF `Qwen3MoeAttention.q_norm/k_norm`, RMSNorm over head_dim), and
    `parallel_norms: 2` for GPT-NeoX (HF `GPTNeoXLayer` keeps `input_layernorm` and
    `post_attention_layernorm` with `use_parallel_residual`).
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    family: str | None = None
    aliases: list[str] = Field(default_factory=list)
    kind: Literal["decoder", "encoder"] = "decoder"
    layers: int = Field(gt=0)
    hidden: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    ffn_hidden: int = Field(gt=0)
    vocab: int = Field(gt=0)
    gated_mlp: bool = Field(description="SwiGLU/GeGLU: three FFN matrices instead of two")
    activation: Literal["gelu", "relu", "squared_relu", "silu", "swiglu", "geglu"] = "gelu"
    norm: Literal["layernorm", "rmsnorm"] = "layernorm"
    norm_bias: bool = Field(
        default=True,
        description="LayerNorm carries a shift; False for MPT's no_bias (ignored for RMSNorm)",
    )
    qk_norm: bool = Field(
        default=False,
        description="per-head norm of queries and keys over head_dim (Qwen3 q_norm/k_norm)",
    )
    bias: bool = Field(default=False, description="linear layers carry biases")
    position: Literal["rope", "learned", "alibi", "none"] = "rope"
    max_position: int | None = Field(default=None, gt=0, description="learned positions only")
    token_types: int = Field(default=0, ge=0, description="segment embeddings (BERT)")
    tied_embeddings: bool = False
    parallel_block: bool = Field(default=False, description="attention and MLP side by side")
    parallel_norms: Literal[1, 2] = Field(
        default=1,
        description="norms per parallel block: 1 shared (GPT-J, PaLM) or 2 (GPT-NeoX)",
    )
    sliding_window: int | None = Field(default=None, gt=0)
    sliding_window_fraction: float = Field(default=0.0, ge=0, le=1)
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    pooler: bool = Field(default=False, description="BERT pooler dense layer")
    reference: Reference | None = None
    source: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> ModelShape:
        if self.mla is None and self.heads % self.kv_heads:
            raise ValueError(
                f"heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads})"
            )
        if self.position == "learned" and self.max_position is None:
            raise ValueError("learned positions need max_position")
        if self.moe and self.moe.first_dense_layers > self.layers:
            raise ValueError("moe.first_dense_layers exceeds layers")
        if self.parallel_norms != 1 and not self.parallel_block:
            raise ValueError("parallel_norms applies only with parallel_block: true")
        if self.qk_norm and self.mla is not None:
            raise ValueError("qk_norm is not defined for MLA attention")
        if self.moe is None and self.reference and self.reference.params_active is not None:
            raise ValueError("reference.params_active is for MoE models; this model is dense")
        return self

    @property
    def is_moe(self) -> bool:
        return self.moe is not None

    @property
    def moe_layers(self) -> int:
        """Number of layers whose FFN is a mixture of experts."""
        if self.moe is None:
            return 0
        rest = self.layers - self.moe.first_dense_layers
        return (rest + self.moe.layer_freq - 1) // self.moe.layer_freq

    @property
    def dense_layers(self) -> int:
        return self.layers - self.moe_layers

    @property
    def q_width(self) -> int:
        """Width of the query projection output (heads x per-head query dim)."""
        if self.mla:
            return self.heads * (self.mla.qk_nope_head_dim + self.mla.qk_rope_head_dim)
        return self.heads * self.head_dim

    @property
    def kv_width(self) -> int:
        """Width of one of K or V as stored for attention (kv_heads x head_dim)."""
        return self.kv_heads * self.head_dim
