"""The decision scenario: what a lab weighing a chip-tied investment writes down (YAML).

Structure follows decision_research.md section 6.2 (inputs) and 6.6 (the seed scenario).
Every number is a `Quantity`: a point, a `"lo to hi"` 90% interval or a named distribution
(`chipswitch.decide.dists`), optionally wrapped with where it comes from:

    cash_usd: {value: 3.0e9 to 7.0e9, assumption: "raised to date minus past losses"}

Units are in the keys (`_usd`, `_per_year`, `_months`); money is nominal USD, time in months
from the decision date. Unknown keys are errors. `scenario_json_schema()` exports the schema
for editors (`data/scenario.schema.json`).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, Field, GetJsonSchemaHandler, ValidationError, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from chipswitch._schema import StrictModel
from chipswitch._yaml import format_validation_error, read_yaml
from chipswitch.decide.dateline import after
from chipswitch.decide.dists import INTERVAL_PATTERN, Dist, parse_value
from chipswitch.errors import CatalogFileError, ChipswitchError, UnknownNameError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SCENARIO_DIR = DATA_DIR / "scenarios"
SCHEMA_PATH = DATA_DIR / "scenario.schema.json"
DEFAULT_SCENARIO = "amazon-anthropic-2024"

Objective = Literal["npv", "cost", "compute", "risk"]
DATE_PATTERN = r"^\d{4}-\d{2}(-\d{2})?$"
KEY_PATTERN = r"^[a-z][a-z0-9_\-]*$"


# -- sourced uncertain numbers -----------------------------------------------------------------


class Quantity(StrictModel):
    """An uncertain number and where it comes from.

    Short forms: `4.0e9`, `"3e9 to 7e9"` (90% interval), `{dist: pert, min:, mode:, max:}`.
    Long form: `{value: <short form>, source: ...}` or `{value: ..., assumption: ...}`.
    """

    value: Dist
    source: str | None = Field(default=None, description="where the number comes from")
    assumption: str | None = Field(default=None, description="why this modelling choice")
    derived: str | None = Field(default=None, description="arithmetic on sourced numbers")
    date: str | None = Field(
        default=None,
        pattern=DATE_PATTERN,
        description="date of the newest source behind the number (YYYY-MM or YYYY-MM-DD); "
        "after the decision date it is hindsight",
    )

    lower: ClassVar[float] = -math.inf
    upper: ClassVar[float] = math.inf
    lower_open: ClassVar[bool] = False
    point_only: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _wrap(cls, data: Any) -> Any:
        if isinstance(data, BaseModel):
            return data
        if isinstance(data, dict) and "value" in data:
            out = dict(data)
            out["value"] = parse_value(out["value"])
            return out
        if isinstance(data, dict) and "dist" not in data:
            return data  # let pydantic name the missing `value` and any unknown keys
        return {"value": parse_value(data)}

    @model_validator(mode="after")
    def _check(self) -> Quantity:
        for x in self.value.stated():
            too_low = x <= self.lower if self.lower_open else x < self.lower
            if too_low or x > self.upper or not math.isfinite(x):
                raise ValueError(f"{x:g} is outside the allowed range {self.range_text()}")
        if self.point_only and not self.value.is_point:
            raise ValueError("must be a single number, not a distribution")
        return self

    @classmethod
    def range_text(cls) -> str:
        lo = "(" if cls.lower_open else "["
        return f"{lo}{cls.lower:g}, {cls.upper:g}]"

    @property
    def sourced(self) -> bool:
        return bool(self.source or self.assumption or self.derived)

    @property
    def basis(self) -> str:
        """'source: ...', 'assumption: ...', 'derived: ...' or 'unsourced'."""
        for key in ("source", "derived", "assumption"):
            text = getattr(self, key)
            if text:
                return f"{key}: {text}"
        return "unsourced"

    def median(self) -> float:
        return self.clip(self.value.quantile(0.5))

    def clip(self, x: float) -> float:
        lo = math.nextafter(self.lower, math.inf) if self.lower_open else self.lower
        return min(max(x, lo), self.upper)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        long_form = dict(handler.resolve_ref_schema(handler(core_schema)))
        props = dict(long_form["properties"])
        number: dict[str, Any] = {"type": "number"}
        if math.isfinite(cls.lower):
            number["exclusiveMinimum" if cls.lower_open else "minimum"] = cls.lower
        if math.isfinite(cls.upper):
            number["maximum"] = cls.upper
        interval = {
            "type": "string",
            "pattern": INTERVAL_PATTERN,
            "description": "a number, or 'lo to hi': a 90% interval (lognormal when lo > 0)",
        }
        short = [number, interval] if cls.point_only else [number, interval, props["value"]]
        props["value"] = {"anyOf": short}
        long_form["properties"] = props
        return {"anyOf": [*short, long_form], "description": cls.__doc__ or ""}


class Real(Quantity):
    """Any real number."""


class NonNegative(Quantity):
    """A number >= 0."""

    lower: ClassVar[float] = 0.0


class Positive(Quantity):
    """A number > 0."""

    lower: ClassVar[float] = 0.0
    lower_open: ClassVar[bool] = True


class Fraction(Quantity):
    """A fraction in [0, 1]."""

    lower: ClassVar[float] = 0.0
    upper: ClassVar[float] = 1.0


class Probability(Fraction):
    """A probability in [0, 1]."""


class Margin(Quantity):
    """A margin: at most 1 (may be negative)."""

    upper: ClassVar[float] = 1.0


class Setting(Quantity):
    """A fixed positive number (not a distribution)."""

    lower: ClassVar[float] = 0.0
    lower_open: ClassVar[bool] = True
    point_only: ClassVar[bool] = True


class Coefficient(StrictModel):
    """A correlation between two uncertain inputs (normal-score correlation of the copula)."""

    between: tuple[str, str]
    rho: float = Field(ge=-1.0, le=1.0)
    source: str | None = None
    assumption: str | None = None


# -- the sections --------------------------------------------------------------------------------


class Company(StrictModel):
    """Finances at the decision date (decision_research.md 6.2 'Financing', 6.6 'company')."""

    cash_usd: NonNegative = Field(description="cash on hand at the decision date, USD")
    revenue_run_rate_usd_per_year: NonNegative = Field(
        description="annualised revenue at the decision date, USD/yr"
    )
    revenue_growth_per_year: Positive = Field(description="revenue multiplier per year (x/yr)")
    gross_margin: Margin = Field(description="gross margin on revenue (inference COGS)")
    other_burn_usd_per_year: NonNegative = Field(
        description="staff and other operating spend, excluding training compute and COGS, USD/yr"
    )
    other_burn_growth_per_year: Positive = Field(description="multiplier per year (x/yr)")
    next_round_post_money_usd: Positive = Field(
        description="post-money valuation of the next priced round (notes convert at it), USD"
    )
    next_round_month: NonNegative = Field(description="months until the next priced round")
    next_round_amount_usd: NonNegative | None = Field(
        default=None, description="cash the next round brings under every option, USD"
    )
    min_runway_months: NonNegative = Field(description="runway the lab wants to keep, months")
    bridge_capacity_usd: NonNegative = Field(
        description="cash a bridge round can bring over the horizon when cash runs out, USD"
    )
    bridge_discount: Fraction = Field(
        description="bridge price: discount to the next round's post-money valuation"
    )


class ModelRun(StrictModel):
    """A model shape the roadmap trains, with the run layout the performance engine plans."""

    model: str = Field(description="catalog model id, e.g. llama3.1-405b")
    flop_share: float = Field(gt=0, le=1, description="share of training FLOP on this shape")
    n_chips: int = Field(gt=0)
    global_batch: int = Field(gt=0, description="sequences per step")
    seq_len: int = Field(gt=0, description="tokens per sequence")
    precision: Literal["bf16", "fp8"] = "bf16"
    source: str | None = None
    assumption: str | None = None


class Roadmap(StrictModel):
    """Training compute the lab plans to buy (decision_research.md 6.2 'Performance and cost')."""

    baseline: str = Field(description="hardware key of the incumbent fleet (e.g. gpu)")
    training_flop_per_year: NonNegative = Field(
        description="training FLOP to deliver in the first year after the decision (FLOP/yr)"
    )
    flop_growth_per_year: Positive = Field(description="training FLOP multiplier per year")
    price_performance_gain_per_year: Positive = Field(
        default_factory=lambda: Positive(
            value=1.0, assumption="no hardware price-performance gain"
        ),
        description="FLOP per USD multiplier per year, applied to every chip",
    )
    experiment_overhead: Positive = Field(
        default_factory=lambda: Positive(
            value=1.0, assumption="training_flop_per_year includes the experiments"
        ),
        description="multiplies training_flop_per_year (total / final-run FLOP; Epoch 1.2-1.5)",
    )
    models: list[ModelRun] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Roadmap:
        total = sum(m.flop_share for m in self.models)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"models' flop_share must sum to 1 (they sum to {total:g})")
        return self


class Ramp(StrictModel):
    """Relative efficiency of a newly adopted chip: r(t) = r_inf - (r_inf - r0) exp(-t / tau)
    (decision_research.md 6.3), multiplying the performance engine's best-plan throughput."""

    r0: Positive = Field(description="relative efficiency at adoption")
    r_inf: Positive = Field(description="relative efficiency once the software has matured")
    tau_months: Positive = Field(description="time constant of the ramp, months")


class ChipChoice(StrictModel):
    """A chip the lab could train on, and what a chip-hour costs."""

    chip: str = Field(description="catalog chip id (e.g. h100-sxm, trn2)")
    offering: str | None = Field(default=None, description="catalog offering id (e.g. aws-p5)")
    price_type: str | None = Field(
        default=None, description="offering price type (on_demand, capacity_block, ...)"
    )
    price_usd_per_chip_hour: Positive | None = Field(
        default=None, description="price per chip-hour; overrides the offering's price"
    )
    price_multiplier: Positive | None = Field(
        default=None, description="uncertainty on the offering's catalog price (x)"
    )
    ramp: Ramp | None = Field(default=None, description="absent: the chip is already mature")
    goodput: Fraction | None = Field(
        default=None,
        description="share of paid chip time that trains (failures, restarts, checkpoints); "
        "absent: the all-in figure of chipswitch.planning.goodput for the chip's family",
    )
    max_share: Fraction | None = Field(
        default=None,
        description="most of the lab's training this chip can take (capacity); absent: 1",
    )

    @model_validator(mode="after")
    def _check(self) -> ChipChoice:
        if self.price_usd_per_chip_hour is None and self.offering is None:
            raise ValueError("give price_usd_per_chip_hour or an offering")
        if self.price_usd_per_chip_hour is not None and self.price_multiplier is not None:
            raise ValueError(
                "price_multiplier applies to an offering's price, not to a given price"
            )
        return self


class Financing(StrictModel):
    """The money an option brings (decision_research.md 5.1, 6.2)."""

    instrument: Literal["none", "equity", "convertible_note"]
    amount_usd: NonNegative = Field(default_factory=lambda: NonNegative(value=0.0))
    post_money_usd: Positive | None = Field(default=None, description="equity: post-money, USD")
    discount: Fraction | None = Field(default=None, description="note: discount to the round")
    cap_usd: Positive | None = Field(default=None, description="note: valuation cap, USD")
    interest_per_year: Fraction | None = Field(default=None, description="note: simple interest")
    p_close: Probability | None = Field(default=None, description="probability the money comes")
    close_month: NonNegative | None = Field(default=None, description="when it comes, months")

    @model_validator(mode="after")
    def _check(self) -> Financing:
        if self.instrument == "equity" and self.post_money_usd is None:
            raise ValueError("equity needs post_money_usd")
        if self.instrument != "equity" and self.post_money_usd is not None:
            raise ValueError("post_money_usd applies to equity only")
        note_terms = (self.discount, self.cap_usd, self.interest_per_year)
        if self.instrument != "convertible_note" and any(t is not None for t in note_terms):
            raise ValueError(
                "discount, cap_usd and interest_per_year apply to convertible_note only"
            )
        return self


class Commitment(StrictModel):
    """Compute tied to the money: a share of training on the investor's chip."""

    chip: str = Field(description="hardware key of the committed chip")
    share: Fraction = Field(description="share of training FLOP on it during the term")
    term_months: NonNegative = Field(description="commitment term, months")
    take_or_pay_fraction: Fraction | None = Field(
        default=None,
        description="minimum spend as a share of the committed spend planned at signing",
    )
    start_month: NonNegative | None = Field(default=None, description="months after the decision")
    exit: bool = Field(
        default=True,
        description="the terms allow leaving the committed chip at the review "
        "(paying exit_penalty_usd, the rest of take-or-pay and migration.fallback_cost_usd)",
    )
    review_month: NonNegative | None = Field(
        default=None,
        description="when the exit is considered, months; default six months after the port",
    )
    exit_penalty_usd: NonNegative | None = Field(
        default=None, description="paid to the investor on exit, USD"
    )


class Hedge(StrictModel):
    """Add a second vendor once the ramp-up risk resolves (decision_research.md 6.1 option D)."""

    review_month: NonNegative = Field(description="when the lab reviews the new chip, months")
    max_cost_ratio: Positive = Field(
        description="switch when committed chip's cost per FLOP / fallback's exceeds this"
    )
    share_after: Fraction = Field(description="share kept on the committed chip after a switch")
    fallback: str | None = Field(default=None, description="hardware key; default the baseline")
    switch_cost_usd: NonNegative | None = None


class Option(StrictModel):
    """One course of action: accept, decline, partial, hedge, ..."""

    id: str = Field(pattern=KEY_PATTERN)
    label: str
    financing: Financing
    commitment: Commitment | None = None
    hedge: Hedge | None = None

    @model_validator(mode="after")
    def _check(self) -> Option:
        if self.hedge is not None and self.commitment is None:
            raise ValueError("a hedge needs a commitment to hedge")
        return self


class Migration(StrictModel):
    """Cost of moving training to a new chip (decision_research.md 5.3, 6.2 'Migration')."""

    engineers: NonNegative
    months: NonNegative = Field(description="duration of the port, months")
    loaded_cost_usd_per_engineer_year: NonNegative
    schedule_slip_months: NonNegative = Field(description="delay of the next frontier model")
    abandon_cost_ratio: Positive = Field(
        description="abandon the port at the review when the committed chip's realised cost "
        "per FLOP exceeds this multiple of the best alternative's"
    )
    fallback_cost_usd: NonNegative = Field(description="cost of falling back when abandoned")


class Supply(StrictModel):
    """GPU supply-shortfall risk (decision_research.md 6.2 'gpu_shortfall')."""

    gpu_shortfall_probability: Probability
    shortfall_delay_months: NonNegative
    exposed: list[str] | None = Field(
        default=None, description="hardware keys hit by the shortfall; default the baseline"
    )


class EngineError(StrictModel):
    """How the performance engine's error is shared between chips."""

    shared_fraction: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="share of each chip's log-throughput error variance common to every chip",
    )
    max_plausible_mfu: float = Field(
        default=0.65,
        gt=0.0,
        le=1.0,
        description="engine MFU above this is flagged and its interval widened down to it",
    )
    source: str | None = None
    assumption: str | None = None


class Pilot(StrictModel):
    """Pay for a pilot on the committed chip, observe its efficiency with noise, then choose."""

    chip: str = Field(description="hardware key of the chip piloted")
    months: NonNegative = Field(description="duration of the pilot, months")
    cost_usd: NonNegative = Field(description="all-in cost of the pilot and of waiting, USD")
    noise_sd: Positive = Field(description="sd of the pilot's log-efficiency measurement")
    choose_between: tuple[str, str] | None = Field(
        default=None, description="option pair decided after the pilot; default `compare`"
    )


class Scenario(StrictModel):
    """A decision scenario (decision_research.md section 6)."""

    schema_version: Literal[1] = 1
    name: str = Field(pattern=KEY_PATTERN)
    title: str
    description: str = ""
    decision_date: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    horizon_months: Setting
    discount_rate_per_year: Fraction
    objective: Objective = "npv"
    compare: tuple[str, str] | None = Field(
        default=None, description="option pair for break-even values; default winner, runner-up"
    )
    company: Company
    roadmap: Roadmap
    hardware: dict[str, ChipChoice]
    options: list[Option] = Field(min_length=2)
    migration: Migration
    supply: Supply
    correlations: list[Coefficient] = Field(default_factory=list)
    engine_error: EngineError = Field(default_factory=lambda: EngineError())
    pilot: Pilot | None = None
    allow_hindsight: bool = Field(
        default=False,
        description="accept sources and catalog prices dated after the decision date",
    )
    risk_aversion: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="weight of CVaR 5% in the risk objective: (1 - w) E[V] + w CVaR_5%(V)",
    )

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        problems = list(_cross_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def horizon(self) -> int:
        return max(1, round(self.horizon_months.median()))

    def option(self, option_id: str) -> Option:
        for o in self.options:
            if o.id == option_id:
                return o
        raise KeyError(option_id)


def _cross_problems(sc: Scenario) -> Iterator[str]:
    """References between sections: hardware keys, option ids, correlation names."""
    hw = set(sc.hardware)
    for key in hw:
        if not _key_ok(key):
            yield f"hardware.{key}: key must match {KEY_PATTERN}"
    if sc.roadmap.baseline not in hw:
        yield f"roadmap.baseline: unknown hardware key '{sc.roadmap.baseline}'{_known(hw)}"
    elif sc.hardware[sc.roadmap.baseline].ramp is not None:
        yield "roadmap.baseline: the baseline chip is the incumbent and cannot have a ramp"
    ids = [o.id for o in sc.options]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        yield f"options: duplicate ids {', '.join(dup)}"
    for i, o in enumerate(sc.options):
        if o.commitment is not None and o.commitment.chip not in hw:
            key = o.commitment.chip
            yield f"options.{i}.commitment.chip: unknown hardware key '{key}'{_known(hw)}"
        if o.hedge is not None and o.hedge.fallback is not None and o.hedge.fallback not in hw:
            key = o.hedge.fallback
            yield f"options.{i}.hedge.fallback: unknown hardware key '{key}'{_known(hw)}"
    for key in sc.supply.exposed or []:
        if key not in hw:
            yield f"supply.exposed: unknown hardware key '{key}'{_known(hw)}"
    if sc.pilot is not None:
        if sc.pilot.chip not in hw:
            yield f"pilot.chip: unknown hardware key '{sc.pilot.chip}'{_known(hw)}"
        for name in sc.pilot.choose_between or ():
            if name not in ids:
                yield f"pilot.choose_between: unknown option '{name}'{_known(ids)}"
    if sc.compare is not None:
        for name in sc.compare:
            if name not in ids:
                yield f"compare: unknown option '{name}'{_known(ids)}"
        if sc.compare[0] == sc.compare[1]:
            yield "compare: needs two different options"
    names = {path: q for path, q in iter_quantities(sc)}
    if not sc.allow_hindsight:
        for path, q in names.items():
            if q.date is not None and after(q.date, sc.decision_date):
                yield (
                    f"{path}: source dated {q.date} is after the decision date "
                    f"{sc.decision_date} (hindsight); use a source from before it, move the fact "
                    "to the hindcast, or set allow_hindsight: true"
                )
    extra = {f"throughput.{k}" for k in hw}
    for i, c in enumerate(sc.correlations):
        for name in c.between:
            canon = canonical_name(sc, name)
            if canon in extra:
                continue
            if canon not in names:
                yield f"correlations.{i}.between: unknown input '{name}'"
            elif names[canon].value.is_point:
                yield f"correlations.{i}.between: '{name}' is a fixed value, not uncertain"
        if canonical_name(sc, c.between[0]) == canonical_name(sc, c.between[1]):
            yield f"correlations.{i}.between: an input cannot be correlated with itself"


def _key_ok(key: str) -> bool:
    import re

    return re.match(KEY_PATTERN, key) is not None


def _known(names: Any) -> str:
    return f" (known: {', '.join(sorted(names))})" if names else ""


# -- walking the tree ------------------------------------------------------------------------


def iter_quantities(sc: Scenario) -> Iterator[tuple[str, Quantity]]:
    """Every Quantity in the scenario with its input name (options named by id, not index)."""
    yield from _walk(sc, "")


def _walk(obj: Any, prefix: str) -> Iterator[tuple[str, Quantity]]:
    if isinstance(obj, Quantity):
        yield prefix, obj
        return
    if isinstance(obj, Scenario):
        for name in type(obj).model_fields:
            if name == "options":
                for o in obj.options:
                    yield from _walk(o, f"options.{o.id}")
            else:
                yield from _walk(getattr(obj, name), name)
        return
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), f"{prefix}.{name}" if prefix else name)
    elif isinstance(obj, dict):
        for key, val in obj.items():
            yield from _walk(val, f"{prefix}.{key}")
    elif isinstance(obj, list | tuple):
        for i, val in enumerate(obj):
            yield from _walk(val, f"{prefix}.{i}")


def canonical_name(sc: Scenario, name: str) -> str:
    """`options.0.x` -> `options.<id>.x`, so either spelling names the same input."""
    parts = name.split(".")
    if len(parts) > 1 and parts[0] == "options" and parts[1].isdigit():
        i = int(parts[1])
        if i < len(sc.options):
            parts[1] = sc.options[i].id
    return ".".join(parts)


def unsourced(sc: Scenario) -> list[str]:
    """Input names whose number has no source, derivation or assumption."""
    return [path for path, q in iter_quantities(sc) if not q.sourced]


# -- loading -------------------------------------------------------------------------------------


def _format(exc: ValidationError) -> list[str]:
    out: list[str] = []
    for line in format_validation_error(exc):
        # cross-section problems are raised at the top level but name their own field
        line = line.replace("(top level): Value error, ", "")
        out.extend(part.strip() for part in line.split("; ") if part.strip())
    return out


def parse_scenario(data: Any, origin: str = "<scenario>") -> Scenario:
    """Validate a parsed mapping; problems raise CatalogFileError naming the field path."""
    if not isinstance(data, dict):
        raise CatalogFileError(origin, ["expected a mapping at the top level"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise CatalogFileError(origin, _format(exc)) from None
    except RecursionError:
        raise CatalogFileError(origin, ["nested too deeply to be a scenario"]) from None


def scenario_path(name_or_path: str | Path | None = None) -> Path:
    """A file path, or the name of a shipped scenario (default: the seed scenario)."""
    if name_or_path is None:
        name_or_path = DEFAULT_SCENARIO
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    shipped = SCENARIO_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    err = UnknownNameError("scenario", str(name_or_path), shipped_scenarios())
    if err.suggestions:
        raise err
    known = ", ".join(shipped_scenarios())
    raise ChipswitchError(
        f"no scenario file or shipped scenario '{name_or_path}'; shipped scenarios: {known}"
    )


def shipped_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml") if not p.stem.endswith(".hindcast"))


def load_scenario_raw(path: Path) -> Any:
    """The parsed YAML of a scenario file; nesting too deep to parse is a one-line error."""
    try:
        return read_yaml(path)
    except RecursionError:
        raise CatalogFileError(str(path), ["nested too deeply to be a scenario"]) from None


def load_scenario(name_or_path: str | Path | None = None) -> Scenario:
    """Read and validate a scenario file (or a shipped scenario by name)."""
    path = scenario_path(name_or_path)
    return parse_scenario(load_scenario_raw(path), str(path))


def apply_settings(raw: Any, settings: Sequence[str]) -> Any:
    """`KEY=VALUE` overrides on a parsed scenario (`--set`): dotted keys as in the file,
    options by id (or index); VALUE is read as YAML (`2.5`, `"3 to 5"`, `true`). A number
    replaces the value and its source (the source no longer applies); setting a chip's
    `price_usd_per_chip_hour` drops its `price_multiplier` and the correlations naming it."""
    if not settings:
        return raw
    if not isinstance(raw, dict):
        raise CatalogFileError("--set", ["the scenario is not a mapping"])
    out = copy.deepcopy(raw)
    for item in settings:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ChipswitchError(f"--set {item!r}: expected KEY=VALUE")
        try:
            value = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError, ValueError, OverflowError):
            raise ChipswitchError(f"--set {key}: cannot read the value {text[:60]!r}") from None
        node = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            node = _child(node, part, ".".join(parts[: i + 1]))
        last = parts[-1]
        if isinstance(node, list):
            raise ChipswitchError(f"--set {key}: name a field inside the item")
        if not isinstance(node, dict):
            raise ChipswitchError(f"--set {key}: '{'.'.join(parts[:-1])}' is not a section")
        old = node.get(last)
        if isinstance(old, dict) and "value" in old and not isinstance(value, dict):
            node[last] = {"value": value, "assumption": f"set on the command line ({key})"}
        else:
            node[last] = value
        if last == "price_usd_per_chip_hour" and node.pop("price_multiplier", None) is not None:
            gone = ".".join([*parts[:-1], "price_multiplier"])
            out["correlations"] = [
                c
                for c in out.get("correlations") or []
                if not (isinstance(c, dict) and gone in (c.get("between") or []))
            ]
    return out


def _child(node: Any, part: str, where: str) -> Any:
    """`node[part]`: a mapping key, or a list item by index or by its `id`."""
    if isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and item.get("id") == part:
                return item
        if part.isdigit() and int(part) < len(node):
            return node[int(part)]
        ids = [str(item.get("id")) for item in node if isinstance(item, dict)]
        raise ChipswitchError(f"--set {where}: no item '{part}'{_known(ids)}")
    if isinstance(node, dict):
        if part not in node or node[part] is None:
            node[part] = {}
        return node[part]
    raise ChipswitchError(f"--set {where}: not a section")


# -- JSON Schema --------------------------------------------------------------------------------


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a scenario file, for editors and the yaml language server."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "chipswitch decision scenario"
    return schema


def schema_text() -> str:
    return json.dumps(scenario_json_schema(), indent=2, sort_keys=True) + "\n"


def write_json_schema(path: Path = SCHEMA_PATH) -> Path:
    """Regenerate `data/scenario.schema.json` (run after changing the schema)."""
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m chipswitch.decide.scenario
    print(write_json_schema())
