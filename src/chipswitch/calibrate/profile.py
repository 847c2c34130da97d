"""The calibration profile: what `chipswitch calibrate` measured on one device, as a file.

A profile holds measured curves (shape -> achieved FLOP/s or bytes/s) and the environment
they were measured in (device, driver, CUDA and torch versions, CPU, date, the exact command).
It is data, not code: `chipswitch.calibrate.apply` turns it into engine efficiencies. All
numbers are SI (seconds, FLOP/s, bytes, bytes/s). Unknown keys are errors (`extra="forbid"`).

FLOP conventions, chosen to match the engine's formulas (`chipswitch.perf.compute`):
- a GEMM (m x k) @ (k x n) is 2*m*n*k FLOP;
- causal attention forward is 2*T*ctx*(q_width + v_width) FLOP for T = batch*seq queries
  against ctx = seq/2 mean keys, and forward + backward is 3.5x that (the engine's
  backward = 2.5x forward for flash attention, Dao 2023 section 3.1);
- a copy moves 2x its size (bytes read + bytes written).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from chipswitch._io import atomic_write_text, read_text
from chipswitch._schema import StrictModel
from chipswitch._yaml import TOO_DEEP
from chipswitch.errors import CatalogFileError, ChipswitchError

SCHEMA_VERSION: Literal[1] = 1

DeviceKind = Literal["cuda", "cpu", "xla"]
BenchPrecision = Literal["bf16", "fp16", "fp8", "fp32"]
GemmOp = Literal["qkv", "out", "fc1", "fc2"]
GemmPhase = Literal["forward", "input_grad", "weight_grad"]
ElementwiseOp = Literal["rmsnorm", "layernorm", "residual_add", "swiglu", "gelu"]


class Environment(StrictModel):
    """Where and how the profile was measured."""

    device: DeviceKind
    device_name: str
    device_count: int = Field(ge=0)
    device_memory_bytes: float | None = Field(default=None, gt=0)
    compute_capability: str | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    torch_version: str
    python_version: str
    cpu_model: str
    cpu_threads: int = Field(ge=1, description="threads torch uses for CPU kernels")
    host_memory_bytes: float | None = Field(default=None, gt=0)
    platform: str
    chipswitch_version: str
    date: str = Field(description="UTC, ISO 8601")
    command: str = Field(description="the exact command line that produced the profile")
    timing: str = Field(description="how each point was timed")
    quick: bool = False


class MatmulPoint(StrictModel):
    """One GEMM (m x k) @ (k x n) of a transformer layer with hidden size `hidden`.

    For a linear layer y = x @ W^T with x (T x d_in), W (d_out x d_in): the forward GEMM is
    m=T, n=d_out, k=d_in; the input gradient dy @ W is m=T, n=d_in, k=d_out; the weight
    gradient dy^T @ x is m=d_out, n=d_in, k=T. All three have 2*T*d_in*d_out FLOP.
    """

    op: GemmOp
    phase: GemmPhase = "forward"
    hidden: int = Field(gt=0)
    tokens: int = Field(gt=0, description="T, tokens per micro-batch")
    m: int = Field(gt=0)
    n: int = Field(gt=0)
    k: int = Field(gt=0)
    precision: BenchPrecision
    seconds: float = Field(gt=0, description="median time of one GEMM")
    flops_per_s: float = Field(gt=0)

    @property
    def flops(self) -> float:
        return 2.0 * self.m * self.n * self.k


class BandwidthPoint(StrictModel):
    """A device-to-device copy of `size_bytes`; it moves 2*size_bytes (read + write)."""

    op: Literal["copy"] = "copy"
    size_bytes: float = Field(gt=0)
    seconds: float = Field(gt=0)
    bytes_per_s: float = Field(gt=0, description="bytes read + bytes written per second")


class AttentionPoint(StrictModel):
    """Causal scaled_dot_product_attention, forward + backward, one call."""

    batch: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    seq: int = Field(gt=0)
    precision: BenchPrecision
    seconds: float = Field(gt=0, description="median forward + backward time")
    flops: float = Field(gt=0, description="forward + backward FLOP, engine convention")
    flops_per_s: float = Field(gt=0)


class ElementwisePoint(StrictModel):
    """A memory-bound op over (tokens x width); `bytes` as the engine counts them."""

    op: ElementwiseOp
    tokens: int = Field(gt=0)
    width: int = Field(gt=0)
    precision: BenchPrecision
    bytes: float = Field(gt=0, description="minimal bytes read + written (fused kernel)")
    seconds: float = Field(gt=0)
    bytes_per_s: float = Field(gt=0)


class CollectivePoint(StrictModel):
    """An all-reduce across `world_size` devices (nccl-tests conventions)."""

    op: Literal["all_reduce"] = "all_reduce"
    world_size: int = Field(ge=2)
    size_bytes: float = Field(gt=0)
    seconds: float = Field(gt=0)
    algbw: float = Field(gt=0, description="size / time, bytes/s")
    busbw: float = Field(gt=0, description="algbw * 2(n-1)/n, comparable to link bandwidth")


class LayerOverhead(StrictModel):
    """Host/framework time per transformer layer, forward + backward, with negligible math:
    (t(layers_hi) - t(layers_lo)) / (layers_hi - layers_lo) for a tiny model."""

    seconds_per_layer: float = Field(ge=0)
    layers_lo: int = Field(gt=0)
    layers_hi: int = Field(gt=0)
    hidden: int = Field(gt=0)
    seq: int = Field(gt=0)


class CalibrationProfile(StrictModel):
    """Everything one `chipswitch calibrate` run measured."""

    schema_version: Literal[1] = SCHEMA_VERSION
    environment: Environment
    chip_id: str | None = Field(
        default=None, description="catalog chip the device was matched to; null: not in catalog"
    )
    train_precision: BenchPrecision = Field(
        description="precision `chipswitch measure` trains in on this device (bf16 on GPU)"
    )
    matmul: list[MatmulPoint] = Field(default_factory=list)
    memory: list[BandwidthPoint] = Field(default_factory=list)
    attention: list[AttentionPoint] = Field(default_factory=list)
    elementwise: list[ElementwisePoint] = Field(default_factory=list)
    collectives: list[CollectivePoint] = Field(default_factory=list)
    layer_overhead: LayerOverhead | None = None
    notes: list[str] = Field(default_factory=list, description="what was skipped, and why")

    def matmul_points(self, precision: str) -> list[MatmulPoint]:
        return [p for p in self.matmul if p.precision == precision]


def save_profile(profile: CalibrationProfile, path: Path) -> None:
    atomic_write_text(path, profile.model_dump_json(indent=2) + "\n", make_parents=True)


def load_profile(path: Path) -> CalibrationProfile:
    """Read a profile; a missing, malformed or misspelt file raises ChipswitchError."""
    try:
        text = read_text(path)
    except CatalogFileError as exc:
        raise ChipswitchError(f"calibration profile {exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChipswitchError(f"calibration profile {path}: not JSON ({exc.msg})") from None
    except RecursionError:
        raise ChipswitchError(f"calibration profile {path}: {TOO_DEEP}") from None
    try:
        return CalibrationProfile.model_validate(raw)
    except RecursionError:
        raise ChipswitchError(f"calibration profile {path}: {TOO_DEEP}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ChipswitchError(
            f"calibration profile {path}: {where}: {first['msg']} "
            f"({exc.error_count()} problem(s); write it with `chipswitch calibrate`)"
        ) from None
