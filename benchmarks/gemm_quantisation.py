#!/usr/bin/env python3
"""Does tile or wave quantisation explain the GEMM times measured on the H100 and H200?

Fits, for each variant of the GEMM model, one efficiency and one launch cost to the bf16 GEMMs
of `benchmarks/results/{h100,h200}/*-profile.json` (shapes of 1B-8B layers, 256-16,384 tokens)
and prints the median and p90 of |predicted/measured - 1|. The engine (perf/compute.py) applies
waves only to the families these measurements do not contradict (Ampere and older). Prints
figures; asserts nothing.
Run: python benchmarks/gemm_quantisation.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from chipswitch.catalog import load_catalog

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = {  # name: (tile rows, tile columns, waves over the SMs)
    "roofline only": (1, 1, False),
    "128x128 tiles": (128, 128, False),
    "128x128 tiles + waves": (128, 128, True),
    "64x128 tiles + waves": (64, 128, True),
    "128x256 tiles + waves": (128, 256, True),
}


def quantisation(
    m: np.ndarray, n: np.ndarray, t1: int, t2: int, units: int, waves: bool
) -> np.ndarray:
    tm, tn = np.ceil(m / t1), np.ceil(n / t2)
    fill = m * n / (tm * tn * t1 * t2)
    if not waves:
        return fill
    tiles = tm * tn
    return fill * tiles / (np.ceil(tiles / units) * units)


def residuals(x: np.ndarray, flop_t: np.ndarray, mem_t: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log(predicted/measured) for efficiency x[0] and launch cost x[1] (s)."""
    return np.asarray(np.log((np.maximum(flop_t / x[0], mem_t) + x[1]) / t))


def main() -> None:
    cat = load_catalog()
    for device, chip_id in (("h100", "h100-sxm"), ("h200", "h200")):
        chip = cat.chip(chip_id)
        units = chip.compute_units or 1
        prof = json.loads((RESULTS / device / f"{device}-profile.json").read_text())
        pts = [p for p in prof["matmul"] if p["precision"] == "bf16"]
        m, n, k = (np.array([p[x] for p in pts], dtype=float) for x in "mnk")
        t = np.array([p["seconds"] for p in pts])
        peak, bw = chip.peak("bf16"), chip.hbm_bandwidth or 1.0
        print(f"{device} ({prof['environment']['device_name']}, {units} SMs): {len(pts)} GEMMs")
        flops, nbytes = 2 * m * n * k, 2 * (m * k + k * n + m * n)
        for name, (t1, t2, waves) in VARIANTS.items():
            q = quantisation(m, n, t1, t2, units, waves)
            args = (flops / (peak * q), nbytes / (bw * 0.9), t)
            fit = least_squares(residuals, [0.7, 5e-6], bounds=([0.1, 0.0], [1.0, 1e-4]), args=args)
            err = np.abs(np.expm1(residuals(fit.x, *args)))
            print(
                f"  {name:24s} efficiency {fit.x[0]:.3f}, launch {fit.x[1] * 1e6:4.1f} us: "
                f"median {np.median(err):.1%}, p90 {np.quantile(err, 0.9):.1%}"
            )


if __name__ == "__main__":
    main()
