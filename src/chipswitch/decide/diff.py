"""`decide-diff`: which inputs differ between two scenarios, and how every output moved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chipswitch.decide.engine import DecisionResult

#: Per-option outputs compared, as (JSON key, label).
OPTION_OUTPUTS = (
    ("expected_objective", "E[objective]"),
    ("objective_se", "standard error"),
    ("p_best", "P(best)"),
    ("cvar_05", "CVaR 5%"),
    ("p_cash_out", "P(cash out)"),
    ("expected_regret", "E[regret]"),
)


@dataclass(frozen=True)
class Change:
    key: str
    a: Any
    b: Any


def flatten(raw: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaf values; list items by their `id` when they have one; a number's
    `value` stands for the number (its source text is compared as `...source`)."""
    out: dict[str, Any] = {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if k == "value" and prefix:
                out[prefix] = v if not isinstance(v, dict | list) else repr(v)
            else:
                out.update(flatten(v, key))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            name = v.get("id", i) if isinstance(v, dict) else i
            out.update(flatten(v, f"{prefix}.{name}"))
    else:
        out[prefix] = raw
    return out


def diff_scenarios(a: Any, b: Any) -> list[Change]:
    """Inputs present in either file whose values differ (sources and notes included)."""
    fa, fb = flatten(a), flatten(b)
    keys = sorted(set(fa) | set(fb))
    return [Change(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]


def diff_results(a: DecisionResult, b: DecisionResult) -> list[Change]:
    """Every per-option output and the verdict, A against B."""
    out: list[Change] = []
    opts_a = {o.id: o for o in a.options}
    opts_b = {o.id: o for o in b.options}
    for oid in sorted(set(opts_a) | set(opts_b)):
        for key, label in OPTION_OUTPUTS:
            va = getattr(opts_a[oid], key) if oid in opts_a else None
            vb = getattr(opts_b[oid], key) if oid in opts_b else None
            out.append(Change(f"{oid}: {label}", va, vb))
    for key in ("option", "probability", "expected_advantage", "too_close", "recommend_pilot"):
        out.append(Change(f"verdict: {key}", getattr(a.verdict, key), getattr(b.verdict, key)))
    if a.decision_hindcast or b.decision_hindcast:
        out.append(
            Change(
                "hindcast winner",
                a.decision_hindcast.get("winner"),
                b.decision_hindcast.get("winner"),
            )
        )
    return out
