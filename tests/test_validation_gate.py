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
    """Accelerators with at least 5 rows. (torchtitan's 3 rows on 500 W H100s are over-predicted
    by ~25 %: the catalog has no sustained-clock figure for the power-capped part.)"""
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
