"""Fit the per-family efficiency parameters on published runs (library side of
`scripts/fit_calibration.py`).

Only four physically meaningful parameters are fitted per chip family, shared by every row
of that family: the matmul and attention fractions of peak, a per-layer overhead, and the
exposed fraction of tensor-parallel traffic. Everything else keeps its documented default.
The objective is the robust (soft-L1) sum of log(predicted/measured) over the family's rows,
plus a weak pull toward the defaults so that sparse families stay physical.

Intervals come from cross-validation, never from in-sample residuals:
- family level: leave-one-source-out inside the family (a new publication on a known chip);
- vendor level (a chip family of a known vendor without data): leave-one-family-out;
- default level (an unmeasured vendor): leave-one-vendor-out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from chipswitch.catalog import Catalog
from chipswitch.perf.efficiency import Efficiency
from chipswitch.validate import RowCase, predict_case

FITTED = ("matmul", "attention", "layer_overhead", "tp_exposed")
LOWER = np.array([0.25, 0.10, 0.0, 0.3])
UPPER = np.array([0.95, 0.95, 3e-3, 1.0])
PRIOR_WEIGHT = 0.15
PRIOR_SCALE = np.array([1.0, 1.0, 1e-3, 1.0])  # natural scale of each parameter


@dataclass(frozen=True)
class FitResult:
    eff: Efficiency
    n_rows: int
    residuals: np.ndarray  # in-sample log(pred/measured)
    cv_residuals: np.ndarray  # cross-validated log(pred/measured)


def _with(base: Efficiency, x: np.ndarray) -> Efficiency:
    return base.with_(**{k: float(v) for k, v in zip(FITTED, x, strict=True)})


def log_residuals(cases: Sequence[RowCase], cat: Catalog, eff: Efficiency) -> np.ndarray:
    return np.array([math.log(predict_case(c, cat, eff).predicted / c.measured) for c in cases])


def fit(cases: Sequence[RowCase], cat: Catalog, base: Efficiency) -> Efficiency:
    """Least-squares fit of FITTED parameters of `base` on `cases`."""
    x0 = np.array([getattr(base, k) for k in FITTED])

    def objective(x: np.ndarray) -> np.ndarray:
        r = log_residuals(cases, cat, _with(base, x))
        prior = PRIOR_WEIGHT * (x - x0) / PRIOR_SCALE
        return np.concatenate([r, prior])

    sol = least_squares(
        objective, x0, bounds=(LOWER, UPPER), loss="soft_l1", f_scale=0.1, max_nfev=200
    )
    return _with(base, sol.x)


def cross_validate(
    cases: Sequence[RowCase], cat: Catalog, base: Efficiency, key: Callable[[RowCase], str]
) -> np.ndarray:
    """Residuals of each group predicted by a fit on the other groups (leave-one-group-out)."""
    groups = sorted({key(c) for c in cases})
    if len(groups) < 2:
        return np.array([])
    out: list[float] = []
    for g in groups:
        train = [c for c in cases if key(c) != g]
        test = [c for c in cases if key(c) == g]
        eff = fit(train, cat, base)
        out.extend(log_residuals(test, cat, eff))
    return np.array(out)


def fit_level(
    cases: Sequence[RowCase],
    cat: Catalog,
    base: Efficiency,
    key: Callable[[RowCase], str],
    level: str,
    name: str,
) -> FitResult:
    eff = fit(cases, cat, base)
    res = log_residuals(cases, cat, eff)
    cv = cross_validate(cases, cat, base, key)
    pool = cv if cv.size >= 5 else np.concatenate([cv, res, -res])  # symmetric fallback
    lo, hi = np.quantile(pool, [0.1, 0.9])
    eff = eff.with_(
        interval_log_lo=float(min(lo, -0.05)),
        interval_log_hi=float(max(hi, 0.05)),
        level=level,
        name=name,
    )
    return FitResult(eff, len(cases), res, cv)
