"""Time, money and energy to train a number of tokens at a predicted throughput: the ideal
figure (every chip-hour trains) and, with a failure model, the all-in figure (failures,
restarts, lost work and checkpoint writes included; `chipswitch.planning.goodput`).

Energy counts the accelerators at their TDP for the whole run (an upper bound on chip energy;
host, network and cooling are not included: multiply by a facility PUE and server overhead,
e.g. Epoch AI's 1.1 and ~1.8x, for a data-centre figure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chipswitch.errors import ChipswitchError
from chipswitch.hardware.spec import Chip, Price
from chipswitch.planning.goodput import (
    GoodputResult,
    Reliability,
    combine_goodput,
    combine_intervals,
    goodput,
)


@dataclass(frozen=True)
class GoodputInputs:
    """What the all-in figure assumes: the chip family's reliability, the checkpoint size
    (bytes), and optionally the job's storage write bandwidth (bytes/s) and checkpoint interval
    (seconds of training; Daly's optimum when None)."""

    reliability: Reliability
    state_bytes: float
    storage_bandwidth: float | None = None
    checkpoint_interval_s: float | None = None


@dataclass(frozen=True)
class AllIn:
    """The run with failures counted: wall seconds, chip-seconds, USD and energy (joules, at
    TDP for the whole wall time), each with its 80% interval."""

    seconds: float
    seconds_interval: tuple[float, float]
    chip_seconds: float
    usd: float | None
    usd_interval: tuple[float, float] | None
    energy_joules: float | None
    energy_interval: tuple[float, float] | None


#: Most tokens a training run may ask for: 10^6 x the largest public corpora (~10^14 tokens).
MAX_TOKENS = 1e20


def check_tokens(tokens: float) -> float:
    """`tokens` if it is a finite count in (0, MAX_TOKENS]; else ChipswitchError saying so."""
    if not (math.isfinite(tokens) and 0 < tokens <= MAX_TOKENS):
        raise ChipswitchError(
            f"tokens to train must be a finite number above 0 and at most {MAX_TOKENS:.0e}, "
            f"not {tokens:g}"
        )
    return tokens


@dataclass(frozen=True)
class TrainingCost:
    tokens: float
    seconds: float
    seconds_interval: tuple[float, float]
    chip_seconds: float
    usd: float | None
    usd_interval: tuple[float, float] | None
    price: Price | None
    energy_joules: float | None
    energy_interval: tuple[float, float] | None
    goodput: GoodputResult | None = None
    all_in: AllIn | None = None


def all_in_cost(
    g: GoodputResult,
    ideal_interval: tuple[float, float],
    n_chips: int,
    usd_per_chip_second: float | None,
    watts_per_chip: float | None,
) -> AllIn:
    """Ideal seconds / goodput; its 80% interval joins the step-time interval and the goodput
    interval as independent log-normal errors (`combine_intervals`)."""
    secs = g.wall_s
    gl, gh = g.goodput_interval
    if g.goodput > 0 and math.isfinite(secs):
        factor = (g.goodput / gh, g.goodput / gl if gl > 0 else math.inf)
        ideal_iv = (ideal_interval[0] / g.goodput, ideal_interval[1] / g.goodput)
        iv = combine_intervals(secs, ideal_iv, factor)
    else:  # the run never finishes at the central failure rate
        iv = (ideal_interval[0] / gh if gh > 0 else math.inf, math.inf)

    def scaled(rate: float | None) -> tuple[float | None, tuple[float, float] | None]:
        if rate is None:
            return None, None
        k = rate * n_chips
        return secs * k, (iv[0] * k, iv[1] * k)

    usd, usd_iv = scaled(usd_per_chip_second)
    energy, energy_iv = scaled(watts_per_chip)
    return AllIn(secs, iv, secs * n_chips, usd, usd_iv, energy, energy_iv)


def training_cost(
    tokens: float,
    tokens_per_s_per_chip: float,
    interval: tuple[float, float],
    n_chips: int,
    chip: Chip,
    price: Price | None = None,
    *,
    failures: GoodputInputs | None = None,
    step_time_s: float | None = None,
) -> TrainingCost:
    """Wall time = tokens / (throughput per chip x chips); cost = chip-seconds x price.

    With `failures`, also the all-in figure: the same run once interruptions, restarts, lost
    work and checkpoint writes are counted (`chipswitch.planning.goodput.goodput`)."""
    check_tokens(tokens)
    rate = tokens_per_s_per_chip * n_chips
    secs = tokens / rate
    lo_s, hi_s = tokens / (interval[1] * n_chips), tokens / (interval[0] * n_chips)
    usd = usd_iv = None
    if price is not None and price.usd_per_chip_second is not None:
        p = price.usd_per_chip_second * n_chips
        usd, usd_iv = secs * p, (lo_s * p, hi_s * p)
    energy = energy_iv = None
    if chip.tdp_watts is not None:
        w = chip.tdp_watts * n_chips
        energy, energy_iv = secs * w, (lo_s * w, hi_s * w)
    g = all_in = None
    if failures is not None:
        g = goodput(
            secs,
            n_chips,
            failures.state_bytes,
            failures.reliability,
            storage_bandwidth=failures.storage_bandwidth,
            checkpoint_interval_s=failures.checkpoint_interval_s,
            step_time_s=step_time_s,
        )
        usd_rate = price.usd_per_chip_second if price is not None else None
        all_in = all_in_cost(g, (lo_s, hi_s), n_chips, usd_rate, chip.tdp_watts)
    return TrainingCost(
        tokens, secs, (lo_s, hi_s), secs * n_chips, usd, usd_iv, price, energy, energy_iv,
        g, all_in,
    )  # fmt: skip


def _sum_pairs(pairs: Sequence[tuple[float, float] | None]) -> tuple[float, float] | None:
    if any(p is None for p in pairs):
        return None
    return sum(p[0] for p in pairs if p), sum(p[1] for p in pairs if p)


def _sum(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def combine_costs(parts: Sequence[TrainingCost]) -> TrainingCost:
    """The cost of a run made of consecutive stages (e.g. pre-training, then a long-context
    extension): tokens, seconds, chip-seconds, USD and energy add up, ideal and all-in. Interval
    bounds add stage by stage: the stages share one calibration and one failure model, so their
    errors move together rather than cancel."""
    if not parts:
        raise ValueError("no stages to combine")
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    seconds_iv = _sum_pairs([p.seconds_interval for p in parts])
    assert seconds_iv is not None  # every stage has a time interval
    g = all_in = None
    goodputs = [p.goodput for p in parts]
    all_ins = [p.all_in for p in parts]
    if all(x is not None for x in goodputs) and all(a is not None for a in all_ins):
        g = combine_goodput([x for x in goodputs if x is not None])
        a_list = [a for a in all_ins if a is not None]
        a_iv = _sum_pairs([a.seconds_interval for a in a_list])
        assert a_iv is not None
        all_in = AllIn(
            sum(a.seconds for a in a_list),
            a_iv,
            sum(a.chip_seconds for a in a_list),
            _sum([a.usd for a in a_list]),
            _sum_pairs([a.usd_interval for a in a_list]),
            _sum([a.energy_joules for a in a_list]),
            _sum_pairs([a.energy_interval for a in a_list]),
        )
    return TrainingCost(
        tokens=sum(p.tokens for p in parts),
        seconds=sum(p.seconds for p in parts),
        seconds_interval=seconds_iv,
        chip_seconds=sum(p.chip_seconds for p in parts),
        usd=_sum([p.usd for p in parts]),
        usd_interval=_sum_pairs([p.usd_interval for p in parts]),
        price=first.price,
        energy_joules=_sum([p.energy_joules for p in parts]),
        energy_interval=_sum_pairs([p.energy_interval for p in parts]),
        goodput=g,
        all_in=all_in,
    )
