"""Fit the per-family efficiency parameters on published runs (library side of
`scripts/fit_calibration.py`).

A few physically meaningful parameters are fitted per chip family, shared by every row of
that family: the bf16 and fp8 matmul fractions of peak, the flash-attention fraction, the
fraction of HBM bandwidth that memory-bound kernels reach, the host's cost per kernel launch
of eager stacks (perf/host.py), the fixed time per layer of compiled (XLA, Neuron) ones, and
the rate a megacore chip (TPU v4, v5p) keeps when it splits each operation over two
TensorCores (identified only against single-core rows of the same level).
A parameter is fitted only where the family has rows that depend on it (MIN_ROWS of them);
otherwise it keeps its documented default. Everything else keeps its default.

The objective is a robust (soft-L1) sum over rows of log(predicted/measured), **each source
weighted equally** (a row of a source with n rows weighs 1/n), plus a weak pull toward the
`base` efficiencies so that sparse families stay physical. scripts/fit_calibration.py passes
the level above as `base` (family <- vendor <- all-vendor <- documented defaults): partial
pooling.

Intervals come from cross-validation, never from in-sample residuals:
- family level: leave-one-source-out inside the family (a new publication on a known chip);
- vendor level (a chip family of a known vendor without data): leave-one-family-out;
- default level (an unmeasured vendor): leave-one-vendor-out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares

from chipswitch.catalog import Catalog
from chipswitch.perf.efficiency import Efficiency
from chipswitch.perf.software import load_software
from chipswitch.validation.validate import RowCase, predict_case

FITTED = (
    "matmul",
    "attention",
    "memory",
    "fp8_matmul",
    "launch_overhead",
    "layer_overhead",
    "megacore",
)
# Physical ranges: fractions of a peak within (0, 1]; seconds within what a host can
# plausibly cost (a launch of 200 us, or 5 ms per layer, would be a broken setup); a
# megacore chip keeping less than half its rate would be worse than using one core.
LOWER = np.array([0.2, 0.05, 0.1, 0.2, 0.0, 0.0, 0.5])
UPPER = np.array([1.0, 1.0, 1.0, 1.0, 200e-6, 5e-3, 1.0])
PRIOR_WEIGHT = 0.03
PRIOR_SCALE = np.array([1.0, 1.0, 1.0, 1.0, 50e-6, 1e-3, 1.0])  # natural scale of each
SOFT_L1_SCALE = 0.1  # residuals beyond ~10% count linearly, not quadratically
MIN_ROWS = 3


@dataclass(frozen=True)
class FitResult:
    eff: Efficiency
    n_rows: int
    residuals: np.ndarray  # in-sample log(pred/measured)
    cv_residuals: np.ndarray  # cross-validated log(pred/measured)
    free: tuple[str, ...] = ()  # the parameters that were fitted
    cv_weights: np.ndarray | None = None  # source weights of cv_residuals
    cv_sources: tuple[str, ...] = ()  # the source of each cv residual, when recorded


def _with(base: Efficiency, x: np.ndarray) -> Efficiency:
    return base.with_(**{k: float(v) for k, v in zip(FITTED, x, strict=True)})


def log_residuals(cases: Sequence[RowCase], cat: Catalog, eff: Efficiency) -> np.ndarray:
    return np.array([math.log(predict_case(c, cat, eff).predicted / c.measured) for c in cases])


def source_weights(cases: Sequence[RowCase]) -> np.ndarray:
    """1/n for a row of a source with n rows: every source weighs the same."""
    n = Counter(c.source for c in cases)
    return np.array([1.0 / n[c.source] for c in cases])


def free_parameters(cases: Sequence[RowCase], fit_fp8: bool = True) -> tuple[str, ...]:
    """The parameters that the rows can determine (MIN_ROWS rows that depend on each)."""
    table = load_software()

    def sw(c: RowCase) -> object:
        return table.get(c.software, c.vendor)

    counts = {
        "matmul": len(cases),
        "attention": sum(sw(c).flash_attention for c in cases),  # type: ignore[attr-defined]
        "memory": len(cases),
        "fp8_matmul": sum(c.workload.precision == "fp8" for c in cases) if fit_fp8 else 0,
        "launch_overhead": sum(sw(c).host_launch > 0 for c in cases),  # type: ignore[attr-defined]
        "layer_overhead": sum(sw(c).host_launch == 0 for c in cases),  # type: ignore[attr-defined]
        # identified only against single-core rows of the same level
        "megacore": min(sum(c.megacore for c in cases), sum(not c.megacore for c in cases)),
    }
    return tuple(k for k in FITTED if counts[k] >= MIN_ROWS)


def _robust(r: np.ndarray) -> np.ndarray:
    """Residuals whose squares sum to the soft-L1 loss: rho(r) = 2 f^2 (sqrt(1 + (r/f)^2) - 1)."""
    f = SOFT_L1_SCALE
    return np.asarray(np.sign(r) * np.sqrt(2.0 * f * f * (np.sqrt(1.0 + (r / f) ** 2) - 1.0)))


def fit(
    cases: Sequence[RowCase], cat: Catalog, base: Efficiency, fit_fp8: bool = True
) -> Efficiency:
    """Weighted robust least-squares fit of the free parameters of `base` on `cases`.

    The fp8 GEMM fraction is fitted only where at least MIN_ROWS fp8 runs exist (and not at
    the all-vendor default level, where it would transfer one vendor's fp8 stack to
    another); else it keeps its documented default."""
    return fit_result(cases, cat, base, fit_fp8)[0]


def fit_result(
    cases: Sequence[RowCase],
    cat: Catalog,
    base: Efficiency,
    fit_fp8: bool = True,
    exclude: tuple[str, ...] = (),
) -> tuple[Efficiency, tuple[str, ...]]:
    """The fitted efficiencies and the names of the parameters fitted. A parameter that lands
    on a bound of its range is pinned at its default and the rest refitted (`exclude`)."""
    x0 = np.array([getattr(base, k) for k in FITTED])
    names = tuple(k for k in free_parameters(cases, fit_fp8) if k not in exclude)
    free = np.array([k in names for k in FITTED])
    sw = np.sqrt(source_weights(cases))

    def full(xf: np.ndarray) -> np.ndarray:
        x = x0.copy()
        x[free] = xf
        return x

    def objective(xf: np.ndarray) -> np.ndarray:
        x = full(xf)
        r = _robust(log_residuals(cases, cat, _with(base, x))) * sw
        prior = PRIOR_WEIGHT * (x - x0)[free] / PRIOR_SCALE[free]
        return np.concatenate([r, prior])

    start = np.clip(x0[free], LOWER[free], UPPER[free])
    sol = least_squares(
        objective,
        start,
        bounds=(LOWER[free], UPPER[free]),
        x_scale=PRIOR_SCALE[free],
        diff_step=1e-3,
        max_nfev=60,
    )
    eff = _with(base, full(sol.x))
    pinned = on_bound(eff, names)
    if pinned:
        # The rows push these to the edge of their physical range: the structure misses a
        # term they would absorb. Keep them at their documented defaults and refit the rest.
        return fit_result(cases, cat, base, fit_fp8, exclude=(*exclude, *pinned))
    return eff, names


def on_bound(eff: Efficiency, names: Sequence[str], rel: float = 1e-3) -> list[str]:
    """Fitted parameters within `rel` of their range's width from a bound."""
    out = []
    for k in names:
        i = FITTED.index(k)
        v, lo, hi = getattr(eff, k), LOWER[i], UPPER[i]
        if min(v - lo, hi - v) <= rel * (hi - lo):
            out.append(k)
    return out


def weighted_quantile(x: np.ndarray, q: Sequence[float], w: np.ndarray | None) -> np.ndarray:
    """Quantiles of `x` with weights `w` (each source weighing the same)."""
    if w is None or w.size != x.size:
        return np.asarray(np.quantile(x, q))
    order = np.argsort(x)
    xs, ws = x[order], w[order]
    cum = (np.cumsum(ws) - 0.5 * ws) / ws.sum()
    return np.asarray(np.interp(q, cum, xs))


#: Cross-validated residuals a level needs to set its own interval; with fewer it takes the
#: interval of a wider pool (scripts/fit_calibration.py).
MIN_CV_RESIDUALS = 5


def interval_bounds(pool: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """An 80% interval (log lo, log hi) from the 10th/90th percentiles of `pool` (log
    residuals), never narrower than +-5%."""
    lo, hi = weighted_quantile(pool, [0.1, 0.9], weights)
    return float(min(lo, -0.05)), float(max(hi, 0.05))


def with_interval(r: FitResult, pool: np.ndarray, weights: np.ndarray | None = None) -> FitResult:
    """Set the 80% interval from the 10th/90th percentiles of `pool` (log residuals)."""
    lo, hi = interval_bounds(pool, weights)
    return replace(r, eff=r.eff.with_(interval_log_lo=lo, interval_log_hi=hi))


def nested_interval(
    source: str, *pools: FitResult, min_residuals: int = MIN_CV_RESIDUALS
) -> tuple[float, float]:
    """The 80% interval (log lo, log hi) a level would have had without `source`: the first
    of `pools` keeping `min_residuals` cross-validated residuals of other sources sets it,
    as `with_interval` does for the shipped levels. A held-out source's own residuals must
    not widen or narrow the interval it is scored against (nested cross-validation)."""
    for p in pools:
        keep = np.array([s != source for s in p.cv_sources], dtype=bool)
        if keep.sum() >= min_residuals:
            w = p.cv_weights[keep] if p.cv_weights is not None else None
            return interval_bounds(p.cv_residuals[keep], w)
    raise ValueError(f"no level keeps {min_residuals} cross-validated residuals without {source}")
