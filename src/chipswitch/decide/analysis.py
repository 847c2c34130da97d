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

BREAK_EVEN_GRID = 11  # points of each break-even curve
SOBOL_TOP = 10  # inputs in the Sobol' analysis: the largest tornado swings
EVENT_NO, EVENT_YES = 1.0 - 1e-9, 1e-9  # uniforms that pin an event off or on
CVAR_LEVEL = 0.05


@dataclass(frozen=True)
class Sizes:
    """Rows behind each analysis. They scale with --samples (docs/decide.md 'Analyses'): each
    tornado bar and break-even point re-simulates n/128 rows (at least 256), Sobol' uses a base
    N near n/256 (a power of two, at least 64), value of information and the decision hindcast
    regress on or re-simulate n/5 and n/20 rows (at least 2,000, at most n)."""

    tornado: int
    break_even: int
    sobol_base: int
    voi: int
    hindcast: int

    @classmethod
    def for_samples(cls, n: int) -> Sizes:
        rows = min(n, max(256, n // 128))
        base = 2 ** max(6, int(math.log2(max(n // 256, 64))))  # Saltelli N, a power of two
        return cls(
            tornado=rows,
            break_even=rows,
            sobol_base=base,
            voi=min(n, max(2000, n // 5)),
            hindcast=min(n, max(2000, n // 20)),
        )


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
    objective_se: float
    p_best_se: float
    cvar_05: float
    risk_adjusted: float
    p_compute_cut: float
    p_port_abandoned: float


@dataclass(frozen=True)
class PairSummary:
    """a minus b on the objective (higher is better)."""

    a: str
    b: str
    difference: Stat
    p_a_better: float
    expected_regret_a: float
    expected_regret_b: float
    difference_se: float
    dominance: str | None


def p_best(values: FloatArray) -> FloatArray:
    """Share of samples in which each option is best (ties split evenly)."""
    best = values.max(axis=1, keepdims=True)
    top = (values >= best).astype(np.float64)
    return np.asarray((top / top.sum(axis=1, keepdims=True)).mean(axis=0))


def expected_regret(values: FloatArray) -> FloatArray:
    """E[max_o V_o - V_i]: what choosing i loses, on average, against hindsight's best."""
    return np.asarray((values.max(axis=1, keepdims=True) - values).mean(axis=0))


def cvar(x: FloatArray, level: float = CVAR_LEVEL) -> float:
    """Conditional value at risk: the mean of the worst `level` share of outcomes (higher is
    better; Rockafellar & Uryasev 2000, J. Risk 2(3):21)."""
    k = max(1, math.ceil(level * x.shape[0]))
    return float(np.partition(x, k - 1)[:k].mean())


def standard_error(x: FloatArray) -> float:
    """sd / sqrt(n) of the sample mean (conservative under Latin hypercube sampling)."""
    return float(np.std(x, ddof=1) / math.sqrt(x.shape[0])) if x.shape[0] > 1 else math.inf


def summarise_options(
    cm: Compiled, out: Outcome, objective: str, metric_names: Sequence[str]
) -> list[OptionSummary]:
    vals = objective_values(out, objective)
    pb, regret = p_best(vals), expected_regret(vals)
    min_runway = cm.scenario.company.min_runway_months.median()
    w = cm.scenario.risk_aversion
    n = vals.shape[0]
    res = []
    pct = {name: np.percentile(out.metrics[name], [5, 50, 95], axis=0) for name in metric_names}
    avg = {name: out.metrics[name].mean(axis=0) for name in metric_names}
    for j, oid in enumerate(out.option_ids):
        m = {
            name: Stat(
                float(pct[name][0, j]),
                float(pct[name][1, j]),
                float(pct[name][2, j]),
                float(avg[name][j]),
            )
            for name in metric_names
        }
        runway = out.metrics["runway_months"][:, j]
        mean, tail = float(vals[:, j].mean()), cvar(vals[:, j])
        res.append(
            OptionSummary(
                id=oid,
                label=cm.scenario.option(oid).label,
                metrics=m,
                expected_objective=mean,
                p_best=float(pb[j]),
                expected_regret=float(regret[j]),
                p_runway_ok=float(np.mean(runway >= min_runway)),
                p_cash_out=float(out.metrics["cash_out"][:, j].mean()),
                p_hedge_switch=float(out.metrics["hedge_switched"][:, j].mean()),
                objective_se=standard_error(vals[:, j]),
                p_best_se=math.sqrt(max(pb[j] * (1 - pb[j]), 0.0) / n),
                cvar_05=tail,
                risk_adjusted=(1.0 - w) * mean + w * tail,
                p_compute_cut=float(out.metrics["compute_cut"][:, j].mean()),
                p_port_abandoned=float(out.metrics["port_abandoned"][:, j].mean()),
            )
        )
    return res


def dominance(a: FloatArray, b: FloatArray, na: str, nb: str) -> str | None:
    """First- then second-order stochastic dominance of a over b or b over a (higher is
    better): FSD when F_a <= F_b everywhere, SSD when the integral of F_a <= that of F_b
    everywhere (Hadar & Russell 1969, Am. Econ. Rev. 59:25). Checked on the empirical CDFs
    on a grid of 512 quantiles, with a tolerance of one grid step of probability."""
    qa, qb = _quantiles(a), _quantiles(b)
    # F_a <= F_b everywhere  <=>  every quantile of a >= the same quantile of b
    if np.all(qa >= qb) and np.any(qa > qb):
        return f"{na} dominates {nb} (first order)"
    if np.all(qb >= qa) and np.any(qb > qa):
        return f"{nb} dominates {na} (first order)"
    # second order: cumulative means of the lower tails
    ca, cb = np.cumsum(qa), np.cumsum(qb)
    tol = 1e-9 * (np.abs(ca).max() + np.abs(cb).max() + 1.0)
    if np.all(ca >= cb - tol) and np.any(ca > cb + tol):
        return f"{na} dominates {nb} (second order)"
    if np.all(cb >= ca - tol) and np.any(cb > ca + tol):
        return f"{nb} dominates {na} (second order)"
    return None


DOMINANCE_GRID = np.linspace(0.0, 1.0, 513)[1:-1]


def _quantiles(x: FloatArray) -> FloatArray:
    """Quantiles of `x` on DOMINANCE_GRID (linear interpolation; `x` may come sorted)."""
    xs = x if bool(np.all(x[1:] >= x[:-1])) else np.sort(x)
    pos = DOMINANCE_GRID * (xs.shape[0] - 1)
    return np.asarray(np.interp(pos, np.arange(xs.shape[0]), xs))


def pairwise(out: Outcome, objective: str) -> list[PairSummary]:
    """Every pair of options: difference, P(a better), each one's regret within the pair,
    the standard error of the mean difference (paired: common random numbers) and any
    stochastic dominance."""
    vals = objective_values(out, objective)
    ids = out.option_ids
    ranked = np.sort(vals, axis=0)  # each option's outcomes in order, for the dominance checks
    res = []
    for i, j in itertools.combinations(range(len(ids)), 2):
        diff = vals[:, i] - vals[:, j]
        pair = vals[:, [i, j]]
        regret = expected_regret(pair)
        better = float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))
        res.append(
            PairSummary(
                ids[i],
                ids[j],
                stat(diff),
                better,
                float(regret[0]),
                float(regret[1]),
                standard_error(diff),
                dominance(ranked[:, i], ranked[:, j], ids[i], ids[j]),
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


def tornado(diff: Difference, u: FloatArray, rows_n: int) -> tuple[float, list[TornadoEntry]]:
    """One-at-a-time p10/p90 swings of the expected difference (decision_research.md 6.4
    'tornado (one-at-a-time p10/p90)'). The other inputs keep their sampled values, so each
    bar is a conditional expectation over them. All pinned copies run as one stacked batch."""
    cm = diff.cm
    rows = u[:rows_n]
    n = rows.shape[0]
    base = diff.mean(rows)
    live = [v for v in cm.inputs if affects(v.name, (diff.a, diff.b))]
    blocks = []
    for var in live:
        i = cm.index[var.name]
        lo_u, hi_u = (EVENT_NO, EVENT_YES) if var.kind == "event" else (0.1, 0.9)
        for q in (lo_u, hi_u):
            b = rows.copy()
            b[:, i] = q
            blocks.append(b)
    vals = diff.rows(np.concatenate(blocks, axis=0)).reshape(len(blocks), n).mean(axis=1)
    at = {v.name: (float(vals[2 * j]), float(vals[2 * j + 1])) for j, v in enumerate(live)}
    entries = []
    for var in cm.inputs:
        low, high = at.get(var.name, (base, base))
        lv, hv = _pinned_values(var)
        flips = (low > 0) != (high > 0) or (low > 0) != (base > 0) or (high > 0) != (base > 0)
        entries.append(
            TornadoEntry(
                var.name, var.label, var.group, var.kind, lv, hv, low, high, abs(high - low), flips
            )
        )
    entries.sort(key=lambda e: (-e.swing, e.input))
    return base, entries


def affects(name: str, pair: tuple[str, str]) -> bool:
    """Whether input `name` can move either option of `pair`: another option's terms and
    events, and the pilot's inputs, cannot (the simulation never reads them for the pair)."""
    parts = name.split(".")
    if parts[0] in ("options", "events") and len(parts) > 2:
        return parts[1] in pair  # options.<id>.… and events.<id>.…
    return parts[0] != "pilot"


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


def solve_break_even(diff: Difference, u: FloatArray, t: BreakEvenTarget, rows_n: int) -> BreakEven:
    """Root of E[a - b](x) by scipy brentq, bracketed from a grid over `t.bracket`
    (decision_research.md 6.5 item 4: 'Break-even solver (bisection/brentq) on expected
    values'). The root nearest the input's median is reported."""
    rows = u[:rows_n]
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
        if t.key == "investment_amount":
            note += _amount_note(diff, xs, ys)
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


def _amount_note(diff: Difference, xs: FloatArray, ys: FloatArray) -> str:
    """Why the investment amount has no break-even, in economic terms: where the money is
    worth most, and what is left of the gap there."""
    best = int(np.argmax(ys)) if ys[0] < 0 else int(np.argmin(ys))
    at0, atb = float(ys[0]), float(ys[best])
    gain = atb - at0
    money = (
        "each dollar buys fewer compute cuts and bridge rounds than the stake it sells is worth"
        if best == 0
        else f"money is worth most at about ${xs[best] / 1e9:.3g}B ({gain / 1e9:+.2f}B against $0: "
        "fewer compute cuts and bridge rounds), and beyond it the stake sold costs more than "
        "the cash buys"
    )
    return (
        f"; at $0 E[{diff.a} - {diff.b}] is {at0 / 1e9:+.2f}B, at best {atb / 1e9:+.2f}B: "
        f"{money}; the rest of the gap is not about money (the chip's cost per FLOP, the port's "
        "slip, the exit)"
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


def sobol(diff: Difference, inputs: Sequence[InputVar], seed: int, base: int) -> list[SobolEntry]:
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
    x = sobol_sample.sample(problem, base, calc_second_order=False, seed=seed)
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
    cm: Compiled, u: FloatArray, values: FloatArray, rows: int
) -> tuple[float, list[VoiEntry]]:
    """EVPI overall and EVPPI per input group: what learning a group before signing is worth
    (a Trainium pilot benchmark resolves the 'trainium efficiency' group)."""
    rows = min(rows, u.shape[0])
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


# -- pilot first ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PilotValue:
    """Pilot first, then choose between `pair` (expected value of sample information)."""

    chip: str
    pair: tuple[str, str]
    months: float
    noise_sd: float
    evsi: float
    evpi_pair: float
    cost: float
    net_value: float
    p_choose_first: float


def pilot_value(
    cm: Compiled,
    u: FloatArray,
    va: FloatArray,
    vb: FloatArray,
    pair: tuple[str, str],
    rng: np.random.Generator,
) -> PilotValue | None:
    """EVSI of a pilot: it measures the chip's realised log cost per FLOP after `months` of
    running (engine error, ramp, goodput) with normal noise `noise_sd`; the lab then picks
    the option whose expected value given the measurement is higher. E[diff | signal] is a
    quadratic least-squares fit on the main sample (the regression estimator of EVSI; Strong,
    Oakley & Brennan 2015, Medical Decision Making 35(5):570). EVSI = E[max(E[a|s], E[b|s])]
    - max(E[a], E[b]); the pilot is worth running when EVSI exceeds its all-in cost."""
    from chipswitch.decide.montecarlo import Draws, _Common

    pl = cm.scenario.pilot
    if pl is None:
        return None
    d = Draws(cm, u)
    c = _Common(cm, d)
    months = float(pl.months.median())
    cost = np.asarray(c.chip_cost(pl.chip, months, 0.0), dtype=np.float64).reshape(-1)
    cost = np.broadcast_to(cost, (u.shape[0],)) if cost.size == 1 else cost
    noise = float(pl.noise_sd.median())
    signal = np.log(cost) + noise * rng.standard_normal(u.shape[0])
    z = (signal - signal.mean()) / (signal.std() or 1.0)
    x = np.column_stack([np.ones_like(z), z, z**2])
    diff = va - vb
    beta, *_ = np.linalg.lstsq(x, diff, rcond=None)
    fitted = x @ beta
    choose_a = fitted > 0
    ea, eb = float(va.mean()), float(vb.mean())
    with_pilot = float(np.where(choose_a, fitted, 0.0).mean()) + eb
    evsi = max(0.0, with_pilot - max(ea, eb))
    evpi_pair = float(np.maximum(va, vb).mean() - max(ea, eb))
    price = float(np.mean(d.of(pl.cost_usd)))
    return PilotValue(
        pl.chip, pair, months, noise, evsi, evpi_pair, price, evsi - price, float(choose_a.mean())
    )
