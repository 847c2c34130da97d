"""Microbenchmarks through PyTorch: the kernels a transformer layer runs, timed on one device.

- GEMMs of a Llama-style layer for several hidden sizes h (GQA with kv = h/4, gated FFN of
  width 3.5h rounded to 256): the linear maps QKV h -> 1.5h, out h -> h, FC1 h -> 7h and FC2
  3.5h -> h at several token counts T, each in its three passes (forward x @ W^T, input
  gradient dy @ W, weight gradient dy^T @ x, in the layouts autograd uses), in the training
  precision (bf16 on GPU, fp32 on CPU); and the forward pass in fp8 (`torch._scaled_mm`, e4m3,
  per-tensor scales, bf16 output) where the GPU has fp8 units (compute capability >= 8.9).
- Memory bandwidth: a large device-to-device copy, counting bytes read + written.
- Attention: causal `scaled_dot_product_attention` forward + backward, head_dim 128 (64 on
  CPU), GQA 4:1.
- Norms and element-wise ops: RMSNorm, LayerNorm, residual add, SwiGLU, GELU; the bytes are
  the minimum a fused kernel moves (what the engine counts).
- Host overhead per layer: forward + backward of a tiny model at two depths.
- All-reduce across devices when more than one is present (`torch.distributed`, NCCL).

Inputs are random normal (non-zero) tensors; timing is `runtime.time_op` (warm-up, device
synchronisation, median of repeats).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from chipswitch.calibrate.apply import OVERHEAD_SEQ
from chipswitch.calibrate.apply import OVERHEAD_SHAPE as TINY
from chipswitch.calibrate.profile import (
    AttentionPoint,
    BandwidthPoint,
    BenchPrecision,
    CalibrationProfile,
    CollectivePoint,
    ElementwiseOp,
    ElementwisePoint,
    GemmOp,
    GemmPhase,
    LayerOverhead,
    MatmulPoint,
)
from chipswitch.calibrate.runtime import Device, OutOfMemory, environment, is_oom, time_op

Progress = Callable[[str], None]
PHASES: tuple[GemmPhase, ...] = ("forward", "input_grad", "weight_grad")
DTYPES: dict[str, torch.dtype] = {
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
    "fp32": torch.float32,
}


@dataclass(frozen=True)
class BenchPlan:
    """What to measure. `default_plan` gives the shipped sets; tests pass smaller ones."""

    hiddens: tuple[int, ...]
    tokens: tuple[int, ...]
    copy_bytes: tuple[float, ...]
    attention: tuple[tuple[int, int, int, int, int], ...]  # batch, heads, kv, head_dim, seq
    elementwise_tokens: int
    overhead_layers: tuple[int, int] = (2, 10)
    collective_bytes: tuple[float, ...] = ()
    budget_s: float = 0.25  # time per point after warm-up
    fp8: bool = False

    def steps(self) -> int:
        gemms = len(self.hiddens) * len(self.tokens) * 4 * (len(PHASES) + int(self.fp8))
        elem = 5 * len(self.hiddens)
        coll = 1 if self.collective_bytes else 0
        return gemms + len(self.copy_bytes) + len(self.attention) + elem + 1 + coll


def ffn_width(h: int) -> int:
    """Llama-3 FFN width: 3.5h rounded to a multiple of 256 (14336 for h = 4096)."""
    return max(256, round(3.5 * h / 256) * 256)


def layer_linears(h: int) -> list[tuple[GemmOp, int, int]]:
    """(op, d_out, d_in) of one layer's linear maps at hidden size h."""
    f = ffn_width(h)
    return [("qkv", h + h // 2, h), ("out", h, h), ("fc1", 2 * f, h), ("fc2", h, f)]


def default_plan(dev: Device, quick: bool) -> BenchPlan:
    if dev.kind == "cpu":
        if quick:
            return BenchPlan(
                hiddens=(256, 512, 1024),
                tokens=(128, 512),
                copy_bytes=(256e6,),
                attention=((2, 8, 2, 64, 512), (1, 8, 2, 64, 1024)),
                elementwise_tokens=2048,
                budget_s=0.08,
            )
        return BenchPlan(
            hiddens=(256, 512, 1024, 2048),
            tokens=(128, 512, 2048),
            copy_bytes=(64e6, 512e6),
            attention=((4, 8, 2, 64, 512), (2, 16, 4, 64, 1024), (1, 16, 4, 64, 2048)),
            elementwise_tokens=4096,
            budget_s=0.4,
        )
    fp8 = dev.kind == "cuda" and torch.cuda.get_device_capability(dev.torch_device) >= (8, 9)
    coll = (64e6, 1e9) if dev.count > 1 and dev.kind == "cuda" else ()
    if quick:
        return BenchPlan(
            hiddens=(2048, 4096),
            tokens=(1024, 8192),
            copy_bytes=(2e9,),
            attention=((4, 32, 8, 128, 2048), (1, 32, 8, 128, 8192)),
            elementwise_tokens=16384,
            collective_bytes=coll,
            budget_s=0.1,
            fp8=fp8,
        )
    return BenchPlan(
        hiddens=(2048, 4096, 8192),
        tokens=(256, 1024, 4096, 16384),
        copy_bytes=(256e6, 4e9),
        attention=(
            (8, 32, 8, 128, 1024),
            (4, 32, 8, 128, 2048),
            (2, 32, 8, 128, 4096),
            (1, 32, 8, 128, 8192),
        ),
        elementwise_tokens=16384,
        collective_bytes=coll,
        budget_s=0.2,
        fp8=fp8,
    )


def train_precision(dev: Device) -> BenchPrecision:
    return "fp32" if dev.kind == "cpu" else "bf16"


# -- the measurements -----------------------------------------------------------------------
def _gemm_operands(
    phase: GemmPhase, t: int, d_out: int, d_in: int, d: Any, dt: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B) of A @ B for one pass of a linear layer, in the layouts autograd uses."""
    if phase == "forward":  # x @ W^T
        return torch.randn(t, d_in, device=d, dtype=dt), torch.randn(
            d_out, d_in, device=d, dtype=dt
        ).t()
    if phase == "input_grad":  # dy @ W
        return torch.randn(t, d_out, device=d, dtype=dt), torch.randn(
            d_out, d_in, device=d, dtype=dt
        )
    # dy^T @ x
    return torch.randn(t, d_out, device=d, dtype=dt).t(), torch.randn(t, d_in, device=d, dtype=dt)


def bench_gemm(
    dev: Device,
    op: GemmOp,
    phase: GemmPhase,
    h: int,
    t: int,
    d_out: int,
    d_in: int,
    prec: str,
    budget: float,
) -> MatmulPoint:
    """One pass of the linear layer d_in -> d_out on T tokens; output preallocated."""
    d = dev.torch_device
    if prec == "fp8":  # forward only: _scaled_mm wants a row-major A and column-major B
        a8 = torch.randn(t, d_in, device=d).to(torch.float8_e4m3fn)
        w8 = torch.randn(d_out, d_in, device=d).to(torch.float8_e4m3fn)
        one = torch.ones((), device=d)

        def fn() -> object:
            return torch._scaled_mm(a8, w8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

        m, n, k = t, d_out, d_in
    else:
        a, b = _gemm_operands(phase, t, d_out, d_in, d, DTYPES[prec])
        m, k = a.shape
        n = b.shape[1]
        out = torch.empty(m, n, device=d, dtype=DTYPES[prec])

        def fn() -> object:
            return torch.mm(a, b, out=out)

    s = time_op(fn, dev, budget_s=budget)
    return MatmulPoint(
        op=op,
        phase=phase,
        hidden=h,
        tokens=t,
        m=m,
        n=n,
        k=k,
        precision=prec,
        seconds=s,
        flops_per_s=2.0 * m * n * k / s,
    )


def bench_copy(dev: Device, size: float, budget: float) -> BandwidthPoint:
    n = int(size // 4)
    src = torch.randn(n, device=dev.torch_device)
    dst = torch.empty_like(src)
    s = time_op(lambda: dst.copy_(src), dev, budget_s=budget)
    nbytes = float(n * 4)
    return BandwidthPoint(size_bytes=nbytes, seconds=s, bytes_per_s=2.0 * nbytes / s)


def _sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    if q.shape[1] == k.shape[1]:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)


def bench_attention(
    dev: Device, cfg: tuple[int, int, int, int, int], prec: str, budget: float
) -> AttentionPoint:
    b, heads, kv, hd, seq = cfg
    d, dt = dev.torch_device, DTYPES[prec]
    q = torch.randn(b, heads, seq, hd, device=d, dtype=dt, requires_grad=True)
    k = torch.randn(b, kv, seq, hd, device=d, dtype=dt, requires_grad=True)
    v = torch.randn(b, kv, seq, hd, device=d, dtype=dt, requires_grad=True)
    g = torch.randn(b, heads, seq, hd, device=d, dtype=dt)

    def fn() -> object:
        out = _sdpa(q, k, v)
        return torch.autograd.grad(out, (q, k, v), g)

    s = time_op(fn, dev, budget_s=budget)
    # engine convention: forward 2*T*ctx*(q_width + v_width), ctx = seq/2; backward 2.5x
    fwd = 2.0 * b * seq * (seq / 2.0) * (2.0 * heads * hd)
    flops = 3.5 * fwd
    return AttentionPoint(
        batch=b,
        heads=heads,
        kv_heads=kv,
        head_dim=hd,
        seq=seq,
        precision=prec,
        seconds=s,
        flops=flops,
        flops_per_s=flops / s,
    )


def bench_elementwise(
    dev: Device, op: ElementwiseOp, tokens: int, width: int, prec: str, budget: float
) -> ElementwisePoint:
    d, dt = dev.torch_device, DTYPES[prec]
    elem = torch.finfo(dt).bits / 8
    x = torch.randn(tokens, width, device=d, dtype=dt)
    w = torch.randn(width, device=d, dtype=dt)
    fn: Callable[[], object]
    if op == "rmsnorm":
        fn, nbytes = (lambda: F.rms_norm(x, (width,), w, 1e-5)), 2 * tokens * width * elem
    elif op == "layernorm":
        fn, nbytes = (lambda: F.layer_norm(x, (width,), w, None, 1e-5)), 2 * tokens * width * elem
    elif op == "residual_add":
        y, out = torch.randn_like(x), torch.empty_like(x)
        fn, nbytes = (lambda: torch.add(x, y, out=out)), 3 * tokens * width * elem
    elif op == "swiglu":
        gate, up = torch.randn_like(x), torch.randn_like(x)
        fn, nbytes = (lambda: F.silu(gate) * up), 3 * tokens * width * elem
    else:
        fn, nbytes = (lambda: F.gelu(x)), 2 * tokens * width * elem
    s = time_op(fn, dev, budget_s=budget)
    return ElementwisePoint(
        op=op,
        tokens=tokens,
        width=width,
        precision=prec,
        bytes=float(nbytes),
        seconds=s,
        bytes_per_s=nbytes / s,
    )


def bench_layer_overhead(dev: Device, layers: tuple[int, int], budget: float) -> LayerOverhead:
    """Time per layer, forward + backward, of a model too small to compute much: the host and
    framework cost that `apply` turns into the engine's `layer_overhead`."""
    from chipswitch.calibrate.model import TransformerLM

    seq = OVERHEAD_SEQ
    times = []
    for n in layers:
        with dev.torch_device:
            model = TransformerLM(TINY.model_copy(update={"layers": n}))
        ids = torch.randint(0, TINY.vocab, (1, seq + 1), device=dev.torch_device)

        def fn(model: TransformerLM = model, ids: torch.Tensor = ids) -> object:
            loss = model.loss(ids[:, :-1], ids[:, 1:])
            torch.autograd.backward(loss)
            return loss

        times.append(time_op(fn, dev, warmup=3, min_repeats=5, budget_s=budget))
    per = max(0.0, (times[1] - times[0]) / (layers[1] - layers[0]))
    return LayerOverhead(
        seconds_per_layer=per, layers_lo=layers[0], layers_hi=layers[1], hidden=TINY.hidden, seq=seq
    )


# -- collectives (one process per device) ---------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _allreduce_worker(
    rank: int, world: int, sizes: list[float], port: int, backend: str, out: str
) -> None:
    import time

    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(backend, rank=rank, world_size=world)
    cuda = backend == "nccl"
    dev = torch.device("cuda", rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(dev)
    rows = []
    for size in sizes:
        x = torch.randn(int(size // 4), device=dev)
        for _ in range(3):
            dist.all_reduce(x)
        if cuda:
            torch.cuda.synchronize()
        dist.barrier()
        reps = 10
        t0 = time.perf_counter()
        for _ in range(reps):
            dist.all_reduce(x)
        if cuda:
            torch.cuda.synchronize()
        s = (time.perf_counter() - t0) / reps
        rows.append({"size_bytes": float(x.numel() * 4), "seconds": s})
    if rank == 0:
        Path(out).write_text(json.dumps(rows), encoding="utf-8")
    dist.destroy_process_group()


def bench_allreduce(world: int, sizes: tuple[float, ...], backend: str) -> list[CollectivePoint]:
    """All-reduce bus bandwidth across `world` processes (nccl-tests' busbw = algbw*2(n-1)/n)."""
    from torch.multiprocessing.spawn import spawn

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "allreduce.json")
        spawn(  # type: ignore[no-untyped-call]
            _allreduce_worker,
            args=(world, list(sizes), _free_port(), backend, out),
            nprocs=world,
            join=True,
        )
        rows = json.loads(Path(out).read_text(encoding="utf-8"))
    pts = []
    for r in rows:
        alg = r["size_bytes"] / r["seconds"]
        pts.append(
            CollectivePoint(
                world_size=world,
                size_bytes=r["size_bytes"],
                seconds=r["seconds"],
                algbw=alg,
                busbw=alg * 2.0 * (world - 1) / world,
            )
        )
    return pts


# -- the whole run --------------------------------------------------------------------------
def _guard(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), with an out-of-memory error turned into one that says what ran out."""
    try:
        return fn(*args)
    except Exception as exc:
        if is_oom(exc):
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise OutOfMemory(f"calibrate: {what} ran out of device memory ({first})") from None
        raise


def _optional(name: str, notes: list[str], fn: Callable[[], Any]) -> Any:
    """fn(), or None with a note: a failing optional benchmark must not lose the profile."""
    try:
        return fn()
    except OutOfMemory:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        notes.append(f"{name} failed and was skipped: {first[:300]}")
        return None


def run_calibration(
    dev: Device,
    plan: BenchPlan,
    *,
    command: str,
    quick: bool,
    chip_id: str | None,
    progress: Progress | None = None,
) -> CalibrationProfile:
    """Run every benchmark in `plan` on `dev`; `progress(label)` after each one.

    The training-precision GEMMs and the copy are required (an error propagates); fp8,
    attention, element-wise ops, the layer overhead and collectives are optional (a failure
    becomes a note in the profile).
    """
    tick = progress or (lambda _label: None)
    prec = train_precision(dev)
    notes: list[str] = []
    if dev.kind == "cuda" and not plan.fp8:
        notes.append("fp8 GEMMs skipped: the device has no fp8 units (compute capability < 8.9)")
    if dev.kind == "cpu":
        notes.append("fp8 and bf16 GEMMs skipped on CPU: training runs in fp32 there")

    def gemms(p: str, phases: tuple[GemmPhase, ...]) -> list[MatmulPoint]:
        pts = []
        for phase in phases:
            for h in plan.hiddens:
                for t in plan.tokens:
                    for op, d_out, d_in in layer_linears(h):
                        label = f"matmul {p} {op} {phase} h={h} T={t}"
                        args = (dev, op, phase, h, t, d_out, d_in, p, plan.budget_s)
                        pts.append(_guard(label, bench_gemm, *args))
                        tick(label)
        return pts

    matmul = gemms(prec, PHASES)
    if plan.fp8:
        matmul += _optional("fp8 GEMMs", notes, lambda: gemms("fp8", ("forward",))) or []
    memory = []
    for size in plan.copy_bytes:
        memory.append(_guard("copy", bench_copy, dev, size, plan.budget_s))
        tick(f"copy {size / 1e6:.0f} MB")

    def attention() -> list[AttentionPoint]:
        pts = []
        for cfg in plan.attention:
            pts.append(_guard("attention", bench_attention, dev, cfg, prec, plan.budget_s))
            tick(f"attention b={cfg[0]} s={cfg[4]}")
        return pts

    def elementwise() -> list[ElementwisePoint]:
        ops: tuple[ElementwiseOp, ...] = ("rmsnorm", "layernorm", "residual_add", "swiglu", "gelu")
        pts = []
        for h in plan.hiddens:
            for eop in ops:
                width = ffn_width(h) if eop in ("swiglu", "gelu") else h
                eargs = (dev, eop, plan.elementwise_tokens, width, prec, plan.budget_s)
                pts.append(_guard(eop, bench_elementwise, *eargs))
                tick(f"{eop} h={h}")
        return pts

    def overhead() -> LayerOverhead:
        lo: LayerOverhead = _guard(
            "layer overhead", bench_layer_overhead, dev, plan.overhead_layers, plan.budget_s
        )
        tick("layer overhead")
        return lo

    att = _optional("attention", notes, attention) or []
    elem = _optional("element-wise ops", notes, elementwise) or []
    layer = _optional("layer overhead", notes, overhead)
    collectives: list[CollectivePoint] = []
    if plan.collective_bytes:
        collectives = (
            _optional(
                "all-reduce",
                notes,
                lambda: bench_allreduce(dev.count, plan.collective_bytes, "nccl"),
            )
            or []
        )
        tick("all-reduce")
    elif dev.count < 2:
        notes.append("collectives skipped: one device")
    return CalibrationProfile(
        environment=environment(dev, command, quick=quick),
        chip_id=chip_id,
        train_precision=prec,
        matmul=matmul,
        memory=memory,
        attention=att,
        elementwise=elem,
        collectives=collectives,
        layer_overhead=layer,
        notes=notes,
    )
