"""Schemas of the catalog files, exactly as written on disk (units in the keys).

Units are converted to SI once, in `chipswitch.hardware.spec`, and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from chipswitch._schema import Confidence, Sourced, StrictModel

Vendor = Literal["nvidia", "aws", "google", "amd", "intel"]
Direction = Literal["bidirectional_total", "per_direction", "unstated"]

#: Plausible ranges of a chip's figures, in the file's units: a value outside is a typo or a
#: unit slip (a peak in FLOP/s written where TFLOP/s is meant), refused at load rather than
#: carried into every prediction. The upper bounds are about 1,000x today's largest chips
#: (B300: 2.5 PFLOP/s dense BF16, 288 GB HBM at 8 TB/s, 1.4 kW); 1e6 TFLOP/s is 1e18 FLOP/s.
CHIP_RANGES: dict[str, tuple[float, float]] = {
    "peak_bf16_dense_tflops": (1e-3, 1e6),
    "peak_fp16_dense_tflops": (1e-3, 1e6),
    "peak_fp8_dense_tflops": (1e-3, 1e6),
    "peak_fp32_tflops": (1e-3, 1e6),
    "hbm_capacity_gb": (1e-3, 1e6),
    "hbm_capacity_gib": (1e-3, 1e6),
    "hbm_bandwidth_tb_per_s": (1e-3, 1e4),
    "tdp_w": (1.0, 1e6),
    "scale_up_domain_chips": (1, 1_048_576),
    "chips_per_node": (1, 1_048_576),
    "scale_out_per_node_gbit_per_s": (1e-3, 1e8),
    "neuroncores_per_chip": (1, 1024),
    "matrix_unit": (1, 4096),  # systolic array edge: 128 or 256 today
    "megacore": (1, 64),  # TensorCores per device: 1 or 2 today
    "release_year": (1990, 2100),
}


def _in_range(name: str, value: float | None) -> None:
    lo, hi = CHIP_RANGES[name]
    if value is not None and not lo <= value <= hi:
        raise ValueError(f"{value:g} is outside the plausible range {lo:g} to {hi:g}")


def latest_date(text: str | None) -> str:
    """Latest ISO-like date mentioned in `text` ('2025-11-30 and 2026-01-21' -> '2026-01-21')."""
    found = re.findall(r"\d{4}(?:-\d{2})?(?:-\d{2})?", text or "")
    return max(found, default="")


class InterconnectFile(StrictModel):
    """Scale-up link of one chip (NVLink, NeuronLink, ICI, Infinity Fabric, RoCE)."""

    name: str
    bandwidth_gb_per_s: float | None = Field(gt=0, le=1e6, allow_inf_nan=False)
    direction: Direction
    source: list[str]
    note: str | None = None
    confidence: Confidence | None = None

    @model_validator(mode="after")
    def _check(self) -> InterconnectFile:
        if self.bandwidth_gb_per_s is None and not self.note:
            raise ValueError("an unset bandwidth needs a note saying why")
        return self


class ChipFile(StrictModel):
    """One accelerator. Peak FLOP/s are dense (no 2:4 sparsity) unless a key says otherwise."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    vendor: Vendor
    family: str = Field(description="calibration family, e.g. nvidia-hopper")
    kind: Literal["training", "inference"] = "training"
    aliases: list[str] = Field(default_factory=list)
    release_year: Sourced[int]
    peak_bf16_dense_tflops: Sourced[float]
    peak_fp16_dense_tflops: Sourced[float] | None = None
    peak_fp8_dense_tflops: Sourced[float]
    peak_fp32_tflops: Sourced[float] | None = None
    hbm_capacity_gb: Sourced[float] | None = None
    hbm_capacity_gib: Sourced[float] | None = None
    hbm_bandwidth_tb_per_s: Sourced[float]
    tdp_w: Sourced[float]
    power_limit_w: Sourced[float] | None = Field(
        default=None, description="power cap the chip is run at, below its TDP"
    )
    scale_up: InterconnectFile
    scale_up_domain_chips: Sourced[int]
    chips_per_node: Sourced[int]
    scale_out_per_node_gbit_per_s: Sourced[float]
    neuroncores_per_chip: Sourced[int] | None = None
    compute_units: Sourced[int] | None = Field(
        default=None,
        description="streaming multiprocessors (NVIDIA) or compute units (AMD) that run GEMM "
        "tiles in waves",
    )
    matrix_unit: Sourced[int] | None = Field(
        default=None,
        description="edge of the chip's systolic matrix units (TPU MXU: 128 means 128x128): "
        "GEMM contraction and output widths are processed in blocks of this many",
    )
    megacore: Sourced[int] | None = Field(
        default=None,
        description="TensorCores that the runtime drives as one device, each operation split "
        "across them (TPU v4 and v5p megacore: 2); unset or 1 for a single core per device",
    )
    on_chip_memory: str | None = None
    note: str | None = None

    @field_validator(*CHIP_RANGES, mode="after")
    @classmethod
    def _plausible(cls, item: Any, info: ValidationInfo) -> Any:
        if item is not None:
            _in_range(str(info.field_name), item.value)
        return item

    @model_validator(mode="after")
    def _one_capacity(self) -> ChipFile:
        if (self.hbm_capacity_gb is None) == (self.hbm_capacity_gib is None):
            raise ValueError(
                "give exactly one of hbm_capacity_gb (10^9) or hbm_capacity_gib (2^30)"
            )
        if self.vendor == "aws" and self.neuroncores_per_chip is None:
            raise ValueError("Trainium/Inferentia chips need neuroncores_per_chip")
        return self


PriceType = Literal[
    "on_demand",
    "spot",
    "capacity_block",
    "reserved_1yr",
    "reserved_3yr",
    "reserved_1yr_standard_no_upfront",
    "cud_1yr",
    "cud_3yr",
]


class PriceFile(StrictModel):
    """One published price. Exactly one of per-instance-hour or per-chip-hour is given."""

    type: PriceType
    usd_per_instance_hour: float | None = Field(default=None, gt=0, le=1e6, allow_inf_nan=False)
    usd_per_chip_hour: float | None = Field(default=None, gt=0, le=1e6, allow_inf_nan=False)
    region: str | None = None
    date: str | None = None
    source: list[str]
    note: str | None = None
    confidence: Confidence | None = None

    @model_validator(mode="after")
    def _check(self) -> PriceFile:
        given = [v for v in (self.usd_per_instance_hour, self.usd_per_chip_hour) if v is not None]
        if len(given) > 1:
            raise ValueError("give usd_per_instance_hour or usd_per_chip_hour, not both")
        if given and not self.date:
            raise ValueError("a price needs the date it was observed")
        if given and not self.source:
            raise ValueError("a price needs a source")
        if not given and not self.note:
            raise ValueError("an unpublished price needs a note saying why it is unset")
        # A day of slack: the file may be written in a time zone ahead of UTC.
        tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
        if latest_date(self.date) > tomorrow:
            raise ValueError(
                f"date {self.date!r} is in the future: a price is dated when it was observed"
            )
        return self


class OfferingFile(StrictModel):
    """A priced cloud offering: an instance type, or a per-chip-hour product (TPU)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    cloud: Literal["aws", "gcp", "azure", "other"]
    chip: str
    chips_per_instance: Sourced[int]
    network_gbit_per_s: Sourced[float] | None = None
    prices: list[PriceFile] = Field(min_length=1)
    note: str | None = None


class SourceFile(StrictModel):
    """One entry of the source registry (`sources.yaml`)."""

    title: str
    url: str | None = None
    repo: str | None = None
    type: str | None = None
    note: str | None = None
