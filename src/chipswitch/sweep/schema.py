"""The sweep file, exactly as written on disk (YAML; units in the keys, as in the catalog).

A sweep names the axes of a design-space grid (models, chips and what-if chips, chip counts,
global batch, sequence length, precision, tokens to train, prices), what to rank by
(objective, all-in) under which limits (constraints), and optionally the failure rate.
`chipswitch.sweep.grid` resolves it against the catalog and expands it to points.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chipswitch._schema import StrictModel
from chipswitch.catalog.files import CHIP_RANGES
from chipswitch.parallel.enumerate import MAX_GLOBAL_BATCH, MAX_SEQ, MAX_WORKERS

Objective = Literal["time", "cost", "energy"]
PrecisionName = Literal["bf16", "fp8"]

#: Most values one range may expand to (a typo such as `factor: 1.0001` is an error, not a hang).
MAX_RANGE_VALUES = 4096
#: Largest value of each integer axis: what the plan search takes (`parallel.enumerate`).
AXIS_MAX = {
    "chip_counts": MAX_WORKERS,
    "seq_len": MAX_SEQ,
    "global_batch": MAX_GLOBAL_BATCH,
    "global_batch_tokens": MAX_GLOBAL_BATCH * MAX_SEQ,
}
#: A what-if `scale` factor outside this range is a typo, not a chip.
SCALE_RANGE = (1e-6, 1e6)


class IntRange(StrictModel):
    """Integers from `start` to `stop` (inclusive): geometric with `factor`, else linear `step`.

    `{start: 64, stop: 8192, factor: 2}` is 64, 128, ..., 8192; `{start: 1024, stop: 4096,
    step: 1024}` is 1024, 2048, 3072, 4096. Geometric values are rounded to integers.
    """

    start: int = Field(ge=1)
    stop: int = Field(ge=1)
    factor: float | None = Field(default=None, gt=1)
    step: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> IntRange:
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop}) is below start ({self.start})")
        if (self.factor is None) == (self.step is None):
            raise ValueError("give exactly one of factor (geometric) or step (linear)")
        n = self._count()
        if n > MAX_RANGE_VALUES:
            raise ValueError(f"range expands to {n:,} values; at most {MAX_RANGE_VALUES}")
        return self

    def _count(self) -> int:
        if self.step is not None:
            return (self.stop - self.start) // self.step + 1
        if self.factor is None:
            return 0
        return math.floor(math.log(self.stop / self.start, self.factor) + 1e-9) + 1

    def values(self) -> list[int]:
        if self.step is not None:
            return list(range(self.start, self.stop + 1, self.step))
        if self.factor is None:
            return []
        out: list[int] = []
        for i in range(self._count()):
            v = round(self.start * self.factor**i)
            if v <= self.stop and (not out or v != out[-1]):
                out.append(v)
        return out


def _axis_kind(v: Any) -> str:
    if isinstance(v, dict | IntRange):
        return "range"
    return "list" if isinstance(v, list) else "value"


#: One integer, a list, or a range; tagged so an error names only the form that was written.
IntAxis = Annotated[
    Annotated[int, Tag("value")]
    | Annotated[list[int], Tag("list")]
    | Annotated[IntRange, Tag("range")],
    Discriminator(_axis_kind),
]


def axis_values(axis: int | list[int] | IntRange) -> list[int]:
    """The values of an integer axis, in the order written (a range ascends)."""
    if isinstance(axis, IntRange):
        return axis.values()
    return [axis] if isinstance(axis, int) else list(axis)


class ChipOverrides(StrictModel):
    """Spec values of a what-if chip, in the catalog's file units (converted to SI at load).

    `scale_up_gb_per_s_per_direction` is per chip and per direction (the catalog's internal
    reading), so no direction convention applies.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    peak_bf16_dense_tflops: float | None = Field(default=None, gt=0)
    peak_fp16_dense_tflops: float | None = Field(default=None, gt=0)
    peak_fp8_dense_tflops: float | None = Field(default=None, gt=0)
    peak_fp32_tflops: float | None = Field(default=None, gt=0)
    hbm_capacity_gb: float | None = Field(default=None, gt=0)
    hbm_capacity_gib: float | None = Field(default=None, gt=0)
    hbm_bandwidth_tb_per_s: float | None = Field(default=None, gt=0)
    tdp_w: float | None = Field(default=None, gt=0)
    scale_up_gb_per_s_per_direction: float | None = Field(default=None, gt=0)
    scale_up_domain_chips: int | None = Field(default=None, ge=1)
    chips_per_node: int | None = Field(default=None, ge=1)
    scale_out_per_node_gbit_per_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_capacity(self) -> ChipOverrides:
        if self.hbm_capacity_gb is not None and self.hbm_capacity_gib is not None:
            raise ValueError("give hbm_capacity_gb (10^9) or hbm_capacity_gib (2^30), not both")
        return self

    def given(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.model_dump(exclude_none=True).items()}


class DerivedChip(StrictModel):
    """A what-if chip: a catalog chip with some values replaced (`overrides`, file units) or
    multiplied (`scale`, dimensionless factors keyed like `overrides`)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.+\-_]*$")
    base: str
    name: str | None = None
    overrides: ChipOverrides = Field(default_factory=ChipOverrides)
    scale: ChipOverrides = Field(default_factory=ChipOverrides)

    @model_validator(mode="after")
    def _check(self) -> DerivedChip:
        o, s = self.overrides.given(), self.scale.given()
        if not o and not s:
            raise ValueError("a derived chip needs overrides or scale (else list the base chip)")
        both = sorted(set(o) & set(s))
        if both:
            raise ValueError(f"{', '.join(both)}: given in both overrides and scale")
        for key, value in o.items():
            lo, hi = CHIP_RANGES.get(key, (1e-3, 1e8))
            if not lo <= value <= hi:
                raise ValueError(f"overrides.{key}: {value:g} is outside {lo:g} to {hi:g}")
        for key, value in s.items():
            if not SCALE_RANGE[0] <= value <= SCALE_RANGE[1]:
                lo, hi = SCALE_RANGE
                raise ValueError(f"scale.{key}: {value:g} is outside {lo:g} to {hi:g}")
        return self


ChipEntry = Annotated[
    Annotated[str, Tag("id")] | Annotated[DerivedChip, Tag("derived")],
    Discriminator(lambda v: "derived" if isinstance(v, dict | DerivedChip) else "id"),
]


class Constraints(StrictModel):
    """Limits a point must meet; every point is still computed and flagged, none is dropped."""

    deadline_days: float | None = Field(default=None, gt=0)
    budget_usd: float | None = Field(default=None, gt=0)
    max_chips: int | None = Field(default=None, ge=1)


class SweepFile(StrictModel):
    """A design-space sweep. Lists may be written as a single value.

    The grid is the product, in this order, of: models x chips x seq_len x global batch x
    chip counts x precision x tokens x the chip's prices (the row order of the output).
    """

    name: str | None = None
    models: list[str] = Field(min_length=1)
    chips: list[ChipEntry] = Field(min_length=1)
    chip_counts: IntAxis
    seq_len: IntAxis
    global_batch: IntAxis | None = Field(default=None, description="sequences per step")
    global_batch_tokens: IntAxis | None = Field(default=None, description="tokens per step")
    precision: PrecisionName | list[PrecisionName] = "bf16"
    tokens: float | list[float] = Field(description="tokens to train, e.g. 15e12")
    prices: dict[str, str | list[str]] = Field(
        default_factory=dict, description="chip id -> offering id[:price type], or a list"
    )
    objective: Objective = "cost"
    constraints: Constraints = Field(default_factory=Constraints)
    failure_rate: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="interruptions per 1,000 chip-days for every chip (default: each chip "
        "family's sourced rate; 0 turns failures off and the all-in columns equal the ideal)",
    )

    @field_validator("models", mode="before")
    @classmethod
    def _one_model(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @field_validator("chips", mode="before")
    @classmethod
    def _one_chip(cls, v: object) -> object:
        return [v] if isinstance(v, str | dict) else v

    @field_validator("tokens")
    @classmethod
    def _tokens(cls, v: float | list[float]) -> float | list[float]:
        vals = v if isinstance(v, list) else [v]
        if not vals or any(not (t > 0 and math.isfinite(t)) for t in vals):
            raise ValueError("tokens to train must be positive numbers, e.g. 15e12")
        return v

    @field_validator("chip_counts", "seq_len", "global_batch", "global_batch_tokens")
    @classmethod
    def _positive(
        cls, v: int | list[int] | IntRange | None, info: ValidationInfo
    ) -> int | list[int] | IntRange | None:
        if v is None:
            return v
        vals = axis_values(v)
        if not vals:
            raise ValueError("needs at least one value")
        if any(x < 1 for x in vals):
            raise ValueError("values must be positive integers")
        top = AXIS_MAX[str(info.field_name)]
        if max(vals) > top:
            raise ValueError(f"{max(vals):,} is over the maximum of {top:,}")
        return v

    @model_validator(mode="after")
    def _one_batch(self) -> SweepFile:
        if (self.global_batch is None) == (self.global_batch_tokens is None):
            raise ValueError(
                "give exactly one of global_batch (sequences per step) or global_batch_tokens "
                "(tokens per step)"
            )
        return self

    def precisions(self) -> list[PrecisionName]:
        return [self.precision] if isinstance(self.precision, str) else list(self.precision)

    def token_values(self) -> list[float]:
        return [float(t) for t in (self.tokens if isinstance(self.tokens, list) else [self.tokens])]
