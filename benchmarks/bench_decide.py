#!/usr/bin/env python3
"""Decision-engine speed: Monte Carlo samples per second on the seed scenario, and the wall
time of a whole `decide` run (Monte Carlo plus tornado, break-even, Sobol', value of
information and hindcast).

Prints figures and the machine; asserts nothing (timings on shared machines are noisy).
Run: python benchmarks/bench_decide.py [SAMPLES]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the figures claim

import platform
import sys
import time

import numpy as np

from chipswitch._machine import cpu_model
from chipswitch.catalog import load_catalog
from chipswitch.decide.engine import engine_throughput, run_decision
from chipswitch.decide.montecarlo import compile_scenario, simulate
from chipswitch.decide.scenario import load_scenario


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores visible, OMP_NUM_THREADS="
        f"{os.environ['OMP_NUM_THREADS']}, python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    sc = load_scenario()
    cat = load_catalog()
    t0 = time.perf_counter()
    table = engine_throughput(sc, cat)
    t_engine = time.perf_counter() - t0
    cm = compile_scenario(sc, table, cat)
    print(f"scenario {sc.name}: {len(sc.options)} options, {len(cm.inputs)} uncertain inputs, "
          f"{cm.horizon} months; performance engine {t_engine:.2f} s")  # fmt: skip
    rng = np.random.default_rng(0)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        u = cm.uniforms(rng, samples)
        simulate(cm, u, paths=True)
        best = min(best, time.perf_counter() - t0)
    print(f"Monte Carlo: {samples:,} samples x {len(sc.options)} options in {best:.2f} s "
          f"= {samples / best:,.0f} samples/s (best of 3, sampling included)")  # fmt: skip
    t0 = time.perf_counter()
    res = run_decision(sc, table, samples=samples, seed=2, catalog=cat)
    wall = time.perf_counter() - t0
    print(f"whole decision run (analyses included): {wall:.2f} s")
    print(f"verdict: {res.verdict.sentence}")


if __name__ == "__main__":
    main()
