#!/usr/bin/env python3
"""Decision-engine speed on the seed scenario: Monte Carlo samples per second, and the CPU
time of a whole decision run (Monte Carlo plus tornado, break-even, Sobol', value of
information, pilot EVSI and both hindcasts) per phase, on one core.

Prints figures and the machine; asserts nothing (timings on shared machines are noisy: CPU
time is reported beside wall time because other processes inflate the wall time).
Run: python benchmarks/bench_decide.py [SAMPLES]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the figures claim
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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
    run_decision(sc, table, samples=1000, seed=1, catalog=cat)  # imports (SALib, scipy) once
    rng = np.random.default_rng(0)
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        u = cm.uniforms(rng, samples)
        simulate(cm, u, paths=True)
        best = min(best, time.process_time() - c0)
    print(f"Monte Carlo: {samples:,} samples x {len(sc.options)} options in {best:.2f} s CPU "
          f"= {samples / best:,.0f} samples/s (best of 3, sampling included)")  # fmt: skip
    phases: list[tuple[str, float]] = []
    last = [time.process_time(), "setup"]

    def tick(phase: str, fraction: float) -> None:
        now = time.process_time()
        phases.append((str(last[1]), now - float(last[0])))
        last[0], last[1] = now, phase

    c0, w0 = time.process_time(), time.perf_counter()
    res = run_decision(sc, table, samples=samples, seed=2, catalog=cat, progress=tick)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"whole decision run, {samples:,} samples, analyses included: {cpu:.2f} s CPU "
          f"({wall:.2f} s wall)")  # fmt: skip
    print("  " + ", ".join(f"{name} {sec:.2f} s" for name, sec in phases))
    print(f"verdict: {res.verdict.sentence}")


if __name__ == "__main__":
    main()
