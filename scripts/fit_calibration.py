#!/usr/bin/env python3
"""Fit per-family efficiencies on a validation CSV and write chipswitch/data/calibration.yaml.

Usage: python scripts/fit_calibration.py [CSV] [--out PATH]
Default CSV: src/chipswitch/data/validation/public.csv (relative to the repository root).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from chipswitch.catalog import load_catalog
from chipswitch.errors import ChipswitchError
from chipswitch.perf.efficiency import CALIBRATION_FILE, Efficiency
from chipswitch.validation.fit import FITTED, FitResult, fit_level, with_interval
from chipswitch.validation.validate import RowCase, read_rows, row_case

ROOT = Path(__file__).resolve().parent.parent


def _entry(r: FitResult) -> dict[str, object]:
    e = r.eff
    out: dict[str, object] = {k: round(float(getattr(e, k)), 6) for k in FITTED}
    out["interval_log_lo"] = round(e.interval_log_lo, 4)
    out["interval_log_hi"] = round(e.interval_log_hi, 4)
    return out


def _stats(r: FitResult) -> dict[str, object]:
    a = np.abs(np.expm1(r.residuals))
    cv = np.abs(np.expm1(r.cv_residuals)) if r.cv_residuals.size else np.array([np.nan])
    return {
        "rows": r.n_rows,
        "in_sample_median_abs_error": round(float(np.median(a)), 4),
        "in_sample_p90_abs_error": round(float(np.quantile(a, 0.9)), 4),
        "cv_median_abs_error": round(float(np.nanmedian(cv)), 4),
        "cv_p90_abs_error": round(float(np.nanquantile(cv, 0.9)), 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "csv", nargs="?", default=str(ROOT.parent / "shared" / "validation" / "public.csv")
    )
    ap.add_argument("--out", default=str(CALIBRATION_FILE))
    args = ap.parse_args()
    path = Path(args.csv)
    cat = load_catalog()
    cases: list[RowCase] = []
    for row in read_rows(path):
        try:
            cases.append(row_case(row, cat))
        except (ChipswitchError, ValueError):
            continue
    base = Efficiency()
    by_family: dict[str, list[RowCase]] = defaultdict(list)
    by_vendor: dict[str, list[RowCase]] = defaultdict(list)
    for c in cases:
        by_family[c.family].append(c)
        by_vendor[c.vendor].append(c)
    families, vendors, meta_fit = {}, {}, {}
    fam_fits: dict[str, FitResult] = {}
    for fam, cs in sorted(by_family.items()):
        print(f"fitting family {fam} on {len(cs)} rows ...", file=sys.stderr)
        fam_fits[fam] = fit_level(cs, cat, base, lambda c: c.source, "family", fam)
    # A family measured by one source only cannot be cross-validated on its own: it gets the
    # pooled leave-one-source-out residuals of the families that can.
    pooled = np.concatenate([r.cv_residuals for r in fam_fits.values() if r.cv_residuals.size >= 5])
    for fam, r in fam_fits.items():
        if r.cv_residuals.size < 5:
            r = fam_fits[fam] = with_interval(r, pooled)
        chips = [cat.chip(c.chip_id) for c in by_family[fam]]
        families[fam] = {
            **_entry(r),
            "vendor": chips[0].vendor,
            "newest_measured_year": max(c.release_year or 0 for c in chips),
        }
        meta_fit[f"family:{fam}"] = _stats(r)
    ven_fits: dict[str, FitResult] = {}
    for ven, cs in sorted(by_vendor.items()):
        print(f"fitting vendor {ven} on {len(cs)} rows ...", file=sys.stderr)
        ven_fits[ven] = fit_level(cs, cat, base, lambda c: c.family, "vendor", ven)
    print(f"fitting default on {len(cases)} rows ...", file=sys.stderr)
    r = fit_level(cases, cat, base, lambda c: c.vendor, "default", "default")
    # A vendor with one measured family: its other families are predicted as well as a new
    # vendor would be (leave-one-vendor-out residuals of the default level).
    for ven, vr in ven_fits.items():
        if vr.cv_residuals.size < 5:
            vr = with_interval(vr, r.cv_residuals)
        vendors[ven] = _entry(vr)
        meta_fit[f"vendor:{ven}"] = _stats(vr)
    default = _entry(r)
    meta_fit["default"] = _stats(r)
    doc = {
        "meta": {
            "fitted_on": dt.date.today().isoformat(),
            "script": "scripts/fit_calibration.py",
            "data": path.name,
            "data_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "rows_used": len(cases),
            "measured_chips": sorted({c.chip_id for c in cases}),
            "parameters_fitted": list(FITTED),
            "others": "documented defaults of chipswitch.perf.efficiency.Efficiency",
            "intervals": "10th/90th percentiles of cross-validated log(pred/measured): "
            "leave-one-source-out (family), leave-one-family-out (vendor), "
            "leave-one-vendor-out (default)",
            "fit_quality": meta_fit,
        },
        "families": families,
        "vendors": vendors,
        "default": default,
    }
    out = Path(args.out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(
        "# Generated by scripts/fit_calibration.py; do not edit by hand.\n"
        + yaml.safe_dump(doc, sort_keys=False)
    )
    tmp.replace(out)
    print(yaml.safe_dump(meta_fit, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
