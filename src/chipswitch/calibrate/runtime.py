"""PyTorch at arm's length: importing it, finding the device, timing and describing it.

Only this package imports torch, and only when a measurement runs: the rest of chipswitch
works without it. Timing (`time_op`): warm-up calls, then repeated calls timed with CUDA
events on a GPU (recorded around each call, read after one synchronisation) or
`time.perf_counter` around each synchronous call on CPU/XLA; the median is kept.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from chipswitch import __version__
from chipswitch._machine import cpu_model
from chipswitch.calibrate.profile import DeviceKind, Environment
from chipswitch.errors import ChipswitchError

TORCH_PIN = "2.13.0"
INSTALL_HINT = f"pip install 'chipswitch[calibrate]' (or pip install torch=={TORCH_PIN})"


class DeviceError(ChipswitchError):
    """The requested device is absent or unusable; the message names what was found."""


class OutOfMemory(ChipswitchError):
    """A measurement did not fit in the device's memory; the message says what it needed."""


def require_torch() -> ModuleType:
    """`torch`, or a ChipswitchError telling how to install it."""
    try:
        import torch
    except ImportError:
        raise ChipswitchError(f"PyTorch is not installed: {INSTALL_HINT}") from None
    return torch


@dataclass(frozen=True)
class Device:
    """A resolved device: its kind, the torch device object, a name and how many there are."""

    kind: DeviceKind
    torch_device: Any  # torch.device
    name: str
    count: int

    @property
    def synchronous(self) -> bool:
        """Kernels finish before the host continues (CPU): host overhead adds to step time."""
        return self.kind == "cpu"


def _torch_build(torch: ModuleType) -> str:
    cuda = getattr(torch.version, "cuda", None)
    return f"torch {torch.__version__}, " + (f"built with CUDA {cuda}" if cuda else "CPU only")


def resolve_device(requested: str | None) -> Device:
    """The device for `--device` (None or "auto": CUDA when present, else CPU)."""
    torch = require_torch()
    req = (requested or "auto").lower()
    if req not in ("auto", "cuda", "cpu", "xla"):
        raise DeviceError(f"--device must be cuda, cpu, xla or auto, not '{requested}'")
    if req == "auto":
        req = "cuda" if torch.cuda.is_available() else "cpu"
    if req == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device cuda: no CUDA device ({_torch_build(torch)})")
        name = torch.cuda.get_device_name(0)
        return Device("cuda", torch.device("cuda", 0), name, torch.cuda.device_count())
    if req == "xla":
        try:
            import torch_xla.core.xla_model as xm
        except ImportError:
            raise DeviceError(
                f"--device xla: torch_xla is not installed ({_torch_build(torch)})"
            ) from None
        dev = xm.xla_device()
        return Device("xla", dev, str(xm.xla_device_hw(dev)), 1)
    return Device("cpu", torch.device("cpu"), cpu_model(), 1)


def synchronize(dev: Device) -> None:
    torch = require_torch()
    if dev.kind == "cuda":
        torch.cuda.synchronize(dev.torch_device)
    elif dev.kind == "xla":
        import torch_xla.core.xla_model as xm

        xm.mark_step()
        xm.wait_device_ops()


def timing_method(dev: Device) -> str:
    if dev.kind == "cuda":
        return "CUDA events around each call after warm-up; median of repeats"
    return "time.perf_counter around each synchronised call after warm-up; median of repeats"


def time_op(
    fn: Callable[[], object],
    dev: Device,
    *,
    warmup: int = 2,
    min_repeats: int = 3,
    max_repeats: int = 50,
    budget_s: float = 0.25,
) -> float:
    """Median seconds of one call of `fn` on `dev`.

    After `warmup` calls the call time is estimated and the repeat count chosen to fill about
    `budget_s` (within min/max repeats), so small kernels get many samples and large ones few.
    """
    synchronize(dev)
    t0 = time.perf_counter()
    for _ in range(max(1, warmup)):
        fn()
    synchronize(dev)
    est = (time.perf_counter() - t0) / max(1, warmup)
    reps = int(min(max_repeats, max(min_repeats, budget_s / max(est, 1e-9))))
    if dev.kind == "cuda":
        torch = require_torch()
        events = [
            (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            for _ in range(reps)
        ]
        for start, end in events:
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(dev.torch_device)
        times = [start.elapsed_time(end) / 1e3 for start, end in events]
    else:
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            synchronize(dev)
            times.append(time.perf_counter() - t)
    return float(statistics.median(times))


def is_oom(exc: BaseException) -> bool:
    """A PyTorch out-of-memory error (CUDA allocator or the CPU allocator)."""
    torch = require_torch()
    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    if isinstance(exc, oom):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text.lower()
    )


# -- the machine ------------------------------------------------------------------------------
def _meminfo(key: str) -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) * 1024.0  # kB (KiB) -> bytes
    except OSError:
        pass
    return None


def host_memory_bytes() -> float | None:
    """Installed RAM (Linux /proc/meminfo MemTotal, else sysconf)."""
    total = _meminfo("MemTotal")
    if total is None and hasattr(os, "sysconf"):
        try:
            total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError):
            total = None
    return total


def host_memory_available() -> float | None:
    return _meminfo("MemAvailable")


def device_memory(dev: Device) -> float | None:
    """Total memory of the device (GPU memory; RAM for the CPU)."""
    if dev.kind == "cuda":
        torch = require_torch()
        return float(torch.cuda.get_device_properties(dev.torch_device).total_memory)
    if dev.kind == "cpu":
        return host_memory_bytes()
    return None


def device_memory_free(dev: Device) -> float | None:
    if dev.kind == "cuda":
        torch = require_torch()
        free, _ = torch.cuda.mem_get_info(dev.torch_device)
        return float(free)
    if dev.kind == "cpu":
        return host_memory_available()
    return None


def _driver_version() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            v = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
        return v.decode() if isinstance(v, bytes) else str(v)
    except Exception:  # pynvml absent or NVML unusable: fall back to nvidia-smi
        pass
    import subprocess

    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.stdout.strip().splitlines()
    return first[0].strip() if first else None


def environment(dev: Device, command: str, *, quick: bool) -> Environment:
    """The environment block of a profile."""
    torch = require_torch()
    capability = driver = None
    if dev.kind == "cuda":
        major, minor = torch.cuda.get_device_capability(dev.torch_device)
        capability = f"{major}.{minor}"
        driver = _driver_version()
    return Environment(
        device=dev.kind,
        device_name=dev.name,
        device_count=dev.count,
        device_memory_bytes=device_memory(dev),
        compute_capability=capability,
        driver_version=driver,
        cuda_version=getattr(torch.version, "cuda", None),
        torch_version=str(torch.__version__),
        python_version=sys.version.split()[0],
        cpu_model=cpu_model(),
        cpu_threads=int(torch.get_num_threads()),
        host_memory_bytes=host_memory_bytes(),
        platform=platform.platform(),
        chipswitch_version=__version__,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        command=command,
        timing=timing_method(dev),
        quick=quick,
    )
