"""Fit the per-family efficiency parameters on published runs (library side of
`scripts/fit_calibration.py`).

Only six physically meaningful parameters are fitted per chip family, shared by every row
of that family: the bf16 matmul, fp8 matmul and attention fractions of peak, the fraction of
HBM bandwidth that memory-bound kernels reach, a per-layer overhead, and the exposed fraction
of tensor-parallel traffic. Everything else keeps its
documented default. The objective is the robust (soft-L1) sum of log(predicted/measured)
over the family's rows, plus a weak pull toward the defaults so that sparse families stay
physical.

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
from chipswitch.validation.validate import RowCase, predict_case

FITTED = ("matmul", "attention", "layer_overhead", "tp_exposed", "fp8_matmul", "memory")
LOWER = np.array([0.25, 0.10, 0.0, 0.3, 0.25, 0.3])
UPPER = np.array([0.95, 0.95, 3e-3, 1.0, 0.95, 1.0])
PRIOR_WEIGHT = 0.15
PRIOR_SCALE = np.array([1.0, 1.0, 1e-3, 1.0, 1.0, 1.0])  # natural scale of each parameter


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


MIN_FP8_ROWS = 3


def fit(
    cases: Sequence[RowCase], cat: Catalog, base: Efficiency, fit_fp8: bool = True
) -> Efficiency:
    """Least-squares fit of FITTED parameters of `base` on `cases`.

    The fp8 GEMM fraction is fitted only where at least MIN_FP8_ROWS fp8 runs exist (and not at
    the all-vendor default level, where it would transfer one vendor's fp8 stack to another);
    else it keeps its documented default."""
    x0 = np.array([getattr(base, k) for k in FITTED])
    n_fp8 = sum(c.workload.precision == "fp8" for c in cases)
    use_fp8 = fit_fp8 and n_fp8 >= MIN_FP8_ROWS
    free = np.array([k != "fp8_matmul" or use_fp8 for k in FITTED])

    def full(xf: np.ndarray) -> np.ndarray:
        x = x0.copy()
        x[free] = xf
        return x

    def objective(xf: np.ndarray) -> np.ndarray:
        x = full(xf)
        r = log_residuals(cases, cat, _with(base, x))
        prior = PRIOR_WEIGHT * (x - x0)[free] / PRIOR_SCALE[free]
        return np.concatenate([r, prior])

    sol = least_squares(
        objective,
        x0[free],
        bounds=(LOWER[free], UPPER[free]),
        loss="soft_l1",
        f_scale=0.1,
        max_nfev=200,
    )
    return _with(base, full(sol.x))


def cross_validate(
    cases: Sequence[RowCase],
    cat: Catalog,
    base: Efficiency,
    key: Callable[[RowCase], str],
    fit_fp8: bool = True,
) -> np.ndarray:
    """Residuals of each group predicted by a fit on the other groups (leave-one-group-out)."""
    groups = sorted({key(c) for c in cases})
    if len(groups) < 2:
        return np.array([])
    out: list[float] = []
    for g in groups:
        train = [c for c in cases if key(c) != g]
        test = [c for c in cases if key(c) == g]
        eff = fit(train, cat, base, fit_fp8)
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
    """Fit one level; its interval comes from its own cross-validation when it has at least
    two groups, else it is set later by `with_interval` from a pooled one."""
    fit_fp8 = level != "default"
    eff = fit(cases, cat, base, fit_fp8)
    res = log_residuals(cases, cat, eff)
    cv = cross_validate(cases, cat, base, key, fit_fp8)
    fitted = FitResult(eff.with_(level=level, name=name), len(cases), res, cv)
    return with_interval(fitted, cv) if cv.size >= 5 else fitted


def with_interval(r: FitResult, pool: np.ndarray) -> FitResult:
    """Set the 80% interval from the 10th/90th percentiles of `pool` (log residuals)."""
    lo, hi = np.quantile(pool, [0.1, 0.9])
    eff = r.eff.with_(interval_log_lo=float(min(lo, -0.05)), interval_log_hi=float(max(hi, 0.05)))
    return FitResult(eff, r.n_rows, r.residuals, r.cv_residuals)
