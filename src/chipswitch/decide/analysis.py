"""What the Monte Carlo says: summaries, pairwise comparison, break-even values, sensitivity
and value of information (decision_research.md sections 6.4 and 6.5).

Every analysis reuses rows of the main run's uniform matrix (common random numbers), so a
swing or a break-even value reflects the input that moved, not sampling noise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from chipswitch.decide.montecarlo import (
    Compiled,
    Draws,
    FloatArray,
    InputVar,
    Outcome,
    Override,
    objective_values,
    simulate,
)

TORNADO_ROWS = 2048  # rows behind each tornado bar
BREAK_EVEN_ROWS = 2048  # rows behind each break-even evaluation
BREAK_EVEN_GRID = 13  # points of each break-even curve
SOBOL_BASE = 512  # Saltelli base sample N (a power of two); N x (K + 2) model runs
SOBOL_TOP = 10  # inputs in the Sobol' analysis: the largest tornado swings
VOI_ROWS = 20_000  # rows behind the EVPPI regressions
EVENT_NO, EVENT_YES = 1.0 - 1e-9, 1e-9  # uniforms that pin an event off or on


@dataclass(frozen=True)
class Stat:
    """p5 / p50 / p95 / mean of a sample."""

    p5: float
    p50: float
    p95: float
    mean: float


def stat(x: FloatArray) -> Stat:
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    return Stat(float(p5), float(p50), float(p95), float(np.mean(x)))


# -- options and pairs -------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionSummary:
    id: str
    label: str
    metrics: dict[str, Stat]
    expected_objective: float
    p_best: float
    expected_regret: float
    p_runway_ok: float
    p_cash_out: float
    p_hedge_switch: float


@dataclass(frozen=True)
class PairSummary:
    """a minus b on the objective (higher is better)."""

    a: str
    b: str
    difference: Stat
    p_a_better: float
    expected_regret_a: float
    expected_regret_b: float


def p_best(values: FloatArray) -> FloatArray:
    """Share of samples in which each option is best (ties split evenly)."""
    best = values.max(axis=1, keepdims=True)
    top = (values >= best).astype(np.float64)
    return np.asarray((top / top.sum(axis=1, keepdims=True)).mean(axis=0))


def expected_regret(values: FloatArray) -> FloatArray:
    """E[max_o V_o - V_i]: what choosing i loses, on average, against hindsight's best."""
    return np.asarray((values.max(axis=1, keepdims=True) - values).mean(axis=0))


def summarise_options(
    cm: Compiled, out: Outcome, objective: str, metric_names: Sequence[str]
) -> list[OptionSummary]:
    vals = objective_values(out, objective)
    pb, regret = p_best(vals), expected_regret(vals)
    min_runway = cm.scenario.company.min_runway_months.median()
    res = []
    for j, oid in enumerate(out.option_ids):
        m = {name: stat(out.metrics[name][:, j]) for name in metric_names}
        runway = out.metrics["runway_months"][:, j]
        res.append(
            OptionSummary(
                id=oid,
                label=cm.scenario.option(oid).label,
                metrics=m,
                expected_objective=float(vals[:, j].mean()),
                p_best=float(pb[j]),
                expected_regret=float(regret[j]),
                p_runway_ok=float(np.mean(runway >= min_runway)),
                p_cash_out=float(out.metrics["cash_out"][:, j].mean()),
                p_hedge_switch=float(out.metrics["hedge_switched"][:, j].mean()),
            )
        )
    return res


def pairwise(out: Outcome, objective: str) -> list[PairSummary]:
    """Every pair of options: difference, P(a better), each one's regret within the pair."""
    vals = objective_values(out, objective)
    res = []
    for i, j in itertools.combinations(range(len(out.option_ids)), 2):
        diff = vals[:, i] - vals[:, j]
        pair = vals[:, [i, j]]
        regret = expected_regret(pair)
        better = float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))
        res.append(
            PairSummary(
                out.option_ids[i],
                out.option_ids[j],
                stat(diff),
                better,
                float(regret[0]),
                float(regret[1]),
            )
        )
    return res


# -- the quantity the sensitivity analyses explain --------------------------------------------


class Difference:
    """Mean (or per-row) objective difference a - b for rows of uniforms, with pinned inputs."""

    def __init__(self, cm: Compiled, a: str, b: str, objective: str):
        self.cm, self.a, self.b, self.objective = cm, a, b, objective

    def rows(self, u: FloatArray, overrides: Mapping[str, Override] | None = None) -> FloatArray:
        out = simulate(self.cm, u, overrides, options=(self.a, self.b))
        vals = objective_values(out, self.objective)
        return np.asarray(vals[:, 0] - vals[:, 1])

    def mean(self, u: FloatArray, overrides: Mapping[str, Override] | None = None) -> float:
        return float(self.rows(u, overrides).mean())


# -- tornado ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TornadoEntry:
    """E[a - b] with one input pinned at its p10 and at its p90 (events: off / on)."""

    input: str
    label: str
    group: str
    kind: str
    low_value: float
    high_value: float
    low: float
    high: float
    swing: float
    flips: bool


def tornado(diff: Difference, u: FloatArray) -> tuple[float, list[TornadoEntry]]:
    """One-at-a-time p10/p90 swings of the expected difference (decision_research.md 6.4
    'tornado (one-at-a-time p10/p90)'). The other inputs keep their sampled values, so each
    bar is a conditional expectation over them. All pinned copies run as one stacked batch."""
    cm = diff.cm
    rows = u[:TORNADO_ROWS]
    n = rows.shape[0]
    base = diff.mean(rows)
    blocks = []
    for var in cm.inputs:
        i = cm.index[var.name]
        lo_u, hi_u = (EVENT_NO, EVENT_YES) if var.kind == "event" else (0.1, 0.9)
        for q in (lo_u, hi_u):
            b = rows.copy()
            b[:, i] = q
            blocks.append(b)
    vals = diff.rows(np.concatenate(blocks, axis=0)).reshape(len(blocks), n).mean(axis=1)
    entries = []
    for j, var in enumerate(cm.inputs):
        low, high = float(vals[2 * j]), float(vals[2 * j + 1])
        lv, hv = _pinned_values(var)
        flips = (low > 0) != (high > 0) or (low > 0) != (base > 0) or (high > 0) != (base > 0)
        entries.append(
            TornadoEntry(
                var.name, var.label, var.group, var.kind, lv, hv, low, high, abs(high - low), flips
            )
        )
    entries.sort(key=lambda e: (-e.swing, e.input))
    return base, entries


def _pinned_values(var: InputVar) -> tuple[float, float]:
    if var.kind == "event" or var.quantity is None:
        return 0.0, 1.0
    lo, hi = var.sample(np.array([0.1, 0.9]))
    return float(lo), float(hi)


# -- break-even --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakEvenTarget:
    key: str
    label: str
    unit: str
    pin: str
    base: float
    bracket: tuple[float, float]
    log: bool = False


@dataclass(frozen=True)
class BreakEven:
    """The value of one input at which E[a - b] = 0 (brentq), or why there is none."""

    key: str
    label: str
    unit: str
    input: str
    value: float | None
    base: float
    bracket: tuple[float, float]
    found: bool
    note: str
    curve_x: list[float]
    curve_y: list[float]


def break_even_targets(cm: Compiled, a: str, b: str) -> list[BreakEvenTarget]:
    """The inputs of decision_research.md 6.4 'Break-even points': relative efficiency and
    price of the committed chip, the incumbent's price, investment amount, schedule slip,
    port duration and the valuation at which notes convert."""
    sc = cm.scenario
    oa, ob = sc.option(a), sc.option(b)
    committed = next((o.commitment.chip for o in (oa, ob) if o.commitment is not None), None)
    out: list[BreakEvenTarget] = []
    if committed is not None:
        key = committed
        if sc.hardware[key].ramp is not None:
            out.append(
                BreakEvenTarget(
                    "relative_efficiency",
                    f"{key} relative efficiency (flat r0 = r_inf)",
                    "x engine throughput",
                    f"efficiency.{key}",
                    _ramp_mid(cm, key),
                    (0.1, 2.0),
                )
            )
        price = _median_price(cm, key)
        out.append(
            BreakEvenTarget(
                "price_per_chip_hour",
                f"{key} price per chip-hour",
                "USD/chip-hour",
                f"hardware.{key}.price_usd_per_chip_hour",
                price,
                (price / 10, price * 10),
                log=True,
            )
        )
        base = sc.roadmap.baseline
        if base != key:
            gpu = _median_price(cm, base)
            out.append(
                BreakEvenTarget(
                    "baseline_price_per_chip_hour",
                    f"{base} price per chip-hour",
                    "USD/chip-hour",
                    f"hardware.{base}.price_usd_per_chip_hour",
                    gpu,
                    (gpu / 10, gpu * 10),
                    log=True,
                )
            )
    funded = next((o for o in (oa, ob) if o.financing.instrument != "none"), None)
    if funded is not None:
        amount = funded.financing.amount_usd.median()
        out.append(
            BreakEvenTarget(
                "investment_amount",
                f"{funded.id} investment amount",
                "USD",
                f"options.{funded.id}.financing.amount_usd",
                amount,
                (0.0, max(amount, 1e9) * 5),
            )
        )
    mig = sc.migration
    if committed is not None and sc.hardware[committed].ramp is not None:
        out.append(
            BreakEvenTarget(
                "schedule_slip",
                "schedule slip",
                "months",
                "migration.schedule_slip_months",
                mig.schedule_slip_months.median(),
                (0.0, 36.0),
            )
        )
        out.append(
            BreakEvenTarget(
                "port_months",
                "port duration",
                "months",
                "migration.months",
                mig.months.median(),
                (0.0, 36.0),
            )
        )
    v = sc.company.next_round_post_money_usd.median()
    out.append(
        BreakEvenTarget(
            "conversion_valuation",
            "next-round (conversion) valuation",
            "USD",
            "company.next_round_post_money_usd",
            v,
            (v / 10, v * 10),
            log=True,
        )
    )
    return out


def _ramp_mid(cm: Compiled, key: str) -> float:
    ramp = cm.scenario.hardware[key].ramp
    assert ramp is not None
    return 0.5 * (ramp.r0.median() + ramp.r_inf.median())


def _median_price(cm: Compiled, key: str) -> float:
    plan = cm.chips[key]
    if plan.choice.price_usd_per_chip_hour is not None:
        return plan.choice.price_usd_per_chip_hour.median()
    mult = plan.choice.price_multiplier.median() if plan.choice.price_multiplier else 1.0
    return float(plan.catalog_price_usd_per_chip_hour or 0.0) * mult


def solve_break_even(diff: Difference, u: FloatArray, t: BreakEvenTarget) -> BreakEven:
    """Root of E[a - b](x) by scipy brentq, bracketed from a grid over `t.bracket`
    (decision_research.md 6.5 item 4: 'Break-even solver (bisection/brentq) on expected
    values'). The root nearest the input's median is reported."""
    rows = u[:BREAK_EVEN_ROWS]
    n = rows.shape[0]
    lo, hi = t.bracket
    xs = np.geomspace(lo, hi, BREAK_EVEN_GRID) if t.log else np.linspace(lo, hi, BREAK_EVEN_GRID)
    stacked = np.tile(rows, (len(xs), 1))
    pin = np.repeat(xs, n)
    ys = diff.rows(stacked, {t.pin: pin}).reshape(len(xs), n).mean(axis=1)
    f: Callable[[float], float] = lambda x: diff.mean(rows, {t.pin: float(x)})  # noqa: E731
    sign = np.sign(ys)
    cross = [i for i in range(len(xs) - 1) if sign[i] == 0 or sign[i] != sign[i + 1]]
    curve_x, curve_y = [float(x) for x in xs], [float(y) for y in ys]
    if not cross:
        side = diff.a if ys[0] > 0 else diff.b
        note = f"no root in [{_fmt(lo)}, {_fmt(hi)}]: {side} is better across the whole range"
        return BreakEven(
            t.key, t.label, t.unit, t.pin, None, t.base, t.bracket, False, note, curve_x, curve_y
        )
    i = min(cross, key=lambda j: abs(0.5 * (xs[j] + xs[j + 1]) - t.base))
    if sign[i] == 0:
        root = float(xs[i])
    else:
        span = float(xs[i + 1] - xs[i])
        root = float(
            optimize.brentq(f, float(xs[i]), float(xs[i + 1]), xtol=span * 1e-4, rtol=1e-8)
        )
    better_below = diff.a if ys[0] > 0 else diff.b
    note = f"{better_below} is better below {_fmt(root)} {t.unit}"
    if len(cross) > 1:
        note += f" ({len(cross)} crossings in the range; the one nearest the median)"
    return BreakEven(
        t.key, t.label, t.unit, t.pin, root, t.base, t.bracket, True, note, curve_x, curve_y
    )


def _fmt(x: float) -> str:
    return f"{x:.3g}"


# -- Sobol' -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SobolEntry:
    input: str
    label: str
    s1: float
    s1_conf: float
    st: float
    st_conf: float


def sobol(diff: Difference, inputs: Sequence[InputVar], seed: int) -> list[SobolEntry]:
    """First-order and total Sobol' indices of a - b via SALib (Saltelli design, N (K + 2)
    runs without second order; Saltelli et al. 2010, Comput. Phys. Commun. 181:259;
    decision_research.md 4.4). Inputs outside `inputs` stay at their medians (an event at its
    more likely outcome: it happens when its probability exceeds 0.5);
    the copula is not applied, so with correlated inputs the indices are indicative."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    cm = diff.cm
    if not inputs:
        return []
    names = [v.name for v in inputs]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    x = sobol_sample.sample(problem, SOBOL_BASE, calc_second_order=False, seed=seed)
    u = np.full((x.shape[0], len(cm.inputs)), 0.5)
    for j, name in enumerate(names):
        u[:, cm.index[name]] = np.clip(x[:, j], 1e-9, 1 - 1e-9)
    y = diff.rows(u)
    if np.ptp(y) == 0:
        return [SobolEntry(v.name, v.label, 0.0, 0.0, 0.0, 0.0) for v in inputs]
    res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
    out = [
        SobolEntry(v.name, v.label, *(float(res[k][j]) for k in ("S1", "S1_conf", "ST", "ST_conf")))
        for j, v in enumerate(inputs)
    ]
    out.sort(key=lambda e: (-e.st, e.input))
    return out


# -- value of information -----------------------------------------------------------------------


@dataclass(frozen=True)
class VoiEntry:
    """Expected value of perfect information on one group of inputs (EVPPI)."""

    group: str
    inputs: list[str]
    evppi: float
    share_of_evpi: float


def evpi(values: FloatArray) -> float:
    """EVPI = E[max_o V_o] - max_o E[V_o] (decision_research.md 4.5, 6.4)."""
    return float(values.max(axis=1).mean() - values.mean(axis=0).max())


def evppi(values: FloatArray, features: FloatArray) -> float:
    """Partial EVPI of the inputs behind `features`: E_g[max_o E[V_o | g]] - max_o E[V_o].

    E[V_o | g] is estimated by least squares on a quadratic in the features (with pairwise
    interactions): the regression method of Strong, Oakley & Brennan (2014), 'Estimating
    multiparameter partial expected value of perfect information from a probabilistic
    sensitivity analysis sample', Medical Decision Making 34(3):311-326.
    """
    n, m = features.shape
    cols = [
        np.ones(n),
        *(features[:, i] for i in range(m)),
        *(features[:, i] ** 2 for i in range(m)),
    ]
    cols += [features[:, i] * features[:, j] for i, j in itertools.combinations(range(m), 2)]
    x = np.column_stack(cols)
    beta, *_ = np.linalg.lstsq(x, values - values.mean(axis=0), rcond=None)
    fitted = x @ beta + values.mean(axis=0)
    return max(0.0, float(fitted.max(axis=1).mean() - fitted.mean(axis=0).max()))


def value_of_information(
    cm: Compiled, u: FloatArray, values: FloatArray
) -> tuple[float, list[VoiEntry]]:
    """EVPI overall and EVPPI per input group: what learning a group before signing is worth
    (a Trainium pilot benchmark resolves the 'trainium efficiency' group)."""
    rows = min(VOI_ROWS, u.shape[0])
    uu, vv = u[:rows], values[:rows]
    total = evpi(vv)
    d = Draws(cm, uu)
    groups: dict[str, list[InputVar]] = {}
    for v in cm.inputs:
        groups.setdefault(v.group, []).append(v)
    out = []
    for group, members in sorted(groups.items()):
        feats = []
        for v in members:
            col = uu[:, cm.index[v.name]]
            if v.kind == "event":
                p = d.of(v.probability, 0.0)
                feats.append((col < np.asarray(p).reshape(-1)).astype(np.float64))
            else:
                feats.append(special.ndtri(col))
        value = evppi(vv, np.column_stack(feats)) if feats else 0.0
        share = value / total if total > 0 else 0.0
        out.append(VoiEntry(group, [v.name for v in members], value, min(share, 1.0)))
    out.sort(key=lambda e: (-e.evppi, e.group))
    return total, out


def finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


FloatArr = NDArray[np.float64]
