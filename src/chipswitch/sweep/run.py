"""Run a sweep: skip finished points, compute the rest chunk by chunk, write the output.

Each finished chunk becomes a part file at once; the output file is (re)written from all
finished rows when the run ends, also when it ends by Ctrl-C or an error, so what finished is
never lost. `resume=True` reuses rows whose key (a hash of the point's inputs) is already in
the output or in part files left by an interrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chipswitch import units
from chipswitch.errors import ChipswitchError
from chipswitch.sweep import output
from chipswitch.sweep.executors import Executor
from chipswitch.sweep.grid import Sweep
from chipswitch.sweep.work import ChunkResult, make_chunks

DEFAULT_CHUNK_SIZE = 16
#: Grids larger than this run only when asked for explicitly (`allow_large`, `sweep --yes`).
CONFIRM_POINTS = 1_000_000
#: Grids larger than this are refused: the points and the output table are held in memory
#: (about 3 kB per finished row), so 10^7 points already take some 30 GB.
MAX_POINTS = 10_000_000
#: Seconds one plan search takes on one core (docs/sweep.md, benchmarks/bench_search.py).
SEARCH_SECONDS = (0.02, 0.1)


def searches_in(sweep: Sweep) -> int:
    """Distinct plan searches of the grid (points differing only in tokens or price share one)."""
    return (
        len(sweep.models)
        * len(sweep.chips)
        * len(sweep.seq_lens)
        * len(sweep.batches)
        * len(sweep.chip_counts)
        * len(sweep.precisions)
    )


def check_size(sweep: Sweep, allow_large: bool = False) -> None:
    """Refuse a grid past MAX_POINTS, and one past CONFIRM_POINTS unless `allow_large`; the
    message gives the point count and an estimate of the time on one core."""
    n = sweep.size()
    if n <= CONFIRM_POINTS:
        return
    searches = searches_in(sweep)
    lo, hi = (searches * s / units.HOUR for s in SEARCH_SECONDS)
    what = (
        f"the grid has {n:,} points ({searches:,} plan searches, about {lo:,.0f}-{hi:,.0f} "
        "core-hours at 20-100 ms per search)"
    )
    if n > MAX_POINTS:
        raise ChipswitchError(
            f"{what}: over the maximum of {MAX_POINTS:,} points a sweep holds in memory; "
            "split it into several sweep files"
        )
    if not allow_large:
        raise ChipswitchError(f"{what}: over {CONFIRM_POINTS:,} points; add --yes to run it anyway")


@dataclass
class SweepRun:
    """What a run did (timings are the driver's wall clock)."""

    points_total: int
    points_reused: int = 0
    points_computed: int = 0
    chunks: int = 0
    chunks_done: int = 0
    searches: int = 0
    plans_evaluated: int = 0
    seconds: float = 0.0
    worker_seconds: float = 0.0
    status_counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    executor: str = "local"
    workers: int = 1
    complete: bool = False

    @property
    def points_written(self) -> int:
        return self.points_reused + self.points_computed

    @property
    def points_per_second(self) -> float:
        return self.points_computed / self.seconds if self.seconds > 0 else 0.0

    @property
    def plans_per_second(self) -> float:
        return self.plans_evaluated / self.seconds if self.seconds > 0 else 0.0


Progress = Callable[[SweepRun, ChunkResult | None], None]


def run_sweep(
    sweep: Sweep,
    out: Path,
    executor: Executor,
    *,
    resume: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    csv: bool = False,
    on_progress: Progress | None = None,
    limit_chunks: int | None = None,
    allow_large: bool = False,
) -> SweepRun:
    """Compute the sweep's unfinished points with `executor` (already entered) and write `out`.

    `limit_chunks` stops after that many chunks (a deliberate partial run, as Ctrl-C would
    leave). `on_progress(run, chunk)` is called once before the first chunk (chunk None) and
    after each. A grid over `CONFIRM_POINTS` needs `allow_large` (see `check_size`).
    """
    if chunk_size < 1:
        raise ValueError("chunk size must be at least 1")
    check_size(sweep, allow_large)
    out = output.check_writable(Path(out))
    points = sweep.points()
    if not resume:
        output.clear_parts(out)
    finished = output.read_finished(out, include_output=resume)
    keys = {p.key for p in points}
    finished = {k: r for k, r in finished.items() if k in keys}
    todo = [p for p in points if p.key not in finished]
    chunks = make_chunks(todo, chunk_size)
    if limit_chunks is not None:
        chunks = chunks[:limit_chunks]
    run = SweepRun(
        points_total=len(points),
        points_reused=len(finished),
        chunks=len(chunks),
        executor=executor.name,
        workers=executor.workers,
    )
    t0 = time.perf_counter()
    if on_progress:
        on_progress(run, None)
    try:
        for res in executor.map(chunks, sweep.context):
            output.write_part(out, res.rows)
            for r in res.rows:
                finished[r["key"]] = r
            run.points_computed += res.points
            run.chunks_done += 1
            run.searches += res.searches
            run.plans_evaluated += res.plans
            run.worker_seconds += res.seconds
            run.seconds = time.perf_counter() - t0
            if on_progress:
                on_progress(run, res)
    finally:
        run.seconds = time.perf_counter() - t0
        table = output.final_table(points, finished, sweep)
        run.files = output.write_output(table, out, csv)
        output.clear_parts(out)
        statuses = table.column("status").to_pylist()
        run.status_counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        run.complete = table.num_rows == len(points)
    return run
