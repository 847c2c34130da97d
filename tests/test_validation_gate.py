"""Validation gate: predict the bundled published runs with their own layouts.

The gate is the issue's (median |error| <= 10 %, p90 <= 25 %); the project's goal is 5 % / 10 %.
Measured numbers are only compared against, never fed back in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chipswitch.catalog import DATA_DIR, load_catalog
from chipswitch.perf.efficiency import Efficiency, load_calibration
from chipswitch.validation.fit import FitResult, interval_bounds, nested_interval
from chipswitch.validation.validate import load_cv, read_rows, validate_rows

PUBLIC = DATA_DIR / "validation" / "public.csv"


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return validate_rows(read_rows(PUBLIC), load_catalog(), load_calibration())


def test_gate_median_and_p90(report) -> None:  # type: ignore[no-untyped-def]
    s = report.summary()["all"]
    assert s["n"] >= 140
    assert s["median_abs_error"] <= 0.10
    assert s["p90_abs_error"] <= 0.25


def test_every_well_sampled_accelerator_within_bounds(report) -> None:  # type: ignore[no-untyped-def]
    """Accelerators with at least 5 rows."""
    for acc, st in report.summary()["by_accelerator"].items():
        if st["n"] >= 5:
            assert st["median_abs_error"] <= 0.20, acc


def test_unusable_rows_are_listed_with_reason(report) -> None:  # type: ignore[no-untyped-def]
    rows = read_rows(PUBLIC)
    unusable = {r["id"] for r in rows if r["usable"] == "false"}
    skipped = dict(report.skipped)
    assert unusable <= set(skipped)
    assert all(reason for reason in skipped.values())
    assert len(report.results) + len(report.skipped) == len(rows)


def test_interval_coverage_is_reported(report) -> None:  # type: ignore[no-untyped-def]
    cov = report.summary()["all"]["interval_coverage"]
    assert 0.6 <= cov <= 1.0


def test_leave_one_source_out_coverage_is_near_80_percent(report) -> None:  # type: ignore[no-untyped-def]
    """Out of sample, the 80% interval covers 75-85% of the rows (issue 13's target): an
    interval wider or narrower than that misstates the errors of a new publication."""
    cv = report.summary()["cv"]
    assert cv["n"] >= 140
    assert 0.75 <= cv["interval_coverage"] <= 0.85, cv["interval_coverage"]


def _pool(*by_source: tuple[str, list[float]]) -> FitResult:
    xs = [x for _, v in by_source for x in v]
    srcs = tuple(s for s, v in by_source for _ in v)
    w = np.array([1.0 / len(v) for _, v in by_source for _ in v])
    return FitResult(Efficiency(), len(xs), np.array(xs), np.array(xs), (), w, srcs)


def _bounds(xs: list[float]) -> tuple[float, float]:
    """The interval of one source's residuals (equal weights)."""
    return interval_bounds(np.array(xs), np.ones(len(xs)))


def test_nested_interval_leaves_out_the_scored_source() -> None:
    """A held-out source's own residuals do not set the interval it is scored against."""
    wide = ("outlier", [-2.0, -1.5, 1.5, 2.0, 2.5])
    narrow = ("tight", [-0.2, -0.1, 0.0, 0.1, 0.2, 0.15])
    pool = _pool(wide, narrow)
    lo, hi = nested_interval("outlier", pool)
    assert (lo, hi) == _bounds(narrow[1])
    assert -0.2 <= lo < 0 < hi <= 0.2
    # with every source, the outlier widens the interval
    all_lo, all_hi = interval_bounds(pool.cv_residuals, pool.cv_weights)
    assert all_lo < lo and all_hi > hi


def test_nested_interval_falls_back_to_the_next_level() -> None:
    family = _pool(("a", [0.1, 0.2, 0.3]), ("b", [-0.1, 0.0, 0.1]))
    upper = _pool(("a", [0.5] * 5), ("c", [-0.4, -0.3, 0.3, 0.4, 0.35]))
    # without "a", the family keeps 3 residuals (< 5): the level above, without "a", sets it
    assert nested_interval("a", family, upper) == _bounds(list(upper.cv_residuals[5:]))
    assert nested_interval("z", family, upper) == interval_bounds(
        family.cv_residuals, family.cv_weights
    )
    with pytest.raises(ValueError, match="without a"):
        nested_interval("a", family)


def test_unknown_accelerator_is_skipped_not_dropped(tmp_path: Path) -> None:
    rows = read_rows(PUBLIC)[:3]
    rows[0] = {**rows[0], "accelerator_id": "warp-drive-9000"}
    rep = validate_rows(rows, load_catalog(), load_calibration())
    ids = dict(rep.skipped)
    assert "unknown chip 'warp-drive-9000'" in ids[rows[0]["id"]]
    assert len(rep.results) == 2


def test_errors_are_signed_ratio_minus_one(report) -> None:  # type: ignore[no-untyped-def]
    r = report.results[0]
    assert r.error == pytest.approx(r.predicted / r.measured - 1)
    e = np.array([x.error for x in report.results])
    assert np.isfinite(e).all()


def test_leave_one_source_out_summary_has_the_same_fields(report) -> None:  # type: ignore[no-untyped-def]
    s = report.summary()
    assert set(s["cv"]) == set(s["all"])
    assert s["cv"]["n"] == s["all"]["n"]  # every row of the shipped set was held out once
    assert set(s["cv_by_source"]) == set(s["by_source"])
    # out of sample the error is larger than in sample, never smaller by construction
    assert s["cv"]["median_abs_error"] >= s["all"]["median_abs_error"]


def test_cv_predictions_need_a_matching_measurement(report) -> None:  # type: ignore[no-untyped-def]
    rows = read_rows(PUBLIC)[:5]
    rows[0] = {**rows[0], "tokens_per_s_per_chip": "1.0"}
    rep = validate_rows(rows, load_catalog(), load_calibration())
    assert rep.summary()["cv"]["n"] == 4


def test_no_fitted_parameter_sits_on_a_bound() -> None:
    quality = load_calibration().meta["fit_quality"]
    for level, q in quality.items():
        if isinstance(q, dict) and "on_bound" in q:
            assert q["on_bound"] == [], level


def test_vtrain_single_node_iteration_time() -> None:
    """vTrain's 1,440 single-node A100 runs (one source among the fitted ones): MAPE on
    iteration time within the issue's 12% (vTrain reports 8.4% for its own simulator)."""
    rows = read_rows(DATA_DIR / "validation" / "vtrain_a100_single_node.csv")
    rep = validate_rows(rows, load_catalog(), load_calibration())
    assert len(rep.results) == 1440
    e = np.array([r.error for r in rep.results])
    mape = float(np.mean(np.abs(1.0 / (1.0 + e) - 1.0)))
    assert mape <= 0.12


HOLDOUTS = (
    "holdout_megatron_bridge.csv",
    "holdout_maxtext_v5p.csv",
    "holdout_maxtext_tpu_recipes.csv",
)


@pytest.mark.parametrize("name", HOLDOUTS)
def test_holdout_file_is_modelled_and_never_fitted(name: str) -> None:
    """Every row of a held-out file is predicted (none skipped), and the shipped calibration
    was fitted without it (an out-of-sample check, docs/validation.md)."""
    rows = read_rows(DATA_DIR / "validation" / name)
    rep = validate_rows(rows, load_catalog(), load_calibration())
    assert not rep.skipped, rep.skipped
    assert len(rep.results) == len(rows) >= 4
    cal = load_calibration()
    assert name not in cal.meta["data"]
    assert not {r.id for r in rep.results} & set(load_cv())
