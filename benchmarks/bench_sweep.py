#!/usr/bin/env python3
"""Sweep throughput: grid points/s and plans/s, local vs Ray, and a cluster projection.

Prints figures and the machine; asserts nothing (timings on shared machines are noisy).
Run: python benchmarks/bench_sweep.py [--nodes 1,4,16] [--cores-per-node 64]

The projection for a large grid on an N-node Ray cluster uses what this script measures:
- the mean compute time of one grid point on one core (local executor, this grid's mix);
- the driver's serial work per finished chunk (writing its part file, bookkeeping), which no
  number of nodes removes;
- Ray's cost per task, from a batch of no-op tasks on the local instance;
and assumes cores of the cluster as fast as these, one task per core, and perfect packing.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from chipswitch.catalog import load_catalog
from chipswitch.sweep import LocalExecutor, RayExecutor, resolve, run_sweep
from chipswitch.sweep import output as sweep_output
from chipswitch.sweep.run import DEFAULT_CHUNK_SIZE
from chipswitch.sweep.schema import SweepFile
from chipswitch.sweep.work import make_chunks, run_chunk

#: A mix of dense and MoE models, four vendors, cluster sizes from 256 to 2048 chips.
GRID = {
    "name": "bench",
    "models": ["llama3.1-8b", "llama3.1-70b", "mixtral-8x22b"],
    "chips": ["h100-sxm", "trn2", "tpu-v5p", "mi300x"],
    "chip_counts": {"start": 256, "stop": 2048, "factor": 2},
    "seq_len": 8192,
    "global_batch": 1024,
    "tokens": 15e12,
    "prices": {"h100-sxm": "aws-p5", "trn2": "aws-trn2"},
}
#: The large grid projected: 20 models x 30 chips/what-ifs x 12 sizes x 4 batches.
LARGE = (20, 30, 12, 4)


def _machine() -> str:
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )


def _ray_task_overhead(n: int = 400) -> float:
    """Seconds of one Ray no-op task, round trip, with all local workers busy on them."""
    import ray

    @ray.remote(num_cpus=1)
    def noop(x: int) -> int:
        return x

    ray.get([noop.remote(i) for i in range(32)])  # start the workers
    t0 = time.perf_counter()
    ray.get([noop.remote(i) for i in range(n)])
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", default="1,4,16,64", help="cluster sizes to project")
    ap.add_argument("--cores-per-node", type=int, default=64)
    ap.add_argument("--chunk-size", type=int, default=4, help="for the measured runs")
    ap.add_argument(
        "--project-chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="for the projection"
    )
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(_machine())
    sweep = resolve(SweepFile.model_validate(GRID), load_catalog(), "bench")
    print(
        f"grid: {sweep.size()} points ({len(sweep.models)} models x {len(sweep.chips)} chips x "
        f"{len(sweep.chip_counts)} chip counts), chunk size {args.chunk_size}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.parquet"
        with LocalExecutor() as ex:
            local = run_sweep(sweep, out, ex, chunk_size=args.chunk_size)
        per_point = local.worker_seconds / local.points_computed
        print(
            f"local (1 core): {local.seconds:.2f} s, {local.points_per_second:.1f} points/s, "
            f"{local.plans_per_second / 1e6:.2f} M plans/s, {local.plans_evaluated:,} plans; "
            f"{per_point * 1e3:.1f} ms compute per point"
        )

        # The driver's serial cost per chunk: write one part file of a projected-size chunk.
        chunk = make_chunks(sweep.points(), args.project_chunk_size)[0]
        rows = run_chunk(chunk, sweep.context).rows
        t0 = time.perf_counter()
        reps = 20
        for _ in range(reps):
            sweep_output.write_part(out, rows)
        driver_per_chunk = (time.perf_counter() - t0) / reps
        sweep_output.clear_parts(out)
        print(f"driver, per finished chunk (part file of {len(rows)} rows): "
              f"{driver_per_chunk * 1e3:.1f} ms")  # fmt: skip

        try:
            import ray  # noqa: F401
        except ImportError:
            print("ray: not installed (pip install 'chipswitch[sweep]'); no Ray figures")
            ray_overhead = None
        else:
            t0 = time.perf_counter()
            with RayExecutor() as ex:
                t_init = time.perf_counter() - t0
                cold = run_sweep(sweep, out, ex, chunk_size=args.chunk_size)
                warm = run_sweep(sweep, out, ex, chunk_size=args.chunk_size)
                ray_overhead = _ray_task_overhead()
            t_all = time.perf_counter() - t0
            print(f"ray ({ex.workers} CPUs, local instance): start {t_init:.1f} s")
            for label, r in (("first run (workers start, import)", cold), ("second run", warm)):
                print(
                    f"  {label}: {r.seconds:.2f} s, {r.points_per_second:.1f} points/s, "
                    f"{r.plans_per_second / 1e6:.2f} M plans/s; {local.seconds / r.seconds:.2f}x "
                    f"the local executor"
                )
            print(f"  start to stop, both runs: {t_all:.1f} s")
            print(f"ray no-op task round trip: {ray_overhead * 1e3:.2f} ms per task")

    m, c, s, b = LARGE
    big = m * c * s * b
    size = args.project_chunk_size
    chunks = -(-big // size)
    overhead = ray_overhead if ray_overhead is not None else 5e-3
    print(
        f"\nprojection: {m} models x {c} chips/what-ifs x {s} sizes x {b} batches = {big:,} "
        f"points in {chunks:,} chunks of {size}; assumes {args.cores_per_node} "
        f"cores per node as fast as this one ({per_point * 1e3:.1f} ms per point), "
        f"{overhead * 1e3:.2f} ms Ray cost per task, {driver_per_chunk * 1e3:.1f} ms driver "
        f"work per chunk (serial), ~10 s to join the cluster; ignores stragglers"
    )
    for nodes in (int(x) for x in args.nodes.split(",")):
        cores = nodes * args.cores_per_node
        compute = (big * per_point + chunks * overhead) / cores
        driver = chunks * driver_per_chunk
        wall = max(compute, driver) + 10.0
        bound = "driver-bound" if driver > compute else "compute-bound"
        print(f"  {nodes:>3} node(s), {cores:>5} cores: ~{wall / 60:.1f} min ({bound})")
    print(f"  one core (local executor): ~{big * per_point / 3600:.1f} h")


if __name__ == "__main__":
    main()
