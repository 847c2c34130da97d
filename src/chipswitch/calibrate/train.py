"""Train a real model for a few steps and measure step time and peak memory.

One step = forward, loss, backward, AdamW step, zeroing the gradients, on one fixed random
batch of `micro_batch` sequences of `seq` tokens (the data does not change the work). On a GPU:
fp32 parameters, bf16 autocast; on CPU: fp32. AdamW is the fused implementation on both
(one pass over parameters, gradients and moments, as the engine's optimizer time assumes).

Step time: the host clock around each step after a device synchronisation, `warmup` steps
discarded (allocator growth, autotuning, lazy optimizer states), the median of the rest.

Peak memory:
- GPU: `torch.cuda.max_memory_allocated` over the run, counted from a reset before the model
  is built: every tensor (weights, gradients, AdamW states, activations, workspaces), not the
  CUDA context or the caching allocator's reserve.
- CPU: the process's peak resident set (Linux `VmHWM`, reset through `/proc/self/clear_refs`
  before the model is built) minus the resident set at that moment. Limits: it counts pages,
  not tensors (allocator slack, thread-local buffers and freed-but-unreturned memory count;
  small tensors below the malloc mmap threshold may stay resident after they are freed), and
  needs Linux; elsewhere (or if the reset is refused) it is `None` with the reason.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from chipswitch.calibrate.agreement import MeasureConfig, Measured
from chipswitch.calibrate.model import TransformerLM
from chipswitch.calibrate.runtime import Device, OutOfMemory, is_oom, synchronize

StepCallback = Callable[[int, int, float], None]  # (step done, total steps, seconds)


def _rss(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1]) * 1024.0
    except OSError:
        return None
    return None


def _fix_malloc_thresholds() -> None:
    """glibc raises its mmap threshold after each large free (up to 32 MiB), after which
    freed tensors stay resident and RSS over-counts; fixing the thresholds (mallopt
    M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) returns large freed blocks to the OS at once."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD: blocks >= 1 MiB are mmapped
        libc.mallopt(-1, 1 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: keep the defaults
        pass


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")
    except OSError:
        return False
    return True


class _Memory:
    """Peak memory over a block of work, by the method that fits the device."""

    def __init__(self, dev: Device) -> None:
        self.dev = dev
        self.base: float | None = None
        self.method = ""

    def start(self) -> None:
        if self.dev.kind == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.dev.torch_device)
            self.base = float(torch.cuda.memory_allocated(self.dev.torch_device))
            self.method = "torch.cuda.max_memory_allocated (tensors only)"
        elif self.dev.kind == "cpu" and _reset_peak_rss():
            _fix_malloc_thresholds()
            self.base = _rss("VmRSS")
            self.method = "peak RSS (VmHWM) minus RSS before the model was built"
        else:
            self.method = "not measured: no peak-memory counter for this device"

    def peak(self) -> float | None:
        if self.base is None:
            return None
        if self.dev.kind == "cuda":
            return float(torch.cuda.max_memory_allocated(self.dev.torch_device)) - self.base
        hwm = _rss("VmHWM")
        return None if hwm is None else hwm - self.base


def train_and_measure(
    dev: Device, cfg: MeasureConfig, on_step: StepCallback | None = None, seed: int = 0
) -> Measured:
    """Train `cfg` on `dev` for warmup + steps steps; raise OutOfMemory if it does not fit."""
    try:
        return _run(dev, cfg, on_step, seed)
    except Exception as exc:
        if is_oom(exc):
            if dev.kind == "cuda":
                torch.cuda.empty_cache()
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise OutOfMemory(
                f"{cfg.describe()} ran out of memory on {dev.name}: {first}"
            ) from None
        raise


def _prime(dev: Device, cfg: MeasureConfig) -> None:
    """One step of a tiny model of the same architecture, so that library code pages, thread
    pools and GPU library handles/workspaces exist before the memory baseline is taken."""
    gqa = cfg.shape.kv_heads < cfg.shape.heads
    tiny = cfg.shape.model_copy(
        update={
            "layers": 1,
            "hidden": 64,
            "heads": 2,
            "kv_heads": 1 if gqa else 2,
            "head_dim": 32,
            "ffn_hidden": 128,
            "vocab": 256,
            "max_position": 64,
        }
    )
    with dev.torch_device:
        m = TransformerLM(tiny, cfg.recompute)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, fused=True)
    ids = torch.randint(0, 256, (1, 17), device=dev.torch_device)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.kind == "cuda"):
        loss = m.loss(ids[:, :-1], ids[:, 1:])
    torch.autograd.backward(loss)
    opt.step()
    del m, opt, loss
    gc.collect()
    synchronize(dev)


def _run(dev: Device, cfg: MeasureConfig, on_step: StepCallback | None, seed: int) -> Measured:
    torch.manual_seed(seed)
    cuda = dev.kind == "cuda"
    _prime(dev, cfg)
    mem = _Memory(dev)
    mem.start()
    with dev.torch_device:  # built (and initialised) on the device
        model = TransformerLM(cfg.shape, cfg.recompute)
    if cuda:
        model.compute_dtype = torch.bfloat16
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0, fused=True)
    ids = torch.randint(0, cfg.shape.vocab, (cfg.micro_batch, cfg.seq + 1), device=dev.torch_device)
    inputs, targets = ids[:, :-1].contiguous(), ids[:, 1:].contiguous()

    def step() -> float:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            loss = model.loss(inputs, targets)
        torch.autograd.backward(loss)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    total = cfg.warmup + cfg.steps
    times: list[float] = []
    losses: list[float] = []
    for i in range(total):
        synchronize(dev)
        t0 = time.perf_counter()
        losses.append(step())  # float() of the loss synchronises the device
        synchronize(dev)
        dt = time.perf_counter() - t0
        if i >= cfg.warmup:
            times.append(dt)
        if on_step:
            on_step(i + 1, total, dt)
    peak = mem.peak()
    med = float(statistics.median(times))
    return Measured(
        device=dev.kind,
        device_name=dev.name,
        precision="bf16" if cuda else "fp32",
        params=params,
        step_times=tuple(times),
        step_time=med,
        tokens_per_s=cfg.tokens / med,
        peak_memory_bytes=peak,
        memory_method=mem.method,
        loss_first=losses[0],
        loss_last=losses[-1],
        torch_version=str(torch.__version__),
    )
