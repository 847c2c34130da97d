#!/usr/bin/env python3
"""Plan-search speed: plans evaluated per second per core, and full-search wall times.

Prints figures and the machine; asserts nothing (timings on shared machines are noisy).
Run: python benchmarks/bench_search.py
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from chipswitch._machine import cpu_model
from chipswitch.catalog import load_catalog
from chipswitch.parallel.enumerate import enumerate_plans
from chipswitch.perf.estimate import estimate
from chipswitch.perf.system import build_system
from chipswitch.perf.workload import Workload
from chipswitch.planning.search import search

CASES = (
    ("gpt3-175b", "h100-sxm", 4096, 1536, 2048),
    ("llama3.1-405b", "h100-sxm", 16384, 2048, 8192),
    ("llama3.1-70b", "trn2", 1024, 512, 8192),
    ("mixtral-8x22b", "h100-sxm", 1024, 1024, 4096),
)


def main() -> None:
    # one core: numpy's element-wise kernels are single-threaded; BLAS is not used here
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    cat = load_catalog()
    for model, chip, n, gb, seq in CASES:
        w = Workload(cat.model(model), gb, seq)
        sys = build_system(cat.chip(chip), n, peers=cat.chips.values())
        chunks = list(enumerate_plans(w.model, n, gb, seq, sys.domain_workers))
        total = sum(len(c) for c in chunks)
        estimate(w, sys, chunks[0])  # warm-up (allocator, caches)
        t_eval = float("inf")
        for _ in range(5):  # best of 5: the machine is shared
            t0 = time.perf_counter()
            for c in chunks:
                estimate(w, sys, c)
            t_eval = min(t_eval, time.perf_counter() - t0)
        best = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = search(w, cat.chip(chip), n, catalog=cat)
            best.append(time.perf_counter() - t0)
        print(
            f"{model} on {n} {chip} (batch {gb} x {seq}): {total:,} valid plans; estimator "
            f"{total / t_eval / 1e6:.2f} M plans/s (single thread); full search incl. enumeration "
            f"{min(best):.3f} s; best {r.best.plan.describe()} at "
            f"{r.best.tokens_per_s_per_chip:,.0f} "
            f"tok/s/chip, MFU {r.best.breakdown['mfu']:.1%}"
        )


if __name__ == "__main__":
    main()
