"""Vectorised Monte Carlo of every option of a scenario (docs/decide.md 'The model';
decision_research.md section 6.3).

`compile_scenario` resolves catalog names and prices as of the decision date, turns the
performance engine's throughput figures into cost per FLOP, and lists the uncertain inputs;
`simulate` maps a matrix of uniforms (samples x inputs) to per-option outcomes (samples x
options). Everything random enters through that matrix, so the same rows give common random
numbers across options and analyses.

Monthly grid: month t covers [t, t+1) after the decision date; rates are evaluated at t + 0.5.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from chipswitch import units
from chipswitch.catalog import Catalog
from chipswitch.decide import finance
from chipswitch.decide.dateline import after, month_of
from chipswitch.decide.dists import LogNormal, Normal, copula_uniforms, nearest_correlation
from chipswitch.decide.scenario import (
    ChipChoice,
    Fraction,
    Option,
    Quantity,
    Real,
    Scenario,
    canonical_name,
    iter_quantities,
)
from chipswitch.errors import CatalogFileError, ChipswitchError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Arr = FloatArray | float

SECONDS_PER_MONTH = units.YEAR / 12.0
BLOCK = 8192  # samples simulated together
PATH_SAMPLES = 10_000  # samples behind the monthly p5/p95 bands
Z90 = 1.2815515655446004  # an 80% interval spans +-z_0.90 standard deviations
SHARED_ERROR = "engine.shared_error"
MIN_GOODPUT = 0.05  # floor on a sampled all-in goodput
GOODPUT_RUN_S = 30 * units.DAY  # run length behind the goodput figure (it does not depend on it)

#: Per-option outcomes summarised with percentiles (money, compute, ownership, runway).
SUMMARY_METRICS = (
    "npv_usd",
    "cost_usd",
    "compute_cost_usd",
    "switching_cost_usd",
    "delay_months",
    "compute_delivered_flop",
    "ownership_sold",
    "bridge_usd",
    "terminal_value_usd",
    "runway_months",
)
#: Everything `simulate` returns per sample and option: the above plus 0/1 events.
METRICS = (*SUMMARY_METRICS, "cash_out", "compute_cut", "hedge_switched", "port_abandoned")


class ThroughputLike(Protocol):
    """What the decision engine reads from `chipswitch.planning.throughput.ThroughputEstimate`."""

    @property
    def tokens_per_s_per_chip(self) -> float: ...

    @property
    def interval(self) -> tuple[float, float]: ...

    @property
    def model_flops_per_token(self) -> float: ...


Override = float | FloatArray
ThroughputTable = Mapping[tuple[str, str], ThroughputLike]
"""(catalog model id, catalog chip id) -> the performance engine's best plan."""


# -- compiled scenario -------------------------------------------------------------------------


@dataclass(frozen=True)
class InputVar:
    """One column of the uniform matrix: an uncertain number or a yes/no event."""

    name: str
    group: str
    kind: Literal["dist", "event"]
    quantity: Quantity | None = None
    label: str = ""
    probability: Quantity | None = None

    def sample(self, u: FloatArray) -> FloatArray:
        """Values at probabilities `u`, clipped to the field's allowed range."""
        assert self.quantity is not None, "events have no values"
        return clip(self.quantity, self.quantity.value.ppf(u))


@dataclass(frozen=True)
class ChipPlan:
    """A hardware choice resolved against the catalog and the performance engine.

    The engine's throughput error on this chip is lognormal: ln(multiplier) = log_median +
    sigma (sqrt(f) z_shared + sqrt(1 - f) z_chip), f = engine_error.shared_fraction."""

    key: str
    chip_id: str
    chip_name: str
    seconds_per_flop: float
    catalog_price_usd_per_chip_hour: float | None
    price_note: str | None
    throughput: tuple[dict[str, object], ...]
    log_median: float
    sigma: float
    error: Quantity
    choice: ChipChoice
    implausible: bool = False
    time_lost: Quantity | None = None  # all-in goodput loss from `planning.goodput`

    @property
    def goodput_note(self) -> str:
        if self.choice.goodput is not None:
            return "the scenario's goodput"
        if self.time_lost is None:
            return "goodput 1 (no catalog: failures not modelled)"
        return f"all-in goodput from chipswitch.planning.goodput ({self.time_lost.basis})"


@dataclass(frozen=True)
class Compiled:
    scenario: Scenario
    chips: dict[str, ChipPlan]
    inputs: tuple[InputVar, ...]
    index: dict[str, int]
    name_of: dict[int, str]
    corr: FloatArray | None
    corr_repaired: bool
    notes: tuple[str, ...] = ()
    hindsight: tuple[str, ...] = ()
    shared_error: Quantity | None = None

    @property
    def horizon(self) -> int:
        return self.scenario.horizon

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.scenario.options)

    def uniforms(self, rng: np.random.Generator, n: int, lhs: bool = False) -> FloatArray:
        """n rows of correlated uniforms, one column per input (Gaussian copula)."""
        return copula_uniforms(rng, n, len(self.inputs), self.corr, lhs=lhs)

    def input(self, name: str) -> InputVar:
        return self.inputs[self.index[name]]

    @property
    def mature(self) -> tuple[str, ...]:
        """Hardware keys the lab runs without a port: every option may use them."""
        return tuple(k for k, p in self.chips.items() if p.choice.ramp is None)


def clip(q: Quantity, x: FloatArray) -> FloatArray:
    lo = math.nextafter(q.lower, math.inf) if q.lower_open else q.lower
    return np.clip(x, lo, q.upper)


def group_of(name: str) -> str:
    """Input group for value-of-information and reports (decision_research.md 6.4 'EVPPI')."""
    parts = name.split(".")
    head = parts[0]
    if head == "engine":
        return "engine error (shared)"
    if head in ("throughput", "reliability") or (
        head == "hardware" and ("ramp" in parts or "goodput" in parts)
    ):
        return f"{parts[1]} efficiency"
    if head == "hardware":
        return "chip prices" if "max_share" not in parts else "chip capacity"
    if head == "events":
        if parts[-1] == "gpu_shortfall":
            return "GPU supply"
        return "financing terms"
    if head == "options":
        return "commitment terms" if parts[2] in ("commitment", "hedge") else "financing terms"
    if head == "company":
        if parts[1].startswith("next_round"):
            return "valuation"
        if parts[1].startswith("revenue"):
            return "revenue"
        return "company finances"
    if head == "roadmap":
        return "compute roadmap"
    if head == "migration":
        return "migration"
    if head == "supply":
        return "GPU supply"
    return "discounting"


def compile_scenario(
    sc: Scenario, throughput: ThroughputTable, catalog: Catalog | None = None
) -> Compiled:
    """Resolve chips and offerings (prices as of the decision date), cost per FLOP from
    `throughput`, and the input list."""
    notes: list[str] = []
    hindsight = [
        f"{name}: source dated {q.date}"
        for name, q in iter_quantities(sc)
        if q.date is not None and after(q.date, sc.decision_date)
    ]
    chips = {}
    for key, choice in sc.hardware.items():
        plan, used_later = _chip_plan(sc, key, choice, throughput, catalog)
        chips[key] = plan
        if used_later:
            hindsight.append(used_later)
        if plan.implausible:
            mfus = [r.get("mfu") for r in plan.throughput]
            notes.append(
                f"engine MFU of {plan.chip_id} ({', '.join(f'{m:.2f}' for m in mfus if m)}) is "
                f"above the plausible {sc.engine_error.max_plausible_mfu:.2f}; its throughput "
                "interval was widened down to that MFU"
            )
    inputs: list[InputVar] = []
    name_of: dict[int, str] = {}
    for name, q in iter_quantities(sc):
        name_of[id(q)] = name
        if not q.value.is_point:
            inputs.append(InputVar(name, group_of(name), "dist", q, _label(name)))
    shared = _std_normal("systematic error of the performance engine, shared by every chip")
    if sc.engine_error.shared_fraction > 0 and any(p.sigma > 0 for p in chips.values()):
        name_of[id(shared)] = SHARED_ERROR
        inputs.append(
            InputVar(SHARED_ERROR, group_of(SHARED_ERROR), "dist", shared, "engine error, shared")
        )
    for key, plan in chips.items():
        if plan.time_lost is not None:
            name = f"reliability.{key}.time_lost"
            name_of[id(plan.time_lost)] = name
            label = f"{key} time lost to failures"
            inputs.append(InputVar(name, group_of(name), "dist", plan.time_lost, label))
        name = f"throughput.{key}"
        name_of[id(plan.error)] = name
        if plan.sigma > 0 and sc.engine_error.shared_fraction < 1:
            inputs.append(InputVar(name, group_of(name), "dist", plan.error, f"{key} engine error"))
    p_short = sc.supply.gpu_shortfall_probability
    inputs.append(
        InputVar("events.gpu_shortfall", "GPU supply", "event", None, "GPU shortfall", p_short)
    )
    for o in sc.options:
        if o.financing.p_close is not None:
            name, label = f"events.{o.id}.raise_closes", f"{o.id} raise closes"
            inputs.append(
                InputVar(name, "financing terms", "event", None, label, o.financing.p_close)
            )
    index = {v.name: i for i, v in enumerate(inputs)}
    corr, repaired = _correlation(sc, index)
    if repaired:
        notes.append("correlations were not jointly consistent; the nearest valid matrix was used")
    return Compiled(
        sc, chips, tuple(inputs), index, name_of, corr, repaired, tuple(notes), tuple(hindsight),
        shared,
    )  # fmt: skip


def _std_normal(text: str) -> Real:
    return Real(value=Normal(dist="normal", mean=0.0, sd=1.0), derived=text)


def _label(name: str) -> str:
    """Short display name: `hardware.trainium.ramp.r0` -> `trainium.ramp.r0`."""
    for prefix in ("hardware.", "options."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _correlation(sc: Scenario, index: dict[str, int]) -> tuple[FloatArray | None, bool]:
    if not sc.correlations:
        return None, False
    c = np.eye(len(index))
    for co in sc.correlations:
        a, b = (canonical_name(sc, n) for n in co.between)
        if a in index and b in index:
            c[index[a], index[b]] = c[index[b], index[a]] = co.rho
    return nearest_correlation(c)


def _catalog_price(
    sc: Scenario, key: str, choice: ChipChoice, chip_id: str, catalog: Catalog
) -> tuple[float | None, str | None, str | None]:
    """The offering's newest price of the type dated on or before the decision date
    (docs/decide.md 'Honest dates'); a later one only with `allow_hindsight`, reported."""
    where = f"hardware.{key}"
    if choice.offering is None:
        return None, None, None
    try:
        off = catalog.offering(choice.offering)
        if off.chip != chip_id:
            raise ValueError(f"offering {off.id} is for chip {off.chip}, not {chip_id}")
        newest = off.price(choice.price_type)
    except (ChipswitchError, ValueError) as exc:
        raise CatalogFileError(sc.name, [f"{where}.offering: {exc}"]) from None
    known = [
        p
        for p in off.prices
        if p.usd_per_chip_second is not None
        and p.type == newest.type
        and (m := month_of(p.date)) is not None
        and not after(m, sc.decision_date)
    ]
    if known:
        p = max(known, key=lambda x: month_of(x.date) or "")
        return p.usd_per_chip_hour, f"{off.id} {p.type} {p.date or ''}".strip(), None
    if choice.price_usd_per_chip_hour is not None:
        return None, None, None  # the scenario's own value stands
    if sc.allow_hindsight:
        note = f"{off.id} {newest.type} {newest.date or ''}".strip()
        return newest.usd_per_chip_hour, note, f"{where}: catalog price {note}"
    dates = ", ".join(sorted({str(p.date) for p in off.prices if p.type == newest.type}))
    raise CatalogFileError(
        sc.name,
        [
            f"{where}.offering: no '{newest.type}' price of {off.id} dated on or before the "
            f"decision date {sc.decision_date} (catalog dates: {dates}); give "
            f"{where}.price_usd_per_chip_hour with its source, or set allow_hindsight: true"
        ],
    )


def _chip_plan(
    sc: Scenario, key: str, choice: ChipChoice, throughput: ThroughputTable, catalog: Catalog | None
) -> tuple[ChipPlan, str | None]:
    where = f"hardware.{key}"
    chip_id, chip_name = choice.chip, choice.chip
    price: float | None = None
    note: str | None = None
    later: str | None = None
    if catalog is not None:
        try:
            chip = catalog.chip(choice.chip)
        except ChipswitchError as exc:
            raise CatalogFileError(sc.name, [f"{where}.chip: {exc}"]) from None
        chip_id, chip_name = chip.id, chip.name
        price, note, later = _catalog_price(sc, key, choice, chip_id, catalog)
    if choice.price_usd_per_chip_hour is None and price is None:
        raise CatalogFileError(
            sc.name, [f"{where}: no price (no catalog available for the offering)"]
        )
    if choice.price_usd_per_chip_hour is None and choice.price_multiplier is None and price:
        pass
    spf = 0.0
    rows: list[dict[str, object]] = []
    log_med, sigma = 0.0, 0.0
    ceiling = sc.engine_error.max_plausible_mfu
    implausible = False
    for m in sc.roadmap.models:
        est = throughput.get((m.model, chip_id))
        if est is None:
            raise ChipswitchError(f"no throughput estimate for model {m.model} on chip {chip_id}")
        tps, fpt = float(est.tokens_per_s_per_chip), float(est.model_flops_per_token)
        if not (tps > 0 and fpt > 0):
            raise ChipswitchError(f"throughput of {m.model} on {chip_id} is not positive")
        lo, hi = (float(x) for x in est.interval)
        spf += m.flop_share / (tps * fpt)
        s = 0.0
        if 0 < lo <= hi:
            log_med += m.flop_share * (0.5 * (math.log(lo) + math.log(hi)) - math.log(tps))
            s = (math.log(hi) - math.log(lo)) / (2.0 * Z90)
        mfu = getattr(est, "mfu", None)
        if isinstance(mfu, float) and mfu > ceiling:
            # widen: the interval's p10 reaches the plausible MFU (docs/decide.md 'Uncertainty')
            implausible = True
            s = math.hypot(s, math.log(mfu / ceiling) / Z90)
        sigma += m.flop_share * s
        rows.append(
            {
                "model": m.model,
                "chip": chip_id,
                "tokens_per_s_per_chip": tps,
                "interval": [lo, hi],
                "model_flops_per_token": fpt,
                "mfu": mfu,
                "plan": getattr(est, "plan", None),
                "implausible": isinstance(mfu, float) and mfu > ceiling,
            }
        )
    error = _std_normal(f"{key}'s own error of the performance engine (normal score)")
    lost = None
    if choice.goodput is None and catalog is not None:
        lost = _time_lost(sc, catalog, chip_id)
    plan = ChipPlan(
        key, chip_id, chip_name, spf, price, note, tuple(rows), log_med, sigma, error, choice,
        implausible, lost,
    )  # fmt: skip
    return plan, later


def _time_lost(sc: Scenario, catalog: Catalog, chip_id: str) -> Fraction:
    """Share of paid chip time lost to failures, restarts and checkpoints: 1 - the all-in
    goodput of `chipswitch.planning.goodput` (Daly 2006 restart-dump model with the chip
    family's failure rate; a wide prior where none is published, e.g. Trainium) for each
    roadmap run, weighted by FLOP share. The loss is lognormal with the goodput's 80% interval
    (1 - hi, 1 - lo) at its 10th and 90th percentiles."""
    from chipswitch.model.params import count_params
    from chipswitch.planning.goodput import checkpoint_bytes, goodput, load_reliability

    chip = catalog.chip(chip_id)
    rel = load_reliability().for_family(chip.family)
    log_med, sigma = 0.0, 0.0
    for m in sc.roadmap.models:
        state = checkpoint_bytes(count_params(catalog.model(m.model)).total)
        g = goodput(GOODPUT_RUN_S, m.n_chips, state, rel)
        lo, hi = g.goodput_interval
        loss, loss_lo, loss_hi = (max(1.0 - x, 1e-6) for x in (g.goodput, hi, lo))
        log_med += m.flop_share * math.log(loss)
        sigma += m.flop_share * max(math.log(loss_hi / loss_lo), 1e-6) / (2.0 * Z90)
    origin = (
        "prior: no published rate at scale" if rel.prior else "sources " + ", ".join(rel.sources)
    )
    return Fraction(
        value=LogNormal(dist="lognormal", median=math.exp(log_med), sigma=sigma),
        derived=f"1 - all-in goodput of {chip.family} at the roadmap's chip counts ({origin})",
    )


# -- drawing values ------------------------------------------------------------------------------


class Draws:
    """Values of every input for one block of uniforms, as (n, 1) columns or plain floats."""

    def __init__(
        self, cm: Compiled, u: FloatArray, overrides: Mapping[str, Override] | None = None
    ):
        self.cm = cm
        self.u = u
        self.n = u.shape[0]
        self.overrides = dict(overrides or {})
        self._cache: dict[str, Arr] = {}

    def of(self, q: Quantity | None, default: float = 0.0) -> Arr:
        if q is None:
            return default
        name = self.cm.name_of.get(id(q), "")
        if name in self.overrides:
            return self.pinned(name)
        if name in self._cache:
            return self._cache[name]
        i = self.cm.index.get(name)
        val: Arr = q.median() if i is None else clip(q, q.value.ppf(self.u[:, i]))[:, None]
        self._cache[name] = val
        return val

    def pinned(self, name: str) -> Arr:
        """An override: a float, or one value per row as an (n, 1) column."""
        v = self.overrides[name]
        return float(v) if isinstance(v, float | int) else np.asarray(v, dtype=np.float64)[:, None]

    def event(self, name: str, p: Arr) -> FloatArray:
        """1.0 where the event happens (u < p), else 0.0; (n, 1)."""
        if name in self.overrides:
            return np.broadcast_to(np.asarray(self.pinned(name), dtype=np.float64), (self.n, 1))
        i = self.cm.index[name]
        return (self.u[:, i : i + 1] < p).astype(np.float64)


# -- the model -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Per-sample results: metrics[name] has shape (samples, options)."""

    option_ids: tuple[str, ...]
    metrics: dict[str, FloatArray]
    paths: dict[str, dict[str, FloatArray]] = field(default_factory=dict)
    fleet: dict[str, FloatArray] = field(default_factory=dict)


def objective_values(out: Outcome, objective: str) -> FloatArray:
    """Higher is better (samples, options): value to existing holders (`npv`, and `risk`,
    whose ranking weighs in the CVaR), minus total cost, or compute delivered."""
    if objective in ("npv", "risk"):
        return out.metrics["npv_usd"]
    if objective == "cost":
        return -out.metrics["cost_usd"]
    return out.metrics["compute_delivered_flop"]


class _Common:
    """Arrays every option shares for one block of samples."""

    def __init__(self, cm: Compiled, d: Draws):
        sc = cm.scenario
        self.cm, self.d = cm, d
        self._ramps: dict[tuple[str, object], tuple[Arr, Arr]] = {}
        self._mature: dict[str, FloatArray] = {}
        self._ramped: dict[str, tuple[Arr, Arr]] = {}
        self._signing: _Common | None = None
        self._cheaper: dict[tuple[str, str], BoolArray] = {}
        self.h = cm.horizon
        self.month = np.arange(self.h, dtype=np.float64)
        self.month_end = self.month + 1.0
        self.mid = self.month + 0.5
        rate = d.of(sc.discount_rate_per_year)
        self.rate = rate
        pp = d.of(sc.roadmap.price_performance_gain_per_year, 1.0)
        self.decay = np.power(pp, -self.mid / 12.0)
        self.pp = pp
        self.k = {key: self._usd_per_flop(key) for key in cm.chips}
        self.demand = self._demand()
        self.demand_total = np.sum(self.demand, axis=1, keepdims=True)  # (n, 1) FLOP
        self.demand_mean = np.mean(self.demand, axis=1, keepdims=True)
        c = sc.company
        self.r0 = d.of(c.revenue_run_rate_usd_per_year)
        self.growth = d.of(c.revenue_growth_per_year)
        revenue = self.r0 / 12.0 * np.power(self.growth, self.mid / 12.0)
        other = (
            d.of(c.other_burn_usd_per_year)
            / 12.0
            * np.power(d.of(c.other_burn_growth_per_year), self.mid / 12.0)
        )
        self.operating = np.broadcast_to(d.of(c.gross_margin) * revenue - other, (d.n, self.h))
        self.v_next = d.of(c.next_round_post_money_usd)
        self.m_next = d.of(c.next_round_month)
        self.own_next: Arr = 0.0
        if c.next_round_amount_usd is not None:
            raised = d.of(c.next_round_amount_usd)
            self.operating = self.operating + self.lump(raised, self.m_next)
            self.own_next = finance.equity_ownership(raised, self.v_next)
        self.cash0 = _col(d.of(c.cash_usd), d.n)
        self.bridge_cap = _col(d.of(c.bridge_capacity_usd), d.n)
        self.bridge_price = self.v_next * (1.0 - d.of(c.bridge_discount))
        self.df_h = finance.discount_factor(float(self.h), rate)
        self.shortfall = d.event("events.gpu_shortfall", d.of(sc.supply.gpu_shortfall_probability))
        self.exposed = set(sc.supply.exposed or [sc.roadmap.baseline])
        self.caps = {key: self._cap(key) for key in cm.mature}
        costs = [
            np.broadcast_to(self.chip_cost(k, self.mid, 0.0), (d.n, self.h)) for k in cm.mature
        ]
        self.alt_cost = functools.reduce(np.minimum, costs)  # pairwise, without a stacked copy

    def cheaper(self, key: str, than: str) -> BoolArray:
        """Where mature chip `key` costs less per FLOP than mature chip `than` (n, months);
        computed once per block."""
        if (key, than) not in self._cheaper:
            less = self.chip_cost(key, self.mid, 0.0) < self.chip_cost(than, self.mid, 0.0)
            self._cheaper[key, than] = np.asarray(less)
        return self._cheaper[key, than]

    def signing_spend(self, key: str, o: Option) -> FloatArray:
        """USD per month the plan would spend on chip `key` at a full share, as both parties
        could compute it at signing: every input at its median, no event (1, months)."""
        if self._signing is None:
            mid = np.full((1, len(self.cm.inputs)), 0.5)
            self._signing = _Common(self.cm, Draws(self.cm, mid))
        m = self._signing
        cm_ = o.commitment
        adopt: Arr = 0.0
        if cm_ is not None and self.cm.scenario.hardware[key].ramp is not None:
            start = cm_.start_month.median() if cm_.start_month is not None else 0.0
            adopt = start + self.cm.scenario.migration.months.median()
        return np.asarray(m.demand * m.chip_cost(key, m.mid, float(adopt)), dtype=np.float64)

    def _cap(self, key: str) -> Arr:
        if key == self.cm.scenario.roadmap.baseline:
            return 1.0
        return self.d.of(self.cm.scenario.hardware[key].max_share, 1.0)

    def price(self, key: str) -> Arr:
        """USD per chip-hour: the given price, or the catalog price times its multiplier."""
        plan = self.cm.chips[key]
        name = f"hardware.{key}.price_usd_per_chip_hour"
        if name in self.d.overrides:
            return self.d.pinned(name)
        if plan.choice.price_usd_per_chip_hour is not None:
            return self.d.of(plan.choice.price_usd_per_chip_hour)
        assert plan.catalog_price_usd_per_chip_hour is not None
        return plan.catalog_price_usd_per_chip_hour * self.d.of(plan.choice.price_multiplier, 1.0)

    def multiplier(self, key: str) -> Arr:
        """The engine's error on chip `key` as a throughput multiplier: exp(log_median + sigma
        (sqrt(f) z_shared + sqrt(1 - f) z_chip)) (docs/decide.md 'Uncertainty')."""
        plan = self.cm.chips[key]
        f = self.cm.scenario.engine_error.shared_fraction
        z = math.sqrt(1.0 - f) * np.asarray(self.d.of(plan.error, 0.0))
        z = z + math.sqrt(f) * np.asarray(self.d.of(self.cm.shared_error, 0.0))
        return np.exp(plan.log_median + plan.sigma * z)

    def _usd_per_flop(self, key: str) -> Arr:
        """price / 3600 x chip-seconds per FLOP at the best plan / engine multiplier / goodput
        (decision_research.md 6.3 `c_v = price_v / (peak_v x MFU_v x 3600)`, with peak x MFU
        replaced by the engine's tokens/s x FLOP/token; goodput is the share of paid chip time
        that trains, Llama 3 405B kept > 90% on 16k H100s, arXiv:2407.21783 section 3.3.4)."""
        plan = self.cm.chips[key]
        good = self.goodput(key)
        return self.price(key) / units.HOUR * plan.seconds_per_flop / self.multiplier(key) / good

    def goodput(self, key: str) -> Arr:
        """Share of paid chip time that trains: the scenario's `goodput`, else the all-in
        figure of `chipswitch.planning.goodput` (1 - time lost, at least MIN_GOODPUT: the
        lognormal tail of a wide prior must not make a chip free of work), else 1."""
        plan = self.cm.chips[key]
        if plan.choice.goodput is not None:
            return self.d.of(plan.choice.goodput)
        lost = np.asarray(self.d.of(plan.time_lost, 0.0))
        return np.maximum(1.0 - lost, MIN_GOODPUT)

    def ramp(self, key: str, t: Arr, adopt: Arr) -> Arr:
        """r(t) = r_inf - (r_inf - r0) exp(-(t - start)/tau), r0 before `start`; 1 for a mature
        chip (decision_research.md 6.3, `MFU_trn(t) = MFU_gpu x [r_inf - (r_inf - r0)
        exp(-t/tau)]`). The ramp carries the new chip's software maturity; the engine's error
        term does not repeat it. A committed chip's ramp starts when the port is done."""
        ramp = self.cm.scenario.hardware[key].ramp
        if ramp is None:
            return 1.0
        if f"efficiency.{key}" in self.d.overrides:
            return self.d.pinned(f"efficiency.{key}")
        grid = t is self.mid
        ck = (key, adopt if isinstance(adopt, float) else id(adopt))
        hit = self._ramps.get(ck) if grid else None
        if hit is not None and hit[0] is adopt:
            return hit[1]
        r0, rinf, tau = self.d.of(ramp.r0), self.d.of(ramp.r_inf), self.d.of(ramp.tau_months)
        age = np.maximum(np.asarray(t) - adopt, 0.0)
        r = rinf - (rinf - r0) * np.exp(-age / tau)
        if grid:
            self._ramps[ck] = (adopt, r)
        return r

    def chip_cost(self, key: str, t: Arr, adopt: Arr) -> Arr:
        """USD per model FLOP on chip `key` at month t, adopted at month `adopt`."""
        decay = self.decay if t is self.mid else np.power(self.pp, -np.asarray(t) / 12.0)
        if self.cm.scenario.hardware[key].ramp is None:
            if t is self.mid:
                if key not in self._mature:
                    self._mature[key] = np.asarray(self.k[key] * decay)
                return self._mature[key]
            return self.k[key] * decay
        if t is not self.mid or isinstance(adopt, float):
            return self.k[key] * decay / self.ramp(key, t, adopt)
        hit = self._ramped.get(key)
        if hit is not None and hit[0] is adopt:
            return hit[1]
        cost = self.k[key] * decay / self.ramp(key, t, adopt)
        self._ramped[key] = (adopt, cost)  # holds `adopt`, so its id is not reused
        return cost

    def _demand(self) -> FloatArray:
        """Training FLOP to deliver per month: the first year's FLOP (times the experiment
        overhead, Epoch's development-cost ratio, decision_research.md 3.1) growing
        `flop_growth_per_year` (Epoch 4-5x/yr, 3.2). Demand is FLOP: what it costs follows
        from each option's chips."""
        rm = self.cm.scenario.roadmap
        d = self.d
        per_year = d.of(rm.training_flop_per_year) * d.of(rm.experiment_overhead)
        growth = np.power(d.of(rm.flop_growth_per_year), (self.mid - 0.5) / 12.0)
        # the year's FLOP spread so that months 0-11 sum to `per_year` exactly
        g = np.asarray(d.of(rm.flop_growth_per_year))
        first_year = np.where(np.abs(g - 1.0) < 1e-9, 12.0, (g - 1.0) / (g ** (1 / 12.0) - 1.0))
        return np.broadcast_to(np.asarray(per_year / first_year * growth), (d.n, self.h))

    def window(self, start: Arr, end: Arr) -> FloatArray:
        """Fraction of each month [t, t+1) inside [start, end)."""
        lo = np.maximum(self.month, start)
        inside = np.minimum(self.month_end, end) - lo
        return np.clip(inside, 0.0, 1.0, out=inside)

    def after(self, x: Arr) -> FloatArray:
        """Fraction of each month [t, t+1) after time x."""
        left = self.month_end - x
        return np.clip(left, 0.0, 1.0, out=left)

    def lump(self, amount: Arr, at: Arr) -> FloatArray:
        """`amount` paid in the month containing `at` (nothing if beyond the horizon)."""
        out = np.zeros((self.d.n, self.h))
        self.add_lump(out, amount, at)
        return out

    def add_lump(self, out: FloatArray, amount: Arr, at: Arr) -> None:
        """out += lump(amount, at), touching only the month containing `at` in each row (the
        other entries would gain + 0.0, which changes none that is not -0.0)."""
        n = self.d.n
        month = np.floor(np.broadcast_to(np.asarray(at, dtype=np.float64), (n, 1))[:, 0])
        rows = np.nonzero((month >= 0) & (month < self.h))[0]
        if rows.size:
            value = np.broadcast_to(np.asarray(amount, dtype=np.float64), (n, 1))[rows, 0]
            out[rows, month[rows].astype(np.intp)] += value


@dataclass
class _Mix:
    """Share of training on each chip per month, and the commitment's state."""

    shares: dict[str, FloatArray]
    k: str | None = None
    f: str | None = None
    s: Arr = 0.0
    a: Arr = 0.0
    port_end: Arr = 0.0
    term_end: Arr = 0.0
    in_term: Arr = 0.0
    cost_k: Arr = 0.0
    abandoned: Arr = 0.0
    m_ab: Arr = math.inf
    switched: Arr = 0.0
    review: Arr = 0.0
    ported: bool = False


def _free_allocation(
    c: _Common, free: FloatArray, fixed: dict[str, FloatArray]
) -> dict[str, FloatArray]:
    """Share `free` of training spread over the mature chips, cheapest realised cost per FLOP
    first, each up to its capacity (`max_share` less what the option already puts on it);
    the baseline takes the rest. Decline and every uncommitted share use every chip family."""
    keys = c.cm.mature
    n, h = free.shape
    if len(keys) == 1:
        return {keys[0]: free}
    base_key = c.cm.scenario.roadmap.baseline
    if len(keys) == 2:  # the common case, without a sort: the other chip first when cheaper
        other = keys[1] if keys[0] == base_key else keys[0]
        cheaper = c.cheaper(other, base_key)
        room = np.maximum(c.caps[other] - fixed.get(other, 0.0), 0.0)
        take = np.where(cheaper, np.minimum(room, free), 0.0)
        return {other: take, base_key: free - take}
    costs = np.stack([np.broadcast_to(c.chip_cost(k, c.mid, 0.0), (n, h)) for k in keys])
    caps = np.stack(
        [np.broadcast_to(np.maximum(c.caps[k] - fixed.get(k, 0.0), 0.0), (n, h)) for k in keys]
    )
    order = np.argsort(costs, axis=0, kind="stable")
    alloc = np.zeros_like(costs)
    left = free.copy()
    for r in range(len(keys)):
        idx = order[r : r + 1]
        cap = np.take_along_axis(caps, idx, axis=0)[0]
        take = np.minimum(cap, left)
        np.put_along_axis(alloc, idx, take[None], axis=0)
        left = left - take
    alloc[keys.index(base_key)] += left
    return {k: alloc[i] for i, k in enumerate(keys)}


def _mix(c: _Common, o: Option) -> _Mix:
    """Share of training on each chip per month (decision_research.md 6.3 compute cost
    `sum_t FLOP(t) [s_T(t) c_trn(t) + (1 - s_T(t)) c_gpu(t)]`), with the commitment term, the
    exit at the review when the committed chip's realised cost per FLOP is too high, a hedge
    switch (6.1 option D), the committed chip kept after the term only while it is the
    cheapest, and the uncommitted share on the cheapest mature chips."""
    sc, d = c.cm.scenario, c.d
    cm = o.commitment
    n, h = d.n, c.h
    if cm is None:
        return _Mix(_free_allocation(c, np.ones((n, h)), {}))
    k = cm.chip
    mix = _Mix({}, k=k, f=None, ported=sc.hardware[k].ramp is not None)
    mix.s = s = d.of(cm.share)
    mix.a = a = d.of(cm.start_month, 0.0)
    mix.term_end = term_end = a + d.of(cm.term_months)
    if mix.ported:  # the same array object across options when the terms start at 0
        months = d.of(sc.migration.months)
        mix.port_end = months if isinstance(a, float) and a == 0.0 else a + months
    else:
        mix.port_end = a
    mix.cost_k = c.chip_cost(k, c.mid, mix.port_end)
    mix.in_term = c.window(a, term_end)
    s_eff: FloatArray = np.broadcast_to(np.asarray(s, dtype=np.float64), (n, h))  # read-only
    if cm.exit:
        review = d.of(cm.review_month) if cm.review_month is not None else mix.port_end + 6.0
        mix.m_ab = review
        at = np.asarray(review) + 0.5
        ratio = c.chip_cost(k, at, mix.port_end) / _alt_cost_at(c, at)
        mix.abandoned = np.asarray(
            (ratio > d.of(sc.migration.abandon_cost_ratio)) & (np.asarray(s) > 0), dtype=np.float64
        ) * np.ones((n, 1))
        s_eff = s_eff * (1.0 - mix.abandoned * c.after(review))
    released: Arr = 0.0
    if o.hedge is not None:
        hg = o.hedge
        mix.f = hg.fallback or sc.roadmap.baseline
        mix.review = review = d.of(hg.review_month)
        at = np.asarray(review) + 0.5
        adopt_f = review if sc.hardware[mix.f].ramp is not None else 0.0
        ratio = c.chip_cost(k, at, mix.port_end) / c.chip_cost(mix.f, at, adopt_f)
        live = (1.0 - mix.abandoned * (np.asarray(mix.m_ab) <= review)) * (review < term_end)
        mix.switched = np.asarray(live * (ratio > d.of(hg.max_cost_ratio)), dtype=np.float64)
        released = mix.switched * np.maximum(s - d.of(hg.share_after), 0.0) * c.after(review)
    post = c.after(term_end)
    cheapest = np.multiply(mix.cost_k <= c.alt_cost, 1.0 - mix.abandoned)  # 0/1 x kept share
    s_k = np.maximum(s_eff - released, 0.0) * (mix.in_term + post * cheapest)
    np.minimum(s_k, 1.0, out=s_k)
    fixed = {k: s_k}
    if mix.f is not None:
        s_f = np.broadcast_to(np.asarray(released * (mix.in_term + post)), (n, h))
        fixed[mix.f] = fixed.get(mix.f, 0.0) + s_f
    free = 1.0 - functools.reduce(np.add, fixed.values())  # 1 - the fixed shares
    np.clip(free, 0.0, 1.0, out=free)
    shares = _free_allocation(c, free, fixed)
    for key, sh in fixed.items():
        shares[key] = shares.get(key, 0.0) + sh
    mix.shares = shares
    return mix


def _alt_cost_at(c: _Common, t: Arr) -> Arr:
    """Cheapest mature chip's cost per FLOP at month t."""
    costs = [np.asarray(c.chip_cost(k, t, 0.0), dtype=np.float64) for k in c.cm.mature]
    return np.asarray(np.minimum.reduce(costs), dtype=np.float64)


def _adopt(sc: Scenario, o: Option, key: str, mix: _Mix) -> Arr:
    """Month a chip enters the option's fleet (ramp start): a hedge fallback at the review."""
    if key == mix.k:
        return mix.port_end
    if o.hedge is not None and key == mix.f and sc.hardware[key].ramp is not None:
        return mix.review
    return 0.0


def _commitment_costs(c: _Common, o: Option, mix: _Mix) -> tuple[FloatArray, FloatArray, Arr]:
    """Port spend per month, lump sums per month (the exit's price: fallback engineering,
    exit penalty, stranded take-or-pay; a hedge's switch cost), and the schedule slip in
    months (decision_research.md 5.3 switching-cost recipe: port engineering + delay +
    stranded commitment + exit cost)."""
    sc, d = c.cm.scenario, c.d
    zero = np.zeros((d.n, c.h))
    if mix.k is None or o.commitment is None:
        return zero, zero, 0.0
    k, mig = mix.k, sc.migration
    spend_k = np.sum(c.demand * mix.cost_k * mix.in_term * mix.shares[k], axis=1, keepdims=True)
    # the minimum is a dollar figure fixed at signing: the committed share of the plan's spend
    # on the chip at the prior medians, over the (sampled) term
    planned = mix.s * np.sum(c.signing_spend(k, o) * mix.in_term, axis=1, keepdims=True)
    top = d.of(o.commitment.take_or_pay_fraction)
    stranded = np.maximum(top * planned - spend_k, 0.0)
    extras = c.lump(stranded, np.minimum(mix.term_end, c.h) - 1e-9)
    exit_price = d.of(o.commitment.exit_penalty_usd)
    port = zero
    slip: Arr = 0.0
    active = (np.asarray(mix.s) > 0).astype(np.float64)
    if mix.ported:
        monthly = d.of(mig.engineers) * d.of(mig.loaded_cost_usd_per_engineer_year) / 12.0
        port = active * monthly * c.window(mix.a, mix.port_end)
        exit_price = exit_price + d.of(mig.fallback_cost_usd)
        slip = d.of(mig.schedule_slip_months) * mix.s * active
    # extras holds no -0.0 (zeros and amounts >= +0), so the lumps can be added in place
    c.add_lump(extras, mix.abandoned * exit_price, mix.m_ab)
    if o.hedge is not None:
        c.add_lump(extras, mix.switched * d.of(o.hedge.switch_cost_usd), mix.review)
    return np.asarray(port), np.asarray(extras), slip


def _financing(c: _Common, o: Option) -> tuple[FloatArray, Arr]:
    """Cash in per month and ownership sold (decision_research.md 5.1, 6.3 'Equity'): equity
    sells amount / post-money; a note converts principal plus interest at the next round."""
    d = c.d
    fin = o.financing
    amount = d.of(fin.amount_usd)
    closes: Arr = 1.0
    if fin.p_close is not None:
        closes = d.event(f"events.{o.id}.raise_closes", d.of(fin.p_close))
    close_month = d.of(fin.close_month, 0.0)
    inflow = c.lump(closes * amount, close_month)
    own: Arr
    if fin.instrument == "equity":
        own = finance.equity_ownership(amount, d.of(fin.post_money_usd))
    elif fin.instrument == "convertible_note":
        cap = None if fin.cap_usd is None else d.of(fin.cap_usd)
        wait = np.maximum(np.asarray(c.m_next) - close_month, 0.0)
        rate = d.of(fin.interest_per_year)
        own = finance.note_ownership(amount, c.v_next, d.of(fin.discount), cap, rate, wait)
    else:
        own = 0.0
    return inflow, closes * np.asarray(own)


@dataclass
class _Cash:
    spend: FloatArray  # compute actually bought per month, USD
    delivered: FloatArray  # share of each month's planned FLOP bought
    bridge: FloatArray  # (n,) bridge cash raised, USD
    cash_end: FloatArray  # (n,) cash at the horizon (negative: unpaid bills)
    cash_out: FloatArray  # (n,) 1 where own cash did not cover the plan in some month
    cut: FloatArray  # (n,) 1 where compute was cut


def _cash(c: _Common, planned: FloatArray, other_net: FloatArray) -> _Cash:
    """Month by month: spend never exceeds cash plus what came in. When the plan does not fit,
    a bridge round brings up to `bridge_capacity_usd` (in total) at the bridge price; beyond
    it compute is cut (bought more slowly). Fixed bills (staff, port, exit) are paid first;
    if even they do not fit, cash goes negative (docs/decide.md 'Cash')."""
    n, h = planned.shape
    cash = c.cash0.copy()
    cap = c.bridge_cap.copy()
    need_t = np.ascontiguousarray(planned.T)  # months in rows: each step reads one row
    net_t = np.ascontiguousarray(other_net.T)
    spend_t = np.empty((h, n))
    short_t = np.empty((h, n))  # the month's shortfall before any bridge, >= 0
    bridge = np.zeros(n)
    avail = np.empty(n)
    b = np.empty(n)
    for t in range(h):
        need, short, spent = need_t[t], short_t[t], spend_t[t]
        np.add(cash, net_t[t], out=avail)
        np.subtract(need, avail, out=short)
        np.maximum(short, 0.0, out=short)
        np.minimum(short, cap, out=b)
        cap -= b
        bridge += b
        avail += b  # the funds of the month
        np.clip(avail, 0.0, need, out=spent)  # min(max(avail, 0), need)
        np.subtract(avail, spent, out=cash)
    flagged = np.any(short_t > 0, axis=0)
    spend = spend_t.T
    with np.errstate(invalid="ignore", divide="ignore"):
        delivered = np.where(planned > 0, spend / planned, 1.0)
    cut = np.any(delivered < 1.0 - 1e-12, axis=1)
    return _Cash(spend, delivered, bridge, cash, flagged.astype(np.float64), cut.astype(np.float64))


def _option(
    c: _Common, o: Option, fleet: bool = False
) -> tuple[dict[str, FloatArray], FloatArray, FloatArray | None]:
    """All metrics of one option for one block of samples (and its committed fleet when
    `fleet`: the hindcast reads it)."""
    sc, d = c.cm.scenario, c.d
    mix = _mix(c, o)
    cost_flop = np.asarray(0.0)  # USD per FLOP of the mix (n, months)
    for i, (key, share) in enumerate(mix.shares.items()):
        cost = mix.cost_k if key == mix.k else c.chip_cost(key, c.mid, _adopt(sc, o, key, mix))
        if i == 0:  # shares and costs are >= +0.0, so 0.0 + this term would change no bit
            cost_flop = share * cost
        else:
            cost_flop += share * cost
    planned = c.demand * cost_flop
    port, extras, slip = _commitment_costs(c, o, mix)
    inflow, own = _financing(c, o)
    other_net = c.operating + inflow
    if mix.k is not None:  # without a commitment port and extras are zeros (x - 0.0 is x)
        other_net -= port
        other_net -= extras
    cash = _cash(c, planned, other_net)
    runway, _ = finance.runway(c.cash0, np.asarray(other_net - planned))
    # delays of the next frontier model, months (docs/decide.md 'Value')
    exposure = sum(
        np.mean(mix.shares[key], axis=1, keepdims=True) for key in mix.shares if key in c.exposed
    )
    short = c.shortfall * d.of(sc.supply.shortfall_delay_months) * np.asarray(exposure)
    undelivered = 1.0 - cash.delivered
    missing = np.sum(c.demand * undelivered, axis=1, keepdims=True)
    slower = np.sum(undelivered, axis=1, keepdims=True)  # months of compute not bought
    delay = _col(slip + short + slower, d.n)
    flop_lost = short * c.demand_mean + missing
    terminal = _col(finance.terminal_value(c.v_next, c.df_h, c.growth, delay[:, None]), d.n)
    own_bridge = cash.bridge / (_col(c.bridge_price, d.n) + cash.bridge)
    keep = (1.0 - _col(own, d.n)) * (1.0 - _col(c.own_next, d.n)) * (1.0 - own_bridge)
    value = finance.holders_value(keep, terminal, cash.cash_end, _col(c.df_h, d.n))
    switching = np.sum(port + extras, axis=1) if mix.k is not None else np.zeros(d.n)
    compute_total = np.sum(planned, axis=1)
    metrics = {
        "npv_usd": value,
        "cost_usd": compute_total + switching,
        "compute_cost_usd": compute_total,
        "switching_cost_usd": switching,
        "delay_months": delay,
        "compute_delivered_flop": _col(c.demand_total - flop_lost, d.n),
        "ownership_sold": 1.0 - keep,
        "bridge_usd": cash.bridge,
        "terminal_value_usd": terminal,
        "runway_months": runway,
        "cash_out": cash.cash_out,
        "compute_cut": cash.cut,
        "hedge_switched": _col(mix.switched, d.n),
        "port_abandoned": _col(mix.abandoned, d.n),
    }
    return metrics, cash.spend, _fleet(c, mix, cash.delivered) if fleet else None


def _fleet(c: _Common, mix: _Mix, delivered: FloatArray) -> FloatArray | None:
    """Chips of the committed chip busy with training each month: FLOP/s bought on it divided
    by FLOP/s per chip at the best plan times the ramp and goodput (no price drift)."""
    if mix.k is None:
        return None
    plan = c.cm.chips[mix.k]
    good = c.goodput(mix.k)
    per_flop = plan.seconds_per_flop / c.multiplier(mix.k) / c.ramp(mix.k, c.mid, mix.port_end)
    per_flop = per_flop / good
    flop = c.demand * mix.shares[mix.k] * delivered
    return np.asarray(flop * per_flop / SECONDS_PER_MONTH, dtype=np.float32)


def _col(x: Arr, n: int) -> FloatArray:
    return np.array(np.broadcast_to(np.asarray(x, dtype=np.float64), (n, 1))[:, 0])


def simulate(
    cm: Compiled,
    u: FloatArray,
    overrides: Mapping[str, Override] | None = None,
    options: Sequence[str] | None = None,
    paths: bool = False,
) -> Outcome:
    """Outcomes of `options` (default all) for the rows of uniforms `u` (n x inputs).

    `overrides` pins inputs to values: any input name, `hardware.<key>.price_usd_per_chip_hour`
    and `efficiency.<key>` (a flat relative efficiency r0 = r_inf for a ramped chip); a value
    is a float, or an array with one value per row of `u`.
    Rows are processed in blocks of BLOCK samples, which keeps the (samples x months) arrays
    in cache; results do not depend on the block size.
    """
    ids = tuple(options) if options is not None else cm.option_ids
    cols: dict[str, list[FloatArray]] = {m: [] for m in METRICS}
    cost_sum: dict[str, FloatArray] = {}
    cost_head: dict[str, list[FloatArray]] = {oid: [] for oid in ids}
    fleets: dict[str, list[FloatArray]] = {}
    for lo in range(0, u.shape[0], BLOCK):
        block = u[lo : lo + BLOCK]
        pins = {
            k: (v if isinstance(v, float | int) else np.asarray(v)[lo : lo + BLOCK])
            for k, v in (overrides or {}).items()
        }
        c = _Common(cm, Draws(cm, block, pins))
        per_option: dict[str, list[FloatArray]] = {m: [] for m in METRICS}
        for oid in ids:
            metrics, cost, fleet = _option(c, cm.scenario.option(oid), fleet=paths)
            for m in METRICS:
                per_option[m].append(metrics[m])
            if paths:
                cost_sum[oid] = cost_sum.get(oid, 0.0) + cost.sum(axis=0)
                if lo < PATH_SAMPLES:
                    cost_head[oid].append(cost[: PATH_SAMPLES - lo])
                if fleet is not None:
                    fleets.setdefault(oid, []).append(fleet)
        for m in METRICS:
            cols[m].append(np.stack(per_option[m], axis=1))
    out = Outcome(ids, {m: np.concatenate(v, axis=0) for m, v in cols.items()})
    if paths:
        for oid in ids:
            head = np.concatenate(cost_head[oid], axis=0)
            p5, p95 = np.percentile(head, [5, 95], axis=0)
            out.paths[oid] = {"mean": cost_sum[oid] / u.shape[0], "p5": p5, "p95": p95}
        out.fleet = {oid: np.concatenate(v, axis=0) for oid, v in fleets.items()}
    return out


ProgressFn = Callable[[str, float], None]
