#!/usr/bin/env python3
"""Fit per-family efficiencies on validation CSVs and write chipswitch/data/calibration.yaml
and the leave-one-source-out predictions chipswitch/data/calibration_cv.csv.

Usage: python scripts/fit_calibration.py [CSV ...] [--out PATH] [--cv-out PATH]
Default CSVs: src/chipswitch/data/validation/public.csv and vtrain_a100_single_node.csv.

Every source weighs the same in every fit (validation/fit.py). A source with more than
MAX_FIT_ROWS rows (vTrain's 1,440) is fitted on MAX_FIT_ROWS of them, evenly spaced, for
speed; all its rows are predicted and scored.

Levels are pooled (Fitter): the all-vendor fit starts from Efficiency's documented defaults,
a vendor's fit from the all-vendor fit, a family's from its vendor's.

Leave-one-source-out (`summary.cv` of `chipswitch validate --json`): each source's rows are
predicted by the whole chain refitted without that source (all-vendor, then vendor, then
family); a family left without rows stops at its vendor's fit, a vendor without rows at the
all-vendor fit, as an unmeasured chip would.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import math
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml

from chipswitch.catalog import Catalog, load_catalog
from chipswitch.errors import ChipswitchError
from chipswitch.perf.efficiency import CALIBRATION_FILE, CV_FILE, Efficiency
from chipswitch.perf.flops import model_flops_per_token
from chipswitch.validation.fit import (
    FITTED,
    MIN_CV_RESIDUALS,
    FitResult,
    fit_result,
    free_parameters,
    log_residuals,
    nested_interval,
    on_bound,
    source_weights,
    with_interval,
)
from chipswitch.validation.validate import RowCase, read_rows, row_case

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "chipswitch" / "data" / "validation"
MAX_FIT_ROWS = 240


def _entry(r: FitResult) -> dict[str, object]:
    e = r.eff
    out: dict[str, object] = {k: float(f"{getattr(e, k):.6g}") for k in FITTED}
    out["interval_log_lo"] = round(e.interval_log_lo, 4)
    out["interval_log_hi"] = round(e.interval_log_hi, 4)
    return out


def _stats(r: FitResult) -> dict[str, object]:
    a = np.abs(np.expm1(r.residuals))
    cv = np.abs(np.expm1(r.cv_residuals)) if r.cv_residuals.size else np.array([np.nan])
    return {
        "rows": r.n_rows,
        "fitted": list(r.free),
        "on_bound": on_bound(r.eff, r.free),
        "in_sample_median_abs_error": round(float(np.median(a)), 4),
        "in_sample_p90_abs_error": round(float(np.quantile(a, 0.9)), 4),
        "cv_median_abs_error": round(float(np.nanmedian(cv)), 4),
        "cv_p90_abs_error": round(float(np.nanquantile(cv, 0.9)), 4),
    }


def _thin(cases: Sequence[RowCase]) -> list[RowCase]:
    """At most MAX_FIT_ROWS rows per source, evenly spaced (fit speed only)."""
    by: dict[str, list[RowCase]] = defaultdict(list)
    for c in cases:
        by[c.source].append(c)
    out: list[RowCase] = []
    for cs in by.values():
        step = max(1, math.ceil(len(cs) / MAX_FIT_ROWS))
        out.extend(cs[::step])
    return out


class Fitter:
    """Fits on the thinned rows, scores on all rows.

    Partial pooling: a level is fitted starting from, and weakly pulled toward, the level
    above it fitted on the same rows (family <- vendor <- all-vendor default <- the documented
    defaults of Efficiency), so that a parameter the family's own rows cannot determine takes
    the value the wider data gives it rather than a hand-set default (Gelman & Hill 2007,
    "Data Analysis Using Regression and Multilevel/Hierarchical Models", ch. 12)."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self.base = Efficiency()

    def fit(
        self, cases: Sequence[RowCase], base: Efficiency | None = None, fit_fp8: bool = True
    ) -> tuple[Efficiency, tuple[str, ...]]:
        rows = _thin(cases)
        base = base or self.base
        if "layer_overhead" not in free_parameters(rows, fit_fp8):
            # the per-layer time of compiled programs is not pooled into levels whose rows
            # run eager stacks only: they pay per launch instead (Efficiency docstring)
            base = base.with_(layer_overhead=0.0)
        return fit_result(rows, self.cat, base, fit_fp8)

    def pooled(self, train: Sequence[RowCase], family: str, vendor: str) -> tuple[Efficiency, str]:
        """The family's parameters fitted on `train` through the hierarchy, and the deepest
        level that had rows: "family", "vendor" or "default"."""
        eff, _ = self.fit(train, fit_fp8=False)
        level = "default"
        ven = [c for c in train if c.vendor == vendor]
        if ven:
            eff, _ = self.fit(ven, eff)
            level = "vendor"
        fam = [c for c in ven if c.family == family]
        if fam:
            eff, _ = self.fit(fam, eff)
            level = "family"
        return eff, level

    def level(
        self,
        cases: Sequence[RowCase],
        group: str,
        level: str,
        name: str,
        base: Callable[[str | None], Efficiency] | None = None,
    ) -> FitResult:
        """Fit a level and its own leave-one-`group`-out residuals (source-weighted).
        `base(k)`: the level above fitted without group `k` (None: on everything)."""
        fit_fp8 = level != "default"
        eff, free = self.fit(cases, base(None) if base else None, fit_fp8)
        res = log_residuals(cases, self.cat, eff)
        keys = sorted({getattr(c, group) for c in cases})
        cv: list[float] = []
        wts: list[float] = []
        srcs: list[str] = []
        if len(keys) >= 2:
            w = source_weights(cases)
            for k in keys:
                train = [c for c in cases if getattr(c, group) != k]
                idx = [i for i, c in enumerate(cases) if getattr(c, group) == k]
                e, _ = self.fit(train, base(k) if base else None, fit_fp8)
                cv.extend(log_residuals([cases[i] for i in idx], self.cat, e))
                wts.extend(w[i] for i in idx)
                srcs.extend(cases[i].source for i in idx)
        r = FitResult(
            eff.with_(level=level, name=name),
            len(cases),
            res,
            np.array(cv),
            free,
            np.array(wts),
            tuple(srcs),
        )
        return with_interval(r, r.cv_residuals, r.cv_weights) if len(cv) >= MIN_CV_RESIDUALS else r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "csv",
        nargs="*",
        default=[str(DATA / "public.csv"), str(DATA / "vtrain_a100_single_node.csv")],
    )
    ap.add_argument("--out", default=str(CALIBRATION_FILE))
    ap.add_argument("--cv-out", default=str(CV_FILE))
    args = ap.parse_args()
    paths = [Path(p) for p in args.csv]
    cat = load_catalog()
    cases: list[RowCase] = []
    for path in paths:
        for row in read_rows(path):
            try:
                cases.append(row_case(row, cat))
            except (ChipswitchError, ValueError):
                continue
    fitter = Fitter(cat)
    by_family: dict[str, list[RowCase]] = defaultdict(list)
    by_vendor: dict[str, list[RowCase]] = defaultdict(list)
    for c in cases:
        by_family[c.family].append(c)
        by_vendor[c.vendor].append(c)

    # ---- vendor and default levels (for chips without family data) ---------------------
    print(f"fitting default on {len(cases)} rows ...", file=sys.stderr)
    default = fitter.level(cases, "vendor", "default", "default")
    default_cache: dict[str | None, Efficiency] = {None: default.eff}

    def default_without(fam: str | None) -> Efficiency:
        """The all-vendor fit without family `fam`'s rows (the base of a vendor-level fold)."""
        if fam not in default_cache:
            default_cache[fam] = fitter.fit([c for c in cases if c.family != fam], fit_fp8=False)[0]
        return default_cache[fam]

    ven_fits: dict[str, FitResult] = {}
    for ven, cs in sorted(by_vendor.items()):
        print(f"fitting vendor {ven} on {len(cs)} rows ...", file=sys.stderr)
        r = fitter.level(cs, "family", "vendor", ven, default_without)
        ven_fits[ven] = (
            r
            if r.cv_residuals.size >= MIN_CV_RESIDUALS
            else with_interval(r, default.cv_residuals, default.cv_weights)
        )

    # ---- family level, and leave-one-source-out over every source -----------------------
    fam_fits: dict[str, FitResult] = {}
    cv_rows: list[tuple[RowCase, float, str]] = []  # (row, cv prediction, level used)
    fam_cv: dict[str, tuple[list[float], list[float], list[str]]] = defaultdict(
        lambda: ([], [], [])
    )
    weights = dict(zip((id(c) for c in cases), source_weights(cases), strict=True))
    for fam, cs in sorted(by_family.items()):
        print(f"fitting family {fam} on {len(cs)} rows ...", file=sys.stderr)
        eff, free = fitter.fit(cs, ven_fits[cs[0].vendor].eff)
        res = log_residuals(cs, cat, eff)
        fam_fits[fam] = FitResult(
            eff.with_(level="family", name=fam), len(cs), res, np.array([]), free
        )
        for src in sorted({c.source for c in cs}):
            test = [c for c in cs if c.source == src]
            e, level = fitter.pooled([c for c in cases if c.source != src], fam, test[0].vendor)
            print(f"  left out {src[:60]} ({len(test)} rows): {level}", file=sys.stderr)
            held = log_residuals(test, cat, e)
            for c, x in zip(test, held, strict=True):
                cv_rows.append((c, c.measured * math.exp(x), level))
                if level == "family":
                    fam_cv[fam][0].append(float(x))
                    fam_cv[fam][1].append(float(weights[id(c)]))
                    fam_cv[fam][2].append(c.source)
    # the families whose own leave-one-source-out residuals can set their interval
    own = [v for v in fam_cv.values() if len(v[0]) >= MIN_CV_RESIDUALS]
    pooled = FitResult(
        Efficiency(),
        0,
        np.array([]),
        np.concatenate([np.array(v[0]) for v in own]),
        (),
        np.concatenate([np.array(v[1]) for v in own]),
        tuple(x for v in own for x in v[2]),
    )
    families: dict[str, object] = {}
    meta_fit: dict[str, object] = {}
    for fam, r in fam_fits.items():
        xs, ws, ss = fam_cv.get(fam, ([], [], []))
        r = FitResult(r.eff, r.n_rows, r.residuals, np.array(xs), r.free, np.array(ws), tuple(ss))
        # a family measured by one source only cannot be cross-validated on its own: it
        # gets the pooled leave-one-source-out residuals of the families that can
        pool = r if len(xs) >= MIN_CV_RESIDUALS else pooled
        r = with_interval(r, pool.cv_residuals, pool.cv_weights)
        fam_fits[fam] = r
        chips = [cat.chip(c.chip_id) for c in by_family[fam]]
        families[fam] = {
            **_entry(r),
            "vendor": chips[0].vendor,
            "newest_measured_year": max(c.release_year or 0 for c in chips),
        }
        meta_fit[f"family:{fam}"] = _stats(r)
    vendors = {}
    for ven, vr in ven_fits.items():
        vendors[ven] = _entry(vr)
        meta_fit[f"vendor:{ven}"] = _stats(vr)
    meta_fit["default"] = _stats(default)

    max_mfu: dict[str, float] = defaultdict(float)
    for c in cases:
        chip = cat.chip(c.chip_id)
        peak = chip.peak(c.workload.precision)
        mfu = model_flops_per_token(c.workload.dims, "paper") * c.measured / peak
        max_mfu[c.family] = max(max_mfu[c.family], round(mfu, 4))
    loso = _loso_summary(cv_rows, weights)
    meta_fit["leave_one_source_out"] = loso
    doc = {
        "meta": {
            "fitted_on": dt.date.today().isoformat(),
            "script": "scripts/fit_calibration.py",
            "data": [p.name for p in paths],
            "data_sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths},
            "rows_used": len(cases),
            "weighting": "each source weighs the same (a row of a source with n rows: 1/n); "
            f"sources with more than {MAX_FIT_ROWS} rows are fitted on {MAX_FIT_ROWS} evenly "
            "spaced ones",
            "measured_chips": sorted({c.chip_id for c in cases}),
            "parameters_fitted": list(FITTED),
            "others": "documented defaults of chipswitch.perf.efficiency.Efficiency",
            "intervals": "10th/90th source-weighted percentiles of cross-validated "
            "log(pred/measured): leave-one-source-out (family), leave-one-family-out (vendor), "
            "leave-one-vendor-out (default)",
            "cv_intervals": "calibration_cv.csv: each row's interval is the one of the level its "
            "leave-one-source-out prediction fell back to, recomputed without the row's source "
            "(nested cross-validation: a source's own residuals never set its interval)",
            "max_measured_mfu": dict(sorted(max_mfu.items())),
            "fit_quality": meta_fit,
        },
        "families": families,
        "vendors": vendors,
        "default": _entry(default),
    }
    out = Path(args.out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(
        "# Generated by scripts/fit_calibration.py; do not edit by hand.\n"
        + yaml.safe_dump(doc, sort_keys=False)
    )
    tmp.replace(out)
    _write_cv(Path(args.cv_out), cv_rows, fam_fits, ven_fits, default, pooled)
    print(yaml.safe_dump(meta_fit, sort_keys=False))
    return 0


def _loso_summary(
    cv_rows: list[tuple[RowCase, float, str]], weights: dict[int, float]
) -> dict[str, object]:
    out: dict[str, object] = {}
    by: dict[str, list[float]] = defaultdict(list)
    for c, pred, _ in cv_rows:
        by[c.source].append(abs(pred / c.measured - 1.0))
    for src, errs in sorted(by.items()):
        out[src] = {"rows": len(errs), "median_abs_error": round(float(np.median(errs)), 4)}
    return out


def _write_cv(
    path: Path,
    cv_rows: list[tuple[RowCase, float, str]],
    fams: dict[str, FitResult],
    vens: dict[str, FitResult],
    default: FitResult,
    pooled: FitResult,
) -> None:
    """One row per scored row: its leave-one-source-out prediction and 80% interval. The
    interval is the one of the level the prediction fell back to, recomputed without the
    row's source (`nested_interval`); the shipped intervals use every source."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "source", "level", "measured", "cv_predicted", "cv_lo", "cv_hi"])
        for c, pred, level in cv_rows:
            chain = (
                (fams[c.family], pooled)
                if level == "family"
                else (vens[c.vendor], default)
                if level == "vendor" and c.vendor in vens
                else (default,)
            )
            log_lo, log_hi = nested_interval(c.source, *chain)
            lo, hi = pred * math.exp(-log_hi), pred * math.exp(-log_lo)
            w.writerow(
                [
                    c.id,
                    c.source,
                    level,
                    f"{c.measured:.6g}",
                    f"{pred:.6g}",
                    f"{lo:.6g}",
                    f"{hi:.6g}",
                ]
            )
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
