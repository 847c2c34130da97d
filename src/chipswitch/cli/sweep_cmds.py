"""`chipswitch sweep` and `chipswitch sweep-report`: design-space grids, locally or on Ray."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from chipswitch import format as fmt
from chipswitch import units
from chipswitch.api.results import SweepReport
from chipswitch.cli.common import (
    CalibrationOpt,
    console,
    err_console,
    get_session,
    new_table,
    print_json,
    print_table,
)
from chipswitch.sweep.executors import ExecutorName
from chipswitch.sweep.output import read_results
from chipswitch.sweep.report import ModelRanking, rank, sweep_meta, write_html
from chipswitch.sweep.run import CONFIRM_POINTS, DEFAULT_CHUNK_SIZE, SweepRun
from chipswitch.sweep.work import ChunkResult

EXIT_INTERRUPTED = 130


def _progress_bar() -> tuple[Progress, Callable[[SweepRun, ChunkResult | None], None]]:
    """A stderr progress bar (points done, points/s, plans/s) and the callback feeding it."""
    bar = Progress(
        TextColumn("[bold]sweep[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("points"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )
    task: list[TaskID] = []

    def update(run: SweepRun, chunk: ChunkResult | None) -> None:
        todo = run.points_total - run.points_reused
        if not task:
            task.append(bar.add_task("sweep", total=todo, rate=""))
        rate = f"{run.points_per_second:,.1f} pt/s  {run.plans_per_second / 1e6:,.2f} M plans/s"
        bar.update(task[0], completed=run.points_computed, rate=rate)

    return bar, update


def _print_summary(report: SweepReport) -> None:
    run = report.run
    counts = ", ".join(f"{n:,} {s}" for s, n in run.status_counts.items()) or "none"
    console.print(
        f"Sweep [bold]{report.name}[/]: {run.points_total:,} points ({run.points_reused:,} "
        f"reused, {run.points_computed:,} computed; {counts}) in {run.seconds:.1f} s with "
        f"{run.executor} ({run.workers} CPU{'s' if run.workers > 1 else ''}): "
        f"{run.points_per_second:,.1f} points/s, {run.plans_per_second / 1e6:,.2f} M plans/s"
    )
    console.print("Wrote " + ", ".join(str(f) for f in run.files))


def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep file (YAML); see docs/sweep.md.")],
    executor: Annotated[
        ExecutorName,
        typer.Option("--executor", "-e", help="local (this process) or ray (Ray tasks)."),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray cluster to join (ray://host:10001 or host:6379)."),
    ] = None,
    num_cpus: Annotated[
        int | None,
        typer.Option("--num-cpus", min=1, help="CPUs of a local Ray start (default: all)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Parquet output (default: FILE's name, .parquet)."),
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write a CSV beside it.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep finished points of OUT; compute the rest.")
    ] = False,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Grid points per task.")
    ] = DEFAULT_CHUNK_SIZE,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help=f"Run a grid of more than {CONFIRM_POINTS:,} points."),
    ] = False,
    calibration: CalibrationOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
) -> None:
    """Run a plan search at every point of a design-space grid; write one row per point."""
    bar, update = _progress_bar()
    runs: list[SweepRun] = []

    def progress(run: SweepRun, chunk: ChunkResult | None) -> None:
        if not runs:
            runs.append(run)
        update(run, chunk)

    target = out or Path(file.with_suffix(".parquet").name)
    try:
        with bar:
            report = get_session(calibration).sweep(
                file, target, executor=executor, address=address, num_cpus=num_cpus,
                resume=resume, csv=csv, chunk_size=chunk_size, on_progress=progress,
                allow_large=yes,
            )  # fmt: skip
    except KeyboardInterrupt:
        done = runs[0] if runs else None
        written = done.points_written if done else 0
        total = f" of {done.points_total:,}" if done else ""
        err_console.print(
            f"[yellow]interrupted:[/] {written:,}{total} points are in {target}; "
            f"run the same command with --resume to finish"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if as_json:
        print_json(report)
        return
    _print_summary(report)


# -- sweep-report ------------------------------------------------------------------------------
def _money(x: float | None) -> str:
    return fmt.money(x)


def _ranking_json(mr: ModelRanking) -> dict[str, Any]:
    def best(b: Any) -> Any:
        if b is None:
            return None
        return b.__dict__ | {
            "seconds": b.days * units.DAY,
            "all_in_seconds": b.all_in_days * units.DAY,
        }

    return {
        "model": mr.model,
        "tokens": mr.tokens,
        "chips": [
            {
                "chip": c.chip,
                "cost_rank": c.cost_rank,
                "time_rank": c.time_rank,
                "points": c.points,
                "ok": c.ok,
                "meet_constraints": c.eligible,
                "cheapest": best(c.cheapest),
                "fastest": best(c.fastest),
            }
            for c in mr.chips
        ],
    }


def _print_ranking(mr: ModelRanking) -> None:
    t = new_table(
        f"{mr.model}, {fmt.count(mr.tokens)} tokens: chips ranked by all-in cost and time",
        caption="all-in: failures, restarts and checkpoints counted; cost ranks points that "
        "meet every constraint; time ranks points that fail none that can be checked (an "
        "unpriced chip is held to no budget)",
    )
    for col in ("$ rank", "chip", "cheapest", "days", "chips", "price"):
        t.add_column(col, justify="left" if col in ("chip", "price") else "right")
    for col in ("time rank", "fastest days", "cost", "chips ", "ok/meet/all"):
        t.add_column(col, justify="right")
    for c in mr.chips:
        ch, fa = c.cheapest, c.fastest
        t.add_row(
            str(c.cost_rank or "—"),
            c.chip,
            _money(ch.all_in_cost_usd) if ch else "—",
            fmt.sig(ch.all_in_days) if ch else "—",
            f"{ch.chips:,}" if ch else "—",
            (ch.price or "—") if ch else "—",
            str(c.time_rank or "—"),
            fmt.sig(fa.all_in_days) if fa else "—",
            _money(fa.all_in_cost_usd) if fa else "—",
            f"{fa.chips:,}" if fa else "—",
            f"{c.ok}/{c.eligible}/{c.points}",
            style=None if c.fastest else "dim",
        )
    print_table(t)


def sweep_report(
    results: Annotated[Path, typer.Argument(help="Parquet file written by chipswitch sweep.")],
    html_out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            "--html",
            metavar="OUT.html",
            help="Write a self-contained HTML report with frontiers (--html: the former name).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Rankings as JSON.")] = False,
) -> None:
    """Rank chips per model by cost and by time; optionally draw cost-vs-time frontiers."""
    table = read_results(results)
    rankings = rank(table)
    if html_out is not None:
        write_html(table, html_out)
        err_console.print(f"wrote {html_out}")
    if as_json:
        print_json({"meta": sweep_meta(table), "rankings": [_ranking_json(m) for m in rankings]})
        return
    for mr in rankings:
        _print_ranking(mr)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("sweep-report")(sweep_report)
