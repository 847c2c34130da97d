"""The verdict: one sentence naming the winning option, how sure that is, what could flip it,
and when the honest answer is "too close to call" or "run the pilot first"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chipswitch import format as fmt
from chipswitch.decide.analysis import (
    BreakEven,
    OptionSummary,
    PairSummary,
    PilotValue,
    TornadoEntry,
)

OBJECTIVE_LABEL = {
    "npv": "value to existing holders",
    "risk": "risk-adjusted value to existing holders",
    "cost": "total compute cost",
    "compute": "compute delivered",
}
P_BEST_MIN = 0.6  # below it, the verdict is "too close to call"
SE_WARNING = 0.5  # warn when the difference's standard error exceeds this share of it


@dataclass(frozen=True)
class Verdict:
    option: str
    label: str
    objective: str
    probability: float
    runner_up: str
    p_beats_runner_up: float
    expected_advantage: float
    advantage_se: float
    too_close: bool
    recommend_pilot: bool
    flip_inputs: list[str]
    sentence: str
    warnings: list[str] = field(default_factory=list)


def fmt_objective(objective: str, x: float) -> str:
    """Money as $1.23B / $45M; compute in FLOP; cost objective reported as a positive cost."""
    if objective == "compute":
        return fmt.flop(x)
    return fmt_usd(x)


def fmt_usd(x: float) -> str:
    """Money in the one style of chipswitch.format: $1.23B, $45.6M, -$3.54B."""
    return fmt.money(x)


def rank_value(o: OptionSummary, objective: str) -> float:
    """What ranks options: the mean, or (1 - w) mean + w CVaR_5% for the risk objective."""
    return o.risk_adjusted if objective == "risk" else o.expected_objective


def pick_flip_inputs(tornado: Sequence[TornadoEntry], n: int = 2) -> list[TornadoEntry]:
    """Inputs whose p10/p90 swing changes the sign of the difference first, then the widest."""
    ranked = sorted(tornado, key=lambda e: (not e.flips, -e.swing, e.input))
    return list(ranked[:n])


def _pair_stats(
    pairs: Sequence[PairSummary], a: str, b: str
) -> tuple[float, float]:  # P(a better), se of E[a - b]
    for p in pairs:
        if (p.a, p.b) == (a, b):
            return p.p_a_better, p.difference_se
        if (p.a, p.b) == (b, a):
            return 1.0 - p.p_a_better, p.difference_se
    return 0.5, float("inf")


def make_verdict(
    objective: str,
    options: Sequence[OptionSummary],
    pairs: Sequence[PairSummary],
    tornado: Sequence[TornadoEntry],
    break_even: Sequence[BreakEven],
    pair: tuple[str, str],
    pilot: PilotValue | None = None,
) -> Verdict:
    """Rules (docs/decide.md 'Verdict'): the best option by the objective; "too close to call"
    when its P(best) < 0.6 or its mean +- standard error overlaps the runner-up's; "run the
    pilot first" when the pilot's net value (EVSI - cost) exceeds the advantage; a warning when
    the advantage's standard error exceeds half of it."""
    ranked = sorted(options, key=lambda o: (-rank_value(o, objective), o.id))
    win, second = ranked[0], ranked[1]
    p_pair, se = _pair_stats(pairs, win.id, second.id)
    advantage = rank_value(win, objective) - rank_value(second, objective)
    overlap = (
        win.expected_objective - win.objective_se <= second.expected_objective + second.objective_se
    )
    too_close = win.p_best < P_BEST_MIN or (objective != "risk" and overlap)
    recommend_pilot = (
        pilot is not None
        and objective != "compute"
        and pilot.net_value > 0
        and pilot.net_value > abs(advantage)
    )
    flips = pick_flip_inputs(tornado)
    same_pair = {win.id, second.id} == set(pair)
    by_input = {b.input: b for b in break_even if b.found and same_pair}
    parts = []
    for e in flips:
        text = f"{fmt.human_label(e.label)} (E[{pair[0]} - {pair[1]}] {_swing(objective, e)})"
        be = by_input.get(e.input)
        if be is not None and be.value is not None:
            text += f", break-even {be.value:.3g} {be.unit}"
        parts.append(text)
    obj = OBJECTIVE_LABEL[objective]
    adv = fmt_objective(objective, advantage)
    adv_se = fmt_objective(objective, se)
    lead = (
        f"Too close to call on {obj}: '{win.id}' ({win.label}) leads"
        if too_close
        else f"On {obj}, '{win.id}' ({win.label}) is the best option"
    )
    sentence = (
        f"{lead} with P(best) {win.p_best:.0%} and beats '{second.id}' with probability "
        f"{p_pair:.0%} (expected advantage {adv} ± {adv_se} standard error)."
    )
    if recommend_pilot and pilot is not None:
        sentence += (
            f" Run the {pilot.chip} pilot first: it is worth "
            f"{fmt_objective(objective, pilot.evsi)} (EVSI) for "
            f"{fmt_objective(objective, pilot.cost)}, more than the advantage."
        )
    if parts and any(e.flips for e in flips):
        sentence += " The inputs that could flip it: " + " and ".join(parts) + "."
    elif parts:
        sentence += (
            " No single input flips it between its p10 and p90; the ones that move it most: "
            + " and ".join(parts)
            + "."
        )
    warnings = []
    if se > SE_WARNING * abs(advantage):
        warnings.append(
            f"the standard error of E[{win.id} - {second.id}] ({adv_se}) is large against the "
            f"advantage ({adv}); run more samples or --lhs"
        )
    return Verdict(
        option=win.id,
        label=win.label,
        objective=objective,
        probability=win.p_best,
        runner_up=second.id,
        p_beats_runner_up=p_pair,
        expected_advantage=advantage,
        advantage_se=se,
        too_close=too_close,
        recommend_pilot=recommend_pilot,
        flip_inputs=[e.input for e in flips],
        sentence=sentence,
        warnings=warnings,
    )


def _swing(objective: str, e: TornadoEntry) -> str:
    lo, hi = fmt_objective(objective, e.low), fmt_objective(objective, e.high)
    if e.kind == "event":
        return f"{lo} if it does not happen, {hi} if it does"
    return f"{lo} at its p10, {hi} at its p90"
