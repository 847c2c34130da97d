"""Request bodies of the HTTP API: typed, strict (unknown keys are errors), finite numbers.

Field names follow the CLI's options (`--global-batch` -> `global_batch`, `--seq` -> `seq`).
Static bounds here keep the OpenAPI schema honest; the app's `Limits` may be tighter.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chipswitch.catalog.files import PriceType
from chipswitch.decide.scenario import DEFAULT_SCENARIO

Precision = Literal["bf16", "fp8"]
Objective = Literal["npv", "risk", "cost", "compute"]


class _Request(BaseModel):
    """Strict: `true` is not a chip count, "64" is not a number (an integer may stand for a
    float); NaN and infinities are refused, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class Job(_Request):
    """One training job: a model, a chip count and the step's batch."""

    model: str = Field(
        min_length=1, max_length=128, description="model id or alias (GET /api/models)"
    )
    chips: int = Field(ge=1, le=1_048_576, description="number of chips")
    global_batch: int = Field(ge=1, le=1_048_576, description="sequences per step")
    seq: int = Field(ge=1, le=1_048_576, description="tokens per sequence")
    precision: Precision = Field(default="bf16", description="GEMM precision")


class PlanRequest(Job):
    """`chipswitch plan`: every valid plan on one chip, the best ones, cost and front."""

    hardware: str = Field(min_length=1, max_length=128, description="chip id or alias")
    tokens: float | None = Field(
        default=None, gt=0, le=1e20, description="tokens to train: adds time, cost, energy"
    )
    price: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[a-z0-9][a-z0-9._\-]*(:[a-z0-9_]+)?$",
        description="offering id, optionally ':type' (aws-p5:capacity_block)",
    )
    top: int = Field(default=5, ge=1, le=100, description="plans to return")
    pareto: bool = Field(default=True, description="with tokens: best plan at 1/4x..4x chips")
    failure_rate: float | None = Field(
        default=None,
        ge=0,
        le=1e6,
        description="job interruptions per 1,000 chip-days (0: none); default: the chip "
        "family's sourced rate or a labelled prior (plan --failure-rate)",
    )
    checkpoint_interval_min: float | None = Field(
        default=None,
        gt=0,
        le=1e7,
        description="minutes of training between checkpoints; default: Daly's optimum",
    )
    storage_bandwidth_gb_per_s: float | None = Field(
        default=None,
        gt=0,
        le=1e9,
        description="checkpoint write bandwidth of the whole job, GB/s; default: 0.122 per chip",
    )


class ExportRequest(Job):
    """`chipswitch export`: the best plan (or `plan`) as a framework's run configuration."""

    hardware: str = Field(min_length=1, max_length=128, description="chip id or alias")
    framework: Literal["megatron", "torchtitan", "maxtext", "neuronx-distributed"] = Field(
        description="target framework"
    )
    plan: str | None = Field(
        default=None,
        max_length=200,
        description="export this plan instead of searching ('TP8 PP4 DP32 mb1 ZeRO-1 "
        "recompute=selective'); its TP x PP x DP x CP must equal chips",
    )


class CompareRequest(Job):
    """`chipswitch compare`: the same job on each chip, days and USD to train."""

    tokens: float = Field(gt=0, le=1e20, description="tokens to train")
    hardware: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="chip ids or aliases (default: every catalog chip)",
    )
    price_type: PriceType = Field(
        default="on_demand", description="price type; each chip at its cheapest offering"
    )


class DecideRequest(_Request):
    """`chipswitch decide`: a shipped scenario by name, or a scenario mapping."""

    scenario: str | dict[str, Any] = Field(
        default=DEFAULT_SCENARIO,
        description="name of a shipped scenario (GET /api/scenarios) or the scenario itself",
    )
    samples: int = Field(default=20_000, ge=100, le=200_000, description="Monte Carlo samples")
    seed: int = Field(default=0, ge=0, le=2**63 - 1, description="seed of the generator")
    objective: Objective | None = Field(default=None, description="default: the scenario's")
    set: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="KEY=VALUE overrides of scenario values, as `chipswitch decide --set`",
    )
    pair: list[str] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="the two options the analyses explain (default the scenario's `compare`)",
    )
    lhs: bool = Field(default=False, description="Latin hypercube sampling")


class ErrorBody(BaseModel):
    """Every 4xx answer the API itself writes (FastAPI's own 422s have a list in detail)."""

    detail: str
    suggestions: list[str] | None = None
    limit: str | None = None
    problems: list[str] | None = None
