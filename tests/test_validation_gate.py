"""Validation gate: predict the bundled published runs with their own layouts.

The gate is the issue's (median |error| <= 10 %, p90 <= 25 %); the project's goal is 5 % / 10 %.
Measured numbers are only compared against, never fed back in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chipswitch.catalog import DATA_DIR, load_catalog
from chipswitch.perf.efficiency import load_calibration
from chipswitch.validation.validate import read_rows, validate_rows

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
