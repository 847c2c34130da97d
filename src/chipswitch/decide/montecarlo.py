"""Vectorised Monte Carlo of every option of a scenario (decision_research.md section 6.3).

`compile_scenario` resolves catalog names, turns the performance engine's throughput figures
into cost per FLOP, and lists the uncertain inputs; `simulate` maps a matrix of uniforms
(samples x inputs) to per-option outcomes (samples x options). Everything random enters
through that matrix, so the same rows give common random numbers across options and analyses.

Monthly grid: month t covers [t, t+1) after the decision date; rates are evaluated at t + 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from chipswitch import units
from chipswitch.catalog import Catalog
from chipswitch.decide import finance
from chipswitch.decide.dists import LogNormal, Point, copula_uniforms, nearest_correlation
from chipswitch.decide.scenario import (
    ChipChoice,
    Option,
    Positive,
    Quantity,
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

#: Per-option outcomes summarised with percentiles (money, compute, ownership, runway).
SUMMARY_METRICS = (
    "npv_usd",
    "cost_usd",
    "compute_cost_usd",
    "switching_cost_usd",
    "delay_cost_usd",
    "compute_delivered_flop",
    "ownership_sold",
    "runway_months",
)
#: Everything `simulate` returns per sample and option: the above plus two 0/1 events.
METRICS = (*SUMMARY_METRICS, "cash_out", "hedge_switched")


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
    """A hardware choice resolved against the catalog and the performance engine."""

    key: str
    chip_id: str
    chip_name: str
    seconds_per_flop: float
    catalog_price_usd_per_chip_hour: float | None
    price_note: str | None
    throughput: tuple[dict[str, object], ...]
    multiplier: Positive
    choice: ChipChoice


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

    @property
    def horizon(self) -> int:
        return self.scenario.horizon

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.scenario.options)

    def uniforms(self, rng: np.random.Generator, n: int) -> FloatArray:
        """n rows of correlated uniforms, one column per input (Gaussian copula)."""
        return copula_uniforms(rng, n, len(self.inputs), self.corr)

    def input(self, name: str) -> InputVar:
        return self.inputs[self.index[name]]


def clip(q: Quantity, x: FloatArray) -> FloatArray:
    lo = math.nextafter(q.lower, math.inf) if q.lower_open else q.lower
    return np.clip(x, lo, q.upper)


def group_of(name: str) -> str:
    """Input group for value-of-information and reports (decision_research.md 6.4 'EVPPI')."""
    parts = name.split(".")
    head = parts[0]
    if head == "throughput" or (head == "hardware" and "ramp" in parts):
        return f"{parts[1]} efficiency"
    if head == "hardware":
        return "chip prices"
    if head == "events":
        if parts[-1] == "port_abandoned":
            return "migration"
        if parts[-1] == "gpu_shortfall":
            return "GPU supply"
        return "financing terms"
    if head == "options":
        return "commitment terms" if parts[2] in ("commitment", "hedge") else "financing terms"
    if head == "company":
        return "valuation" if parts[1].startswith("next_round") else "company finances"
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
    """Resolve chips and offerings, cost per FLOP from `throughput`, and the input list."""
    chips = {
        key: _chip_plan(sc, key, choice, throughput, catalog) for key, choice in sc.hardware.items()
    }
    inputs: list[InputVar] = []
    name_of: dict[int, str] = {}
    for name, q in iter_quantities(sc):
        name_of[id(q)] = name
        if not q.value.is_point:
            inputs.append(InputVar(name, group_of(name), "dist", q, _label(name)))
    for key, plan in chips.items():
        name = f"throughput.{key}"
        name_of[id(plan.multiplier)] = name
        if not plan.multiplier.value.is_point:
            inputs.append(
                InputVar(
                    name, group_of(name), "dist", plan.multiplier, f"{key} throughput (engine)"
                )
            )
    p_short = sc.supply.gpu_shortfall_probability
    inputs.append(
        InputVar("events.gpu_shortfall", "GPU supply", "event", None, "GPU shortfall", p_short)
    )
    for key in sorted(_ported_chips(sc)):
        name, label = f"events.{key}.port_abandoned", f"{key} port abandoned"
        inputs.append(InputVar(name, "migration", "event", None, label, sc.migration.p_abandon))
    for o in sc.options:
        if o.financing.p_close is not None:
            name, label = f"events.{o.id}.raise_closes", f"{o.id} raise closes"
            inputs.append(
                InputVar(name, "financing terms", "event", None, label, o.financing.p_close)
            )
    index = {v.name: i for i, v in enumerate(inputs)}
    corr, repaired = _correlation(sc, index)
    notes = []
    if repaired:
        notes.append("correlations were not jointly consistent; the nearest valid matrix was used")
    return Compiled(sc, chips, tuple(inputs), index, name_of, corr, repaired, tuple(notes))


def _label(name: str) -> str:
    """Short display name: `hardware.trainium.ramp.r0` -> `trainium.ramp.r0`."""
    for prefix in ("hardware.", "options."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _ported_chips(sc: Scenario) -> set[str]:
    return {
        o.commitment.chip
        for o in sc.options
        if o.commitment is not None and sc.hardware[o.commitment.chip].ramp is not None
    }


def _correlation(sc: Scenario, index: dict[str, int]) -> tuple[FloatArray | None, bool]:
    if not sc.correlations:
        return None, False
    c = np.eye(len(index))
    for co in sc.correlations:
        a, b = (canonical_name(sc, n) for n in co.between)
        if a in index and b in index:
            c[index[a], index[b]] = c[index[b], index[a]] = co.rho
    return nearest_correlation(c)


def _chip_plan(
    sc: Scenario, key: str, choice: ChipChoice, throughput: ThroughputTable, catalog: Catalog | None
) -> ChipPlan:
    where = f"hardware.{key}"
    chip_id, chip_name = choice.chip, choice.chip
    price: float | None = None
    note: str | None = None
    if catalog is not None:
        try:
            chip = catalog.chip(choice.chip)
        except ChipswitchError as exc:
            raise CatalogFileError(sc.name, [f"{where}.chip: {exc}"]) from None
        chip_id, chip_name = chip.id, chip.name
        if choice.offering is not None:
            try:
                off = catalog.offering(choice.offering)
                if off.chip != chip_id:
                    raise ValueError(f"offering {off.id} is for chip {off.chip}, not {chip_id}")
                p = off.price(choice.price_type)
            except (ChipswitchError, ValueError) as exc:
                raise CatalogFileError(sc.name, [f"{where}.offering: {exc}"]) from None
            price = p.usd_per_chip_hour
            note = f"{off.id} {p.type} {p.date or ''}".strip()
    if choice.price_usd_per_chip_hour is None and price is None:
        raise CatalogFileError(
            sc.name, [f"{where}: no price (no catalog available for the offering)"]
        )
    spf = 0.0
    rows: list[dict[str, object]] = []
    log_med, sigma = 0.0, 0.0
    for m in sc.roadmap.models:
        est = throughput.get((m.model, chip_id))
        if est is None:
            raise ChipswitchError(f"no throughput estimate for model {m.model} on chip {chip_id}")
        tps, fpt = float(est.tokens_per_s_per_chip), float(est.model_flops_per_token)
        if not (tps > 0 and fpt > 0):
            raise ChipswitchError(f"throughput of {m.model} on {chip_id} is not positive")
        lo, hi = (float(x) for x in est.interval)
        spf += m.flop_share / (tps * fpt)
        if 0 < lo <= hi:
            log_med += m.flop_share * (0.5 * (math.log(lo) + math.log(hi)) - math.log(tps))
            sigma += m.flop_share * (math.log(hi) - math.log(lo)) / (2.0 * Z90)
        rows.append(
            {
                "model": m.model,
                "chip": chip_id,
                "tokens_per_s_per_chip": tps,
                "interval": [lo, hi],
                "model_flops_per_token": fpt,
                "mfu": getattr(est, "mfu", None),
                "plan": getattr(est, "plan", None),
            }
        )
    mult_dist: LogNormal | Point = (
        LogNormal(dist="lognormal", median=math.exp(log_med), sigma=sigma)
        if sigma > 0
        else Point(value=1.0)
    )
    multiplier = Positive(
        value=mult_dist, derived="80% interval of the performance engine's best-plan throughput"
    )
    return ChipPlan(key, chip_id, chip_name, spf, price, note, tuple(rows), multiplier, choice)


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
    """Higher is better: NPV, minus total cost, or compute delivered (samples, options)."""
    if objective == "npv":
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
        self.h = cm.horizon
        self.month = np.arange(self.h, dtype=np.float64)
        self.mid = self.month + 0.5
        rate = d.of(sc.discount_rate_per_year)
        self.df = finance.discount_factor(self.mid, rate)
        self.rate = rate
        pp = d.of(sc.roadmap.price_performance_gain_per_year, 1.0)
        self.decay = np.power(pp, -self.mid / 12.0)
        self.pp = pp
        self.k = {key: self._usd_per_flop(key) for key in cm.chips}
        self.demand = self._demand()
        c = sc.company
        self.revenue = (
            d.of(c.revenue_run_rate_usd_per_year)
            / 12.0
            * np.power(d.of(c.revenue_growth_per_year), self.mid / 12.0)
        )
        self.other = (
            d.of(c.other_burn_usd_per_year)
            / 12.0
            * np.power(d.of(c.other_burn_growth_per_year), self.mid / 12.0)
        )
        self.operating = d.of(c.gross_margin) * self.revenue - self.other
        if c.next_round_amount_usd is not None:
            raised = self.lump(d.of(c.next_round_amount_usd), d.of(c.next_round_month))
            self.operating = self.operating + raised
        self.value_month = d.of(sc.migration.value_of_delay_month_usd)
        self.shortfall = d.event("events.gpu_shortfall", d.of(sc.supply.gpu_shortfall_probability))
        self.exposed = set(sc.supply.exposed or [sc.roadmap.baseline])
        self.base_cost = self.chip_cost(sc.roadmap.baseline, self.mid, 0.0)

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

    def _usd_per_flop(self, key: str) -> Arr:
        """price / 3600 x chip-seconds per FLOP at the best plan, divided by the engine-interval
        multiplier on throughput (decision_research.md 6.3 `c_v = price_v / (peak_v x MFU_v x
        3600)`, with peak x MFU replaced by the engine's tokens/s x FLOP/token)."""
        plan = self.cm.chips[key]
        mult = self.d.of(plan.multiplier, 1.0)
        return self.price(key) / units.HOUR * plan.seconds_per_flop / mult

    def ramp(self, key: str, t: Arr, adopt: Arr) -> Arr:
        """r(t) = r_inf - (r_inf - r0) exp(-(t - start)/tau), r0 before `start`; 1 for a mature
        chip (decision_research.md 6.3, `MFU_trn(t) = MFU_gpu x [r_inf - (r_inf - r0)
        exp(-t/tau)]`). A committed chip's ramp starts when the port is done: until then it
        runs at r0, so a longer port costs efficiency as well as engineering."""
        ramp = self.cm.scenario.hardware[key].ramp
        if ramp is None:
            return 1.0
        if f"efficiency.{key}" in self.d.overrides:
            return self.d.pinned(f"efficiency.{key}")
        grid = t is self.mid
        # keyed by identity; the cache holds `adopt` itself, so its id cannot be reused
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
        return self.k[key] * decay / self.ramp(key, t, adopt)

    def _demand(self) -> FloatArray:
        """Training FLOP per month: the first-year budget at the baseline chip's cost (or the
        final-run FLOP times the experiment overhead, Epoch's development-cost ratio,
        decision_research.md 3.1), growing `flop_growth_per_year` (Epoch 4-5x/yr, 3.2)."""
        rm = self.cm.scenario.roadmap
        d = self.d
        if rm.training_budget_usd_per_year is not None:
            per_year = d.of(rm.training_budget_usd_per_year) / self.k[rm.baseline]
        else:
            per_year = d.of(rm.training_flop_per_year) * d.of(rm.experiment_overhead)
        growth = np.power(d.of(rm.flop_growth_per_year), self.mid / 12.0)
        return np.broadcast_to(np.asarray(per_year / 12.0 * growth), (d.n, self.h))

    def window(self, start: Arr, end: Arr) -> FloatArray:
        """Fraction of each month [t, t+1) inside [start, end)."""
        lo = np.maximum(self.month, start)
        hi = np.minimum(self.month + 1.0, end)
        return np.asarray(np.clip(hi - lo, 0.0, 1.0))

    def after(self, x: Arr) -> FloatArray:
        """Fraction of each month [t, t+1) after time x."""
        return np.asarray(np.clip(self.month + 1.0 - x, 0.0, 1.0))

    def lump(self, amount: Arr, at: Arr) -> FloatArray:
        """`amount` paid in the month containing `at` (nothing if beyond the horizon)."""
        at_arr = np.broadcast_to(np.asarray(at, dtype=np.float64), (self.d.n, 1))
        hit = np.floor(at_arr) == self.month
        return np.asarray(np.where(hit, amount, 0.0))

    def pv(self, flow: FloatArray) -> FloatArray:
        return np.asarray(np.sum(flow * self.df, axis=1))

    def df_at(self, months: Arr) -> Arr:
        return finance.discount_factor(months, self.rate)


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


def _mix(c: _Common, o: Option) -> _Mix:
    """Share of training on each chip per month (decision_research.md 6.3 compute cost
    `sum_t FLOP(t) [s_T(t) c_trn(t) + (1 - s_T(t)) c_gpu(t)]`), with the commitment term,
    abandonment of the port, a hedge switch (6.1 option D) and, after the term, the committed
    chip kept only while it is the cheaper one."""
    sc, d = c.cm.scenario, c.d
    base = sc.roadmap.baseline
    cm = o.commitment
    if cm is None:
        return _Mix({base: np.ones((d.n, c.h))})
    k = cm.chip
    mix = _Mix({}, k=k, f=base, ported=sc.hardware[k].ramp is not None)
    mix.s = s = d.of(cm.share)
    mix.a = a = d.of(cm.start_month, 0.0)
    mix.term_end = term_end = a + d.of(cm.term_months)
    mix.port_end = a + d.of(sc.migration.months) if mix.ported else a
    mix.cost_k = c.chip_cost(k, c.mid, mix.port_end)
    mix.in_term = c.window(a, term_end)
    s_eff: Arr = s * np.ones((d.n, c.h))
    if mix.ported:
        mix.m_ab = mix.port_end
        p_ab = d.of(sc.migration.p_abandon)
        mix.abandoned = d.event(f"events.{k}.port_abandoned", p_ab) * (np.asarray(s) > 0)
        s_eff = s_eff * (1.0 - mix.abandoned * c.after(mix.m_ab))
    released: Arr = 0.0
    if o.hedge is not None:
        hg = o.hedge
        mix.f = hg.fallback or base
        mix.review = review = d.of(hg.review_month)
        ratio = c.chip_cost(k, review + 0.5, mix.port_end) / c.chip_cost(
            mix.f, review + 0.5, -math.inf
        )
        live = (1.0 - mix.abandoned * (np.asarray(mix.m_ab) <= review)) * (review < term_end)
        mix.switched = np.asarray(live * (ratio > d.of(hg.max_cost_ratio)), dtype=np.float64)
        released = mix.switched * np.maximum(s - d.of(hg.share_after), 0.0) * c.after(review)
    cheaper = np.asarray(mix.cost_k <= c.base_cost, dtype=np.float64)
    post = c.after(term_end)
    s_k = np.maximum(s_eff - released, 0.0) * (mix.in_term + post * cheaper)
    s_f = released * (mix.in_term + post)
    zero = np.zeros((d.n, c.h))
    f = mix.f or base
    shares = {k: np.asarray(s_k)}
    shares[f] = shares.get(f, zero) + s_f
    used = np.asarray(sum(shares.values()))
    shares[base] = shares.get(base, zero) + (1.0 - used)
    mix.shares = shares
    return mix


def _adopt(sc: Scenario, o: Option, key: str, mix: _Mix) -> Arr:
    """Month a chip enters the option's fleet (ramp start): a hedge fallback at the review."""
    if key == mix.k:
        return mix.port_end
    if o.hedge is not None and key == mix.f and key != sc.roadmap.baseline:
        return mix.review
    return 0.0


def _commitment_costs(c: _Common, o: Option, mix: _Mix) -> tuple[FloatArray, FloatArray, Arr, Arr]:
    """Port spend per month, lump sums per month (fallback, stranded take-or-pay, hedge
    switch), and the schedule slip's delay in PV USD and months (decision_research.md 5.3
    switching-cost recipe: port engineering + delay + stranded commitment + exit cost)."""
    sc, d = c.cm.scenario, c.d
    zero = np.zeros((d.n, c.h))
    if mix.k is None or o.commitment is None:
        return zero, zero, 0.0, 0.0
    k, mig = mix.k, sc.migration
    spend_k = np.sum(c.demand * mix.shares[k] * mix.cost_k * mix.in_term, axis=1, keepdims=True)
    planned = np.sum(c.demand * mix.s * mix.cost_k * mix.in_term, axis=1, keepdims=True)
    top = d.of(o.commitment.take_or_pay_fraction)
    stranded = np.maximum(top * planned - spend_k, 0.0)
    extras = c.lump(stranded, np.minimum(mix.term_end, c.h) - 1e-9)
    port = zero
    delay_pv: Arr = 0.0
    delay_months: Arr = 0.0
    if mix.ported:
        active = (np.asarray(mix.s) > 0).astype(np.float64)
        monthly = d.of(mig.engineers) * d.of(mig.loaded_cost_usd_per_engineer_year) / 12.0
        port = active * monthly * c.window(mix.a, mix.port_end)
        extras = extras + c.lump(mix.abandoned * d.of(mig.fallback_cost_usd), mix.m_ab)
        delay_months = d.of(mig.schedule_slip_months) * mix.s
        delay_pv = delay_months * c.value_month * c.df_at(mix.port_end)
    if o.hedge is not None:
        extras = extras + c.lump(mix.switched * d.of(o.hedge.switch_cost_usd), mix.review)
    return np.asarray(port), np.asarray(extras), delay_pv, delay_months


def _financing(c: _Common, o: Option) -> tuple[FloatArray, Arr, Arr]:
    """Cash in per month, ownership sold, and the financing's value to existing holders
    (decision_research.md 5.1 and 6.3 'Equity'), marked at the next priced round."""
    sc, d = c.cm.scenario, c.d
    fin = o.financing
    amount = d.of(fin.amount_usd)
    closes: Arr = 1.0
    if fin.p_close is not None:
        closes = d.event(f"events.{o.id}.raise_closes", d.of(fin.p_close))
    close_month = d.of(fin.close_month, 0.0)
    inflow = c.lump(closes * amount, close_month)
    v_next = d.of(sc.company.next_round_post_money_usd)
    m_next = d.of(sc.company.next_round_month)
    own: Arr
    if fin.instrument == "equity":
        own = finance.equity_ownership(amount, d.of(fin.post_money_usd))
    elif fin.instrument == "convertible_note":
        cap = None if fin.cap_usd is None else d.of(fin.cap_usd)
        wait = np.maximum(np.asarray(m_next) - close_month, 0.0)
        rate = d.of(fin.interest_per_year)
        own = finance.note_ownership(amount, v_next, d.of(fin.discount), cap, rate, wait)
    else:
        own = 0.0
    own = closes * np.asarray(own)
    value = closes * finance.financing_value(amount, own, v_next) * c.df_at(m_next)
    return inflow, own, value


def _fleet(c: _Common, mix: _Mix) -> FloatArray | None:
    """Chips of the committed chip busy with training each month: FLOP/s needed divided by
    FLOP/s per chip at the best plan times the ramp (no price-performance drift)."""
    if mix.k is None:
        return None
    plan = c.cm.chips[mix.k]
    per_flop = (
        plan.seconds_per_flop / c.d.of(plan.multiplier, 1.0) / c.ramp(mix.k, c.mid, mix.port_end)
    )
    return np.asarray(c.demand * mix.shares[mix.k] * per_flop / SECONDS_PER_MONTH, dtype=np.float32)


def _option(c: _Common, o: Option) -> tuple[dict[str, FloatArray], FloatArray, FloatArray | None]:
    """All metrics of one option for one block of samples."""
    sc, d = c.cm.scenario, c.d
    mix = _mix(c, o)
    compute = np.zeros((d.n, c.h))
    for key, share in mix.shares.items():
        cost = mix.cost_k if key == mix.k else c.chip_cost(key, c.mid, _adopt(sc, o, key, mix))
        compute = compute + c.demand * share * cost
    port, extras, delay_pv, _ = _commitment_costs(c, o, mix)
    # GPU supply shortfall: a delay in proportion to the share on exposed chips (6.2)
    exposure = sum(
        np.mean(mix.shares[key], axis=1, keepdims=True) for key in mix.shares if key in c.exposed
    )
    short = c.shortfall * d.of(sc.supply.shortfall_delay_months) * np.asarray(exposure)
    delay_pv = delay_pv + short * c.value_month * c.df_at(c.h / 2.0)
    flop_lost = short * np.mean(c.demand, axis=1, keepdims=True)
    inflow, own, fin_value = _financing(c, o)
    # cash and runway: compute stops when cash runs out; each lost month is a month of delay
    outflow = compute + port + extras
    net = c.operating - outflow + inflow
    runway, out_month = finance.runway(_col(d.of(sc.company.cash_usd), d.n), np.asarray(net))
    lost = c.after(out_month[:, None])
    flop_lost = flop_lost + np.sum(c.demand * lost, axis=1, keepdims=True)
    delay_pv = delay_pv + c.value_month * np.sum(lost * c.df, axis=1, keepdims=True)
    npv = fin_value - c.pv(outflow)[:, None] - delay_pv
    switching = np.sum(port + extras, axis=1)
    compute_total = np.sum(compute, axis=1)
    metrics = {
        "npv_usd": _col(npv, d.n),
        "cost_usd": compute_total + switching,
        "compute_cost_usd": compute_total,
        "switching_cost_usd": switching,
        "delay_cost_usd": _col(delay_pv, d.n),
        "compute_delivered_flop": _col(np.sum(c.demand, axis=1, keepdims=True) - flop_lost, d.n),
        "ownership_sold": _col(own, d.n),
        "runway_months": runway,
        "cash_out": np.isfinite(out_month).astype(np.float64),
        "hedge_switched": _col(mix.switched, d.n),
    }
    return metrics, compute, _fleet(c, mix)


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
            metrics, cost, fleet = _option(c, cm.scenario.option(oid))
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
            out.paths[oid] = {
                "mean": cost_sum[oid] / u.shape[0],
                "p5": np.percentile(head, 5, axis=0),
                "p95": np.percentile(head, 95, axis=0),
            }
        out.fleet = {oid: np.concatenate(v, axis=0) for oid, v in fleets.items()}
    return out


ProgressFn = Callable[[str, float], None]
