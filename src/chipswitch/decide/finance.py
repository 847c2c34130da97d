"""Financing arithmetic on sample arrays: dilution, value transferred, discounting, runway.

All functions are pure and vectorised over samples; money in USD, time in months.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Arr = FloatArray | float

RUNWAY_CAP_MONTHS = 120.0


def discount_factor(months: Arr, rate_per_year: Arr) -> Arr:
    """(1 + r)^(-t/12): present value of 1 USD paid `months` from now at annual rate r."""
    return np.power(1.0 + np.asarray(rate_per_year), -np.asarray(months) / 12.0)


def equity_ownership(amount: Arr, post_money: Arr) -> Arr:
    """Share sold in a priced round: investment / post-money (decision_research.md 5.1)."""
    return np.asarray(np.minimum(np.asarray(amount) / np.asarray(post_money), 1.0))


def note_ownership(
    amount: Arr,
    round_post_money: Arr,
    discount: Arr,
    cap: Arr | None,
    interest_per_year: Arr,
    months_to_conversion: Arr,
) -> Arr:
    """Share a convertible note converts into at the next priced round.

    Principal plus simple interest converts at the lower of the round valuation times
    (1 - discount) and the cap (decision_research.md 5.1, 6.3: `post_money_effective =
    conversion_valuation x (1 - discount)` or the cap, whichever is lower). Valuations are
    treated as post-money, the 'percentage method'; the pre-money method would sell slightly
    more (section 5.1 notes the two disagree).
    """
    principal = np.asarray(amount) * (
        1.0 + np.asarray(interest_per_year) * months_to_conversion / 12.0
    )
    price = np.asarray(round_post_money) * (1.0 - np.asarray(discount))
    if cap is not None:
        price = np.minimum(price, cap)
    price = np.maximum(price, 1.0)
    return np.minimum(principal / price, 1.0)


def financing_value(amount: Arr, ownership: Arr, next_round_post_money: Arr) -> Arr:
    """Value to existing holders of taking `amount` for `ownership`, marked at the next round.

    amount - ownership x V_next: zero for money raised at the next round's price, negative
    when the stake is sold below it (a note's discount, a round priced before a rise).
    Decision_research.md 5.2: value a compute-linked investment as cash against what it costs.
    """
    return np.asarray(
        np.asarray(amount) - np.asarray(ownership) * np.asarray(next_round_post_money)
    )


def runway(cash0: Arr, net_flow: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Months until cash runs out, and the month it does (inf if it does not in the horizon).

    `net_flow` (samples, months) is cash in minus cash out per month. Cash is simulated month
    by month (decision_research.md 6.3 'Runway: months = cash_t / net_burn_t simulated
    monthly'); within the month of the crossing the time is interpolated linearly. If cash
    lasts the horizon H, runway = H + cash_H / burn in the last month (capped at 120 months;
    the cap applies when the lab no longer burns cash).
    """
    n, h = net_flow.shape
    cash = np.asarray(cash0, dtype=np.float64).reshape(-1, 1) + np.cumsum(net_flow, axis=1)
    neg = cash < 0.0
    any_neg = neg.any(axis=1)
    first = np.where(any_neg, neg.argmax(axis=1), h)
    rows = np.arange(n)
    idx = np.minimum(first, h - 1)
    before = np.where(first > 0, cash[rows, np.maximum(idx - 1, 0)], np.asarray(cash0) * np.ones(n))
    flow = net_flow[rows, idx]
    frac = np.where(flow < 0, np.clip(before / np.where(flow < 0, -flow, 1.0), 0.0, 1.0), 0.0)
    out_month = np.where(any_neg, first + frac, np.inf)
    burn_end = -net_flow[:, -1]
    extra = np.where(
        burn_end > 0, cash[:, -1] / np.where(burn_end > 0, burn_end, 1.0), RUNWAY_CAP_MONTHS
    )
    months = np.where(any_neg, out_month, np.minimum(h + extra, RUNWAY_CAP_MONTHS))
    return months, out_month


def terminal_value(v_next: Arr, df_horizon: Arr, growth: Arr, delay_months: Arr) -> Arr:
    """Company value at the horizon: the next round's post-money valuation (the market's value
    of the roadmap delivered on time) grown at the discount rate to the horizon, V_next /
    DF(H), times g^(-D/12) for a next frontier model D months late: a delay shifts the
    revenue curve R(t) = R0 g^(t/12) by D months (docs/decide.md 'Value'). A shrinking
    company (g < 1) gains nothing from a delay: g is floored at 1."""
    g = np.maximum(np.asarray(growth), 1.0)
    shift = np.power(g, -np.asarray(delay_months) / 12.0)
    return np.asarray(np.asarray(v_next) / np.asarray(df_horizon) * shift)


def holders_value(keep: Arr, terminal: Arr, cash_end: Arr, df_horizon: Arr) -> Arr:
    """Value to existing holders: their post-dilution share `keep` of the company's value at
    the horizon, terminal value discounted at the (risky) discount rate plus the cash left at
    face value (cash is riskless: it earns the risk-free rate and is discounted at it), floored
    at zero (limited liability; unpaid bills count against the value)."""
    equity = np.asarray(terminal) * np.asarray(df_horizon) + np.asarray(cash_end)
    return np.asarray(np.asarray(keep) * np.maximum(equity, 0.0))
