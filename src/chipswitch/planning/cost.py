"""Time, money and energy to train a number of tokens at a predicted throughput.

Energy counts the accelerators at their TDP for the whole run (an upper bound on chip energy;
host, network and cooling are not included: multiply by a facility PUE and server overhead,
e.g. Epoch AI's 1.1 and ~1.8x, for a data-centre figure).
"""

from __future__ import annotations

from dataclasses import dataclass

from chipswitch.hardware.spec import Chip, Price


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


def training_cost(
    tokens: float,
    tokens_per_s_per_chip: float,
    interval: tuple[float, float],
    n_chips: int,
    chip: Chip,
    price: Price | None = None,
) -> TrainingCost:
    """Wall time = tokens / (throughput per chip x chips); cost = chip-seconds x price."""
    if tokens <= 0:
        raise ValueError("tokens to train must be positive")
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
    return TrainingCost(
        tokens, secs, (lo_s, hi_s), secs * n_chips, usd, usd_iv, price, energy, energy_iv
    )
