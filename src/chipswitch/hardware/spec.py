"""Accelerator and offering specs in SI units (FLOP/s, bytes, bytes/s, watts, USD, seconds).

Built once from the catalog files (`chipswitch.catalog.files`); the engine reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from chipswitch import units
from chipswitch.catalog.files import ChipFile, OfferingFile, PriceType, latest_date

Precision = Literal["bf16", "fp16", "fp8", "fp32"]


@dataclass(frozen=True)
class Chip:
    """One accelerator package (a GPU, a TPU chip, a Trainium chip), in SI units.

    `scale_up_bandwidth` is per chip and per direction. Where the source does not say which
    direction its figure counts, it is taken as a bidirectional total (halved), the reading
    that NVIDIA and AMD use for their headline numbers; `scale_up_direction_assumed` says so.
    """

    id: str
    name: str
    vendor: str
    family: str
    kind: str
    aliases: tuple[str, ...]
    release_year: int | None
    peak_flops: dict[str, float | None]
    hbm_bytes: float
    hbm_bandwidth: float | None
    tdp_watts: float | None
    scale_up_name: str
    scale_up_bandwidth: float | None
    scale_up_direction_assumed: bool
    scale_up_domain: int | None
    chips_per_node: int | None
    scale_out_bandwidth_per_node: float | None
    neuroncores_per_chip: int | None
    sources: tuple[str, ...]
    unset: tuple[str, ...] = field(default=())
    power_limit_watts: float | None = None  # run below TDP (perf/system.py: sustained clocks)
    compute_units: int | None = None  # SMs / CUs: GEMM waves on some families (perf/compute.py)
    matrix_unit: int | None = None  # systolic array edge (TPU MXU), perf/compute.py
    megacore: int = 1  # TensorCores driven as one device (TPU v4/v5p), perf/system.py

    def peak(self, precision: Precision) -> float:
        """Dense peak FLOP/s at `precision`; fp16 stands in for bf16 where bf16 is absent (V100)."""
        value = self.peak_flops.get(precision)
        if value is None and precision == "bf16":
            value = self.peak_flops.get("fp16")
        if value is None and precision == "fp8":
            value = self.peak("bf16")  # no fp8 units: fp8 runs at the 16-bit rate
        if value is None:
            raise ValueError(f"{self.id} has no published {precision} peak")
        return value

    @classmethod
    def from_file(cls, f: ChipFile) -> Chip:
        unset: list[str] = []
        sources: set[str] = set()

        def val(name: str, scale: float) -> float | None:
            item = getattr(f, name)
            if item is None:
                return None
            sources.update(item.source)
            if item.value is None:
                unset.append(name)
                return None
            return float(item.value) * scale

        def ival(name: str) -> int | None:
            v = val(name, 1.0)
            return None if v is None else int(v)

        peaks = {
            "bf16": val("peak_bf16_dense_tflops", units.TFLOP),
            "fp16": val("peak_fp16_dense_tflops", units.TFLOP),
            "fp8": val("peak_fp8_dense_tflops", units.TFLOP),
            "fp32": val("peak_fp32_tflops", units.TFLOP),
        }
        hbm = val("hbm_capacity_gb", units.GB)
        if hbm is None:
            hbm = val("hbm_capacity_gib", units.GIB)
        if hbm is None:
            raise ValueError(f"{f.id}: HBM capacity is required")
        bw = val("hbm_bandwidth_tb_per_s", units.TB)
        su = f.scale_up
        sources.update(su.source)
        su_bw: float | None = None
        if su.bandwidth_gb_per_s is not None:
            su_bw = su.bandwidth_gb_per_s * units.GB
            if su.direction != "per_direction":
                su_bw /= 2.0
        else:
            unset.append("scale_up.bandwidth_gb_per_s")
        # read before `unset` is frozen below, so that an unset one is listed there
        power_limit, compute_units = val("power_limit_w", 1.0), ival("compute_units")
        matrix_unit, megacore = ival("matrix_unit"), ival("megacore")
        return cls(
            id=f.id,
            name=f.name,
            vendor=f.vendor,
            family=f.family,
            kind=f.kind,
            aliases=tuple(f.aliases),
            release_year=ival("release_year"),
            peak_flops=peaks,
            hbm_bytes=hbm,
            hbm_bandwidth=bw,
            tdp_watts=val("tdp_w", 1.0),
            scale_up_name=su.name,
            scale_up_bandwidth=su_bw,
            scale_up_direction_assumed=su.direction == "unstated",
            scale_up_domain=ival("scale_up_domain_chips"),
            chips_per_node=ival("chips_per_node"),
            scale_out_bandwidth_per_node=val("scale_out_per_node_gbit_per_s", units.GBIT),
            neuroncores_per_chip=ival("neuroncores_per_chip"),
            sources=tuple(sorted(sources)),
            unset=tuple(unset),
            power_limit_watts=power_limit,
            compute_units=compute_units,
            matrix_unit=matrix_unit,
            megacore=megacore or 1,
        )


@dataclass(frozen=True)
class Price:
    """One published price of an offering, per chip-second (USD/s)."""

    type: PriceType
    usd_per_chip_second: float | None
    region: str | None
    date: str | None
    sources: tuple[str, ...]
    note: str | None

    @property
    def usd_per_chip_hour(self) -> float | None:
        s = self.usd_per_chip_second
        return None if s is None else s * units.HOUR

    @property
    def sort_date(self) -> str:
        """Latest ISO-like date mentioned in `date` (e.g. '2025-11-30 and 2026-01-21')."""
        return latest_date(self.date)


@dataclass(frozen=True)
class Offering:
    """A priced cloud product of one chip type."""

    id: str
    name: str
    cloud: str
    chip: str
    chips_per_instance: int
    prices: tuple[Price, ...]
    note: str | None

    def price(self, type_: str | None = None) -> Price:
        """The newest published price of `type_` (default: on-demand, else any type)."""
        known = [p for p in self.prices if p.usd_per_chip_second is not None]
        if type_ is not None:
            chosen = [p for p in known if p.type == type_]
            if not chosen:
                types = sorted({p.type for p in known})
                raise ValueError(
                    f"offering {self.id} has no published '{type_}' price; "
                    f"it has: {', '.join(types)}"
                )
        else:
            chosen = [p for p in known if p.type == "on_demand"] or known
        if not chosen:
            raise ValueError(f"offering {self.id} has no published price")
        return max(chosen, key=lambda p: p.sort_date)

    @classmethod
    def from_file(cls, f: OfferingFile) -> Offering:
        n = f.chips_per_instance.value
        if n is None or n <= 0:
            raise ValueError(f"{f.id}: chips_per_instance must be a positive number")
        prices = []
        for p in f.prices:
            per_chip_hour: float | None
            if p.usd_per_chip_hour is not None:
                per_chip_hour = p.usd_per_chip_hour
            elif p.usd_per_instance_hour is not None:
                per_chip_hour = p.usd_per_instance_hour / n
            else:
                per_chip_hour = None
            prices.append(
                Price(
                    type=p.type,
                    usd_per_chip_second=None
                    if per_chip_hour is None
                    else per_chip_hour / units.HOUR,
                    region=p.region,
                    date=p.date,
                    sources=tuple(p.source),
                    note=p.note,
                )
            )
        return cls(
            id=f.id,
            name=f.name,
            cloud=f.cloud,
            chip=f.chip,
            chips_per_instance=int(n),
            prices=tuple(prices),
            note=f.note,
        )
