"""The verdict: one sentence naming the winning option, its probability and what could flip it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chipswitch.decide.analysis import BreakEven, OptionSummary, PairSummary, TornadoEntry

OBJECTIVE_LABEL = {
    "npv": "NPV to existing holders",
    "cost": "total compute cost",
    "compute": "compute delivered",
}


@dataclass(frozen=True)
class Verdict:
    option: str
    label: str
    objective: str
    probability: float
    runner_up: str
    p_beats_runner_up: float
    expected_advantage: float
    flip_inputs: list[str]
    sentence: str


def fmt_objective(objective: str, x: float) -> str:
    """Money as $1.23B / $45M; compute in FLOP; cost objective reported as a positive cost."""
    if objective == "compute":
        return f"{x:.3g} FLOP"
    return fmt_usd(x)


def fmt_usd(x: float) -> str:
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 1e9:
        return f"{sign}${a / 1e9:.2f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:.0f}M"
    return f"{sign}${a:,.0f}"


def pick_flip_inputs(tornado: Sequence[TornadoEntry], n: int = 2) -> list[TornadoEntry]:
    """Inputs whose p10/p90 swing changes the sign of the difference first, then the widest."""
    ranked = sorted(tornado, key=lambda e: (not e.flips, -e.swing, e.input))
    return list(ranked[:n])


def make_verdict(
    objective: str,
    options: Sequence[OptionSummary],
    pairs: Sequence[PairSummary],
    tornado: Sequence[TornadoEntry],
    break_even: Sequence[BreakEven],
    break_even_pair: tuple[str, str],
) -> Verdict:
    ranked = sorted(options, key=lambda o: (-o.expected_objective, o.id))
    win, second = ranked[0], ranked[1]
    p_pair = 0.5
    for p in pairs:
        if (p.a, p.b) == (win.id, second.id):
            p_pair = p.p_a_better
        elif (p.a, p.b) == (second.id, win.id):
            p_pair = 1.0 - p.p_a_better
    advantage = win.expected_objective - second.expected_objective
    flips = pick_flip_inputs(tornado)
    same_pair = {win.id, second.id} == set(break_even_pair)
    by_input = {b.input: b for b in break_even if b.found and same_pair}
    parts = []
    for e in flips:
        text = f"{e.label} ({_swing(objective, e)})"
        be = by_input.get(e.input)
        if be is not None and be.value is not None:
            text += f", break-even {be.value:.3g} {be.unit}"
        parts.append(text)
    obj = OBJECTIVE_LABEL[objective]
    sentence = (
        f"On {obj}, '{win.id}' ({win.label}) is the best option with probability "
        f"{win.p_best:.0%} and beats the runner-up '{second.id}' with probability {p_pair:.0%} "
        f"(expected advantage {fmt_objective(objective, advantage)})."
    )
    if parts:
        sentence += " The inputs that could flip it: " + " and ".join(parts) + "."
    return Verdict(
        option=win.id,
        label=win.label,
        objective=objective,
        probability=win.p_best,
        runner_up=second.id,
        p_beats_runner_up=p_pair,
        expected_advantage=advantage,
        flip_inputs=[e.input for e in flips],
        sentence=sentence,
    )


def _swing(objective: str, e: TornadoEntry) -> str:
    lo, hi = fmt_objective(objective, e.low), fmt_objective(objective, e.high)
    if e.kind == "event":
        return f"advantage {lo} if it does not happen, {hi} if it does"
    return f"advantage {lo} at its p10, {hi} at its p90"
