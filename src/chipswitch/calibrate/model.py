"""A real decoder-only transformer in PyTorch, built from the engine's `ModelShape`.

Embedding -> N pre-norm blocks (fused QKV projection with GQA widths `heads*head_dim` and
`kv_heads*head_dim`, RoPE, causal `scaled_dot_product_attention`, output projection; gated
or plain MLP with a fused gate+up projection) -> final norm -> LM head, as in Llama/Megatron.

What each block keeps for backward is made to match the engine's accounting
(`chipswitch.perf.memory.layer_activation_bytes`), so that a measurement tests the model and
not PyTorch's eager quirks:

- norms and the MLP activation are fused-style autograd functions that save only their input
  and recompute the cheap internals in backward (Megatron's fused norm and bias-SwiGLU do the
  same), so eager intermediates (rstd, silu(gate)) are not held;
- `recompute="selective"` (the engine's definition: norm outputs and the MLP activation output
  are recomputed instead of saved) fuses each norm into the GEMM that consumes it and the
  activation into FC2 (`_NormLinear`, `_ActLinear`): only the GEMM input's *producer input*
  is saved, and backward recomputes the norm / activation (elementwise work, no extra GEMM);
- `recompute="full"` wraps each block in `torch.utils.checkpoint` (non-reentrant): only the
  block input is saved, and backward re-runs the block's forward.

On a GPU the caller trains under bf16 autocast with fp32 parameters and the residual stream
in bf16 (Megatron's default, without `--fp32-residual-connection`); on CPU everything is fp32.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from chipswitch.calibrate.agreement import check_supported
from chipswitch.model.shape import ModelShape
from chipswitch.parallel.plan import Recompute

EPS = 1e-5


# -- fused-style pieces ---------------------------------------------------------------------
def _norm(x: Tensor, w: Tensor, b: Tensor | None, kind: str) -> Tensor:
    """RMSNorm or LayerNorm in the input's dtype: PyTorch's fused kernels, which accumulate
    in fp32 (autocast is switched off so that it does not upcast the output to fp32)."""
    width = (x.shape[-1],)
    with torch.autocast(x.device.type, enabled=False):
        if kind == "rmsnorm":
            return F.rms_norm(x, width, w.to(x.dtype), EPS)
        return F.layer_norm(x, width, w.to(x.dtype), None if b is None else b.to(x.dtype), EPS)


def _act(u: Tensor, kind: str, gated: bool) -> Tensor:
    """MLP activation of the FC1 output `u` ([gate, up] halves when gated)."""
    if gated:
        gate, up = u.chunk(2, dim=-1)
        g = F.gelu(gate) if kind in ("geglu", "gelu") else F.silu(gate)
        return g * up
    if kind == "relu":
        return F.relu(u)
    if kind == "squared_relu":
        return F.relu(u).square()
    if kind in ("silu", "swiglu"):
        return F.silu(u)
    return F.gelu(u)


def _apply(fn: Any, *args: Any) -> Tensor:
    """`fn.apply(*args)` for an autograd Function (whose `apply` torch leaves untyped)."""
    out: Tensor = fn.apply(*args)
    return out


def _grads(out: Tensor, inputs: list[Tensor | None], grad: Tensor) -> list[Tensor | None]:
    need = [t for t in inputs if t is not None and t.requires_grad]
    got = iter(torch.autograd.grad(out, need, grad)) if need else iter(())
    return [next(got) if t is not None and t.requires_grad else None for t in inputs]


def _leaf(t: Tensor | None, grad: bool) -> Tensor | None:
    return None if t is None else t.detach().requires_grad_(grad)


def _linear_backward(
    gy: Tensor, x: Tensor, w: Tensor, b: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Gradients of y = x @ w.T + b: (dx, dw, db)."""
    gx = gy @ w.to(gy.dtype)
    g2, x2 = gy.reshape(-1, gy.shape[-1]), x.reshape(-1, x.shape[-1]).to(gy.dtype)
    gw = g2.t() @ x2
    gb = g2.sum(0) if b is not None else None
    return gx, gw, gb


class _Norm(torch.autograd.Function):
    """Norm that saves only its input; backward recomputes it."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, b: Tensor | None, kind: str) -> Tensor:
        ctx.save_for_backward(x, w, b)
        ctx.kind = kind
        return _norm(x, w, b, kind)

    @staticmethod
    def backward(ctx: Any, gy: Tensor) -> tuple[Tensor | None, ...]:
        x, w, b = ctx.saved_tensors
        with torch.enable_grad():
            leaves = [_leaf(x, True), _leaf(w, True), _leaf(b, b is not None)]
            y = _norm(leaves[0], leaves[1], leaves[2], ctx.kind)  # type: ignore[arg-type]
        return (*_grads(y, leaves, gy), None)


class _Act(torch.autograd.Function):
    """MLP activation that saves only the FC1 output; backward recomputes it."""

    @staticmethod
    def forward(ctx: Any, u: Tensor, kind: str, gated: bool) -> Tensor:
        ctx.save_for_backward(u)
        ctx.kind, ctx.gated = kind, gated
        return _act(u, kind, gated)

    @staticmethod
    def backward(ctx: Any, gy: Tensor) -> tuple[Tensor | None, ...]:
        (u,) = ctx.saved_tensors
        with torch.enable_grad():
            leaf = u.detach().requires_grad_(True)
            a = _act(leaf, ctx.kind, ctx.gated)
        return (*_grads(a, [leaf], gy), None, None)


class _NormLinear(torch.autograd.Function):
    """linear(norm(x)) saving x, not norm(x) (selective recomputation of the norm)."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, nw: Tensor, nb: Tensor | None, kind: str, w: Tensor, b: Tensor | None
    ) -> Tensor:
        ctx.save_for_backward(x, nw, nb, w, b)
        ctx.kind = kind
        return F.linear(_norm(x, nw, nb, kind), w, b)  # autocast casts on a GPU

    @staticmethod
    def backward(ctx: Any, gy: Tensor) -> tuple[Tensor | None, ...]:
        x, nw, nb, w, b = ctx.saved_tensors
        with torch.enable_grad():
            leaves = [_leaf(x, True), _leaf(nw, True), _leaf(nb, nb is not None)]
            n = _norm(leaves[0], leaves[1], leaves[2], ctx.kind)  # type: ignore[arg-type]
        gn, gw, gb = _linear_backward(gy, n.detach(), w, b)
        return (*_grads(n, leaves, gn.to(n.dtype)), None, gw, gb)


class _ActLinear(torch.autograd.Function):
    """linear(act(u)) saving u, not act(u) (selective recomputation of the activation)."""

    @staticmethod
    def forward(ctx: Any, u: Tensor, kind: str, gated: bool, w: Tensor, b: Tensor | None) -> Tensor:
        ctx.save_for_backward(u, w, b)
        ctx.kind, ctx.gated = kind, gated
        return F.linear(_act(u, kind, gated), w, b)

    @staticmethod
    def backward(ctx: Any, gy: Tensor) -> tuple[Tensor | None, ...]:
        u, w, b = ctx.saved_tensors
        with torch.enable_grad():
            leaf = u.detach().requires_grad_(True)
            a = _act(leaf, ctx.kind, ctx.gated)
        ga, gw, gb = _linear_backward(gy, a.detach(), w, b)
        return (*_grads(a, [leaf], ga.to(a.dtype)), None, None, gw, gb)


# -- modules --------------------------------------------------------------------------------
class Norm(nn.Module):
    def __init__(self, width: int, kind: str, bias: bool) -> None:
        super().__init__()
        self.kind = kind
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width)) if bias and kind == "layernorm" else None

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = _apply(_Norm, x, self.weight, self.bias, self.kind)
        return out


def _rope_tables(seq: int, dim: int, device: Any, dtype: Any) -> tuple[Tensor, Tensor]:
    """cos/sin tables of rotary embeddings (Su et al. 2021), shape (seq, 1, dim)."""
    inv = 1.0 / (10000.0 ** (torch.arange(0, dim, 2, device=device).float() / dim))
    ang = torch.outer(torch.arange(seq, device=device).float(), inv)
    ang = torch.cat([ang, ang], dim=-1)[:, None, :]
    return ang.cos().to(dtype), ang.sin().to(dtype)


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def _attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Causal SDPA on (batch, heads, seq, dim); GQA without materialising repeated K/V."""
    if q.shape[1] == k.shape[1]:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    try:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    except TypeError:  # torch < 2.5
        rep = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class Block(nn.Module):
    """One pre-norm transformer layer (or a parallel attention+MLP block when the shape says)."""

    def __init__(self, s: ModelShape, selective: bool) -> None:
        super().__init__()
        self.s = s
        self.selective = selective
        h, bias, nb = s.hidden, s.bias, s.norm_bias
        self.norm1 = Norm(h, s.norm, nb)
        self.qkv = nn.Linear(h, s.q_width + 2 * s.kv_width, bias=bias)
        self.out = nn.Linear(s.heads * s.head_dim, h, bias=bias)
        two_norms = not s.parallel_block or s.parallel_norms == 2
        self.norm2 = Norm(h, s.norm, nb) if two_norms else None
        self.fc1 = nn.Linear(h, (2 if s.gated_mlp else 1) * s.ffn_hidden, bias=bias)
        self.fc2 = nn.Linear(s.ffn_hidden, h, bias=bias)
        self.q_norm = Norm(s.head_dim, "rmsnorm", False) if s.qk_norm else None
        self.k_norm = Norm(s.head_dim, "rmsnorm", False) if s.qk_norm else None

    def _in(self, x: Tensor, norm: Norm, lin: nn.Linear) -> Tensor:
        if self.selective:
            out: Tensor = _apply(
                _NormLinear, x, norm.weight, norm.bias, norm.kind, lin.weight, lin.bias
            )
            return out
        result: Tensor = lin(norm(x))
        return result

    def _attn(self, x: Tensor, rope: tuple[Tensor, Tensor] | None) -> Tensor:
        s = self.s
        b, t, _ = x.shape
        qkv = self._in(x, self.norm1, self.qkv)
        q, k, v = torch.split(qkv, [s.q_width, s.kv_width, s.kv_width], dim=-1)
        q = q.reshape(b, t, s.heads, s.head_dim)
        k = k.reshape(b, t, s.kv_heads, s.head_dim)
        v = v.reshape(b, t, s.kv_heads, s.head_dim).contiguous()  # frees the QKV buffer
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = _rotate(q, *rope), _rotate(k, *rope)
        o = _attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        result: Tensor = self.out(o.transpose(1, 2).reshape(b, t, s.heads * s.head_dim))
        return result

    def _mlp(self, x: Tensor, norm: Norm) -> Tensor:
        s = self.s
        u = self._in(x, norm, self.fc1)
        if self.selective:
            out: Tensor = _apply(
                _ActLinear, u, s.activation, s.gated_mlp, self.fc2.weight, self.fc2.bias
            )
            return out
        result: Tensor = self.fc2(_apply(_Act, u, s.activation, s.gated_mlp))
        return result

    def forward(self, x: Tensor, cos: Tensor | None, sin: Tensor | None) -> Tensor:
        rope = None if cos is None or sin is None else (cos, sin)
        if self.s.parallel_block:
            return x + self._attn(x, rope) + self._mlp(x, self.norm2 or self.norm1)
        x = x + self._attn(x, rope)
        assert self.norm2 is not None  # sequential blocks always have two norms
        return x + self._mlp(x, self.norm2)


class TransformerLM(nn.Module):
    """Decoder-only language model of `shape` with `recompute` applied to every block."""

    def __init__(self, shape: ModelShape, recompute: Recompute = "none") -> None:
        super().__init__()
        check_supported(shape)
        self.shape = shape
        self.recompute = recompute
        h = shape.hidden
        self.embed = nn.Embedding(shape.vocab, h)
        self.pos = nn.Embedding(shape.max_position or 1, h) if shape.position == "learned" else None
        self.blocks = nn.ModuleList(
            Block(shape, selective=recompute == "selective") for _ in range(shape.layers)
        )
        self.norm = Norm(h, shape.norm, shape.norm_bias)
        self.head = None if shape.tied_embeddings else nn.Linear(h, shape.vocab, bias=False)
        self.compute_dtype: Any = None  # set by the trainer (bf16 under autocast on GPU)
        self._init()

    def _init(self) -> None:
        std = 0.02
        for name, p in self.named_parameters():
            if p.dim() == 2:  # GPT-2/Megatron init: output projections scaled by depth
                scaled = name.endswith(("fc2.weight", "out.weight"))
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.shape.layers) if scaled else std)

    def forward(self, ids: Tensor) -> Tensor:
        t = ids.shape[1]
        x = self.embed(ids)
        if self.pos is not None:
            x = x + self.pos(torch.arange(t, device=ids.device) % self.pos.num_embeddings)
        if self.compute_dtype is not None:
            x = x.to(self.compute_dtype)
        cos = sin = None
        if self.shape.position == "rope":
            cos, sin = _rope_tables(t, self.shape.head_dim, ids.device, x.dtype)
        for blk in self.blocks:
            if self.recompute == "full":
                x = checkpoint(blk, x, cos, sin, use_reentrant=False)
            else:
                x = blk(x, cos, sin)
        x = self.norm(x)
        w = self.embed.weight if self.head is None else self.head.weight
        logits: Tensor = F.linear(x, w)
        return logits

    def loss(self, ids: Tensor, targets: Tensor) -> Tensor:
        logits = self(ids)
        loss: Tensor = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1)
        )
        return loss
