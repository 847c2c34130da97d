"""`chipswitch plan` and `chipswitch validate`: the performance engine from the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chipswitch import units
from chipswitch.api.presenters import BREAKDOWN_MEMORY, BREAKDOWN_TIME
from chipswitch.cli.common import (
    console,
    err_console,
    fmt_bytes,
    get_session,
    new_table,
    print_json,
    print_table,
)
from chipswitch.errors import ChipswitchError
from chipswitch.planning.compare import FailureOptions, Stage, StageOutcome
from chipswitch.planning.cost import TrainingCost
from chipswitch.planning.goodput import PER_1000_CHIP_DAYS
from chipswitch.planning.search import ParetoPoint, SearchResult
from chipswitch.validation.validate import ValidationReport

CalibrationOpt = Annotated[
    Path | None,
    typer.Option(
        "--calibration", help="Profile from `chipswitch calibrate` instead of family defaults."
    ),
]


def _print_plans(r: SearchResult, cost: TrainingCost | None, front: list[ParetoPoint]) -> None:
    w, sys = r.workload, r.system
    console.print(
        f"[bold]{w.model.name}[/] on [bold]{r.n_chips} x {r.chip.name}[/]: global batch "
        f"{w.global_batch} x {w.seq_len} tokens, {w.precision}"
    )
    console.print(
        f"{r.plans_evaluated:,} plans evaluated ({r.plans_feasible:,} fit in memory) in "
        f"{r.seconds:.2f} s; calibration: {sys.eff.level} '{sys.eff.name}'"
    )
    for note in sys.assumptions:
        err_console.print(f"[yellow]note:[/] {note}")
    t = new_table("Best plans (for a fixed chip count, fastest = cheapest)")
    for col in ("#", "plan", "step s", "tok/s/chip", "80% interval", "MFU", "MFU causal", "mem GB"):
        t.add_column(col, justify="left" if col == "plan" else "right")
    for i, p in enumerate(r.top, 1):
        b = p.breakdown
        t.add_row(
            str(i),
            p.plan.describe(),
            f"{b['step_time']:.3f}",
            f"{b['tokens_per_s_per_chip']:,.0f}",
            f"{p.interval[0]:,.0f}-{p.interval[1]:,.0f}",
            f"{b['mfu']:.1%}",
            f"{b['mfu_causal']:.1%}",
            f"{b['mem_total'] / 1e9:.1f}",
        )
    print_table(t)
    best = r.best.breakdown
    bt = new_table(f"Step time of the best plan ({best['step_time']:.3f} s)")
    bt.add_column("term")
    bt.add_column("s", justify="right")
    bt.add_column("share", justify="right")
    for key, label in BREAKDOWN_TIME:
        if best[key] > 0:
            bt.add_row(label, f"{best[key]:.4f}", f"{best[key] / best['step_time']:.1%}")
    print_table(bt)
    mt = new_table(
        f"Memory per chip ({fmt_bytes(best['mem_total'])} of {fmt_bytes(sys.hbm_bytes)})"
    )
    mt.add_column("category")
    mt.add_column("GB", justify="right")
    for key, label in BREAKDOWN_MEMORY:
        mt.add_row(label, f"{best[key] / 1e9:.2f}")
    print_table(mt)
    if cost is not None:
        line = f"Training {cost.tokens:.3g} tokens: {cost.seconds / units.DAY:.1f} days " + (
            f"({cost.seconds_interval[0] / units.DAY:.1f}-"
            f"{cost.seconds_interval[1] / units.DAY:.1f})"
        )
        if cost.usd is not None and cost.usd_interval and cost.price:
            line += (
                f", ${cost.usd:,.0f} "
                f"(${cost.usd_interval[0]:,.0f}-${cost.usd_interval[1]:,.0f}) at "
                f"${cost.price.usd_per_chip_hour:.2f}/chip-h ({cost.price.type}, {cost.price.date})"
            )
        if cost.energy_joules is not None:
            line += f", {cost.energy_joules / units.KWH / 1e3:,.0f} MWh at TDP"
        console.print(line + " [dim](ideal: every chip-hour trains)[/]")
        _print_all_in(cost)
    if front:
        ft = new_table("Time vs cost across chip counts (Pareto front)")
        for col in ("chips", "days", "cost $", "plan"):
            ft.add_column(col, justify="left" if col == "plan" else "right")
        for pt in front:
            ft.add_row(
                f"{pt.n_chips:,}",
                f"{pt.train_seconds / units.DAY:.1f}",
                "—" if pt.cost_usd is None else f"{pt.cost_usd:,.0f}",
                pt.result.best.plan.describe(),
            )
        print_table(ft)


def parse_stage(text: str) -> Stage:
    """`TOKENS:SEQ:BATCH` (e.g. `800e9:131072:128`) -> Stage; a malformed one is a user error."""
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        tokens, seq, batch = float(parts[0]), int(parts[1]), int(parts[2])
    except ValueError:
        raise ChipswitchError(
            f"--stage '{text}': expected TOKENS:SEQ:BATCH, e.g. 800e9:131072:128"
        ) from None
    if seq < 1 or batch < 1:
        raise ChipswitchError(f"--stage '{text}': sequence length and batch must be >= 1")
    return Stage(tokens, seq, batch)


def _print_stages(stages: tuple[StageOutcome, ...]) -> None:
    if not stages:
        return
    t = new_table("Stages (the training lines above add them all up)")
    for col in ("tokens", "seq", "batch", "plan", "tok/s/chip", "days", "all-in days", "goodput"):
        t.add_column(col, justify="left" if col == "plan" else "right")
    for s in stages:
        c, b = s.cost, s.result.best
        t.add_row(
            f"{s.stage.tokens:.3g}",
            f"{s.stage.seq_len:,}",
            f"{s.stage.global_batch:,}",
            b.plan.describe(),
            f"{b.tokens_per_s_per_chip:,.0f}",
            f"{c.seconds / units.DAY:.1f}",
            "—" if c.all_in is None else f"{c.all_in.seconds / units.DAY:.1f}",
            "—" if c.goodput is None else f"{c.goodput.goodput:.1%}",
        )
    print_table(t)


def _print_all_in(cost: TrainingCost) -> None:
    """The all-in line, the split of wall time and the failure model's assumptions."""
    a, g = cost.all_in, cost.goodput
    if a is None or g is None:
        return
    lo, hi = a.seconds_interval
    line = (
        f"All-in (failures, restarts, checkpoints): {a.seconds / units.DAY:.1f} days "
        f"({lo / units.DAY:.1f}-{hi / units.DAY:.1f}), "
        f"{a.chip_seconds / units.HOUR:,.0f} chip-hours"
    )
    if a.usd is not None and a.usd_interval is not None:
        line += f", ${a.usd:,.0f} (${a.usd_interval[0]:,.0f}-${a.usd_interval[1]:,.0f})"
    console.print(line)
    gl, gh = g.goodput_interval
    st = new_table(
        f"Goodput {g.goodput:.1%} ({gl:.1%}-{gh:.1%}); "
        f"{g.interruptions:,.0f} interruptions expected"
    )
    st.add_column("wall time spent on")
    st.add_column("days", justify="right")
    st.add_column("share", justify="right")
    for key, secs in g.split_s.items():
        st.add_row(key.replace("_", " "), f"{secs / units.DAY:.2f}", f"{secs / g.wall_s:.1%}")
    print_table(st)
    for note in g.assumptions:
        err_console.print(f"[dim]assumes:[/] {note}")


def plan(
    model: Annotated[str, typer.Option("--model", "-m", help="Model id (chipswitch models list).")],
    hardware: Annotated[
        str, typer.Option("--hardware", "-H", help="Chip id (chipswitch hardware list).")
    ],
    chips: Annotated[int, typer.Option("--chips", "-n", min=1, help="Number of chips.")],
    global_batch: Annotated[
        int, typer.Option("--global-batch", "-b", min=1, help="Sequences per step.")
    ],
    seq: Annotated[int, typer.Option("--seq", "-s", min=1, help="Sequence length (tokens).")],
    tokens: Annotated[
        float | None, typer.Option("--tokens", "-t", min=1, help="Tokens to train (e.g. 15e12).")
    ] = None,
    price: Annotated[
        str | None,
        typer.Option("--price", help="Offering id, optionally ':type' (aws-p5:capacity_block)."),
    ] = None,
    precision: Annotated[str, typer.Option("--precision", help="bf16 or fp8 (GEMMs).")] = "bf16",
    top: Annotated[int, typer.Option("--top", "-k", min=1, max=100, help="Plans to show.")] = 5,
    pareto_front: Annotated[
        bool,
        typer.Option(
            "--pareto/--no-pareto", help="With --tokens: best plan at 1/4x..4x the chips."
        ),
    ] = True,
    calibration: CalibrationOpt = None,
    failure_rate: Annotated[
        float | None,
        typer.Option(
            "--failure-rate",
            min=0,
            help="Job interruptions per 1,000 chip-days (0: no failures); default: the chip "
            "family's sourced rate, or a labelled prior.",
        ),
    ] = None,
    checkpoint_interval: Annotated[
        float | None,
        typer.Option(
            "--checkpoint-interval",
            min=0.001,
            help="Minutes of training between checkpoints; default: Daly's optimum.",
        ),
    ] = None,
    storage_bandwidth: Annotated[
        float | None,
        typer.Option(
            "--storage-bandwidth",
            min=0.001,
            help="Checkpoint write bandwidth of the whole job, GB/s; default: 0.122 GB/s per "
            "chip (Llama 3's storage share).",
        ),
    ] = None,
    stage: Annotated[
        list[str] | None,
        typer.Option(
            "--stage",
            help="A further stage after --tokens, as TOKENS:SEQ:BATCH (repeatable), e.g. a "
            "long-context extension 800e9:131072:128.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Search every valid parallel plan; show the best with step-time and memory breakdowns.

    With --tokens: the time and cost to train them, ideal and all-in (failures, restarts, lost
    work and checkpoints counted; docs/goodput.md)."""
    failures = FailureOptions(
        None if failure_rate is None else failure_rate / PER_1000_CHIP_DAYS,
        None if storage_bandwidth is None else storage_bandwidth * units.GB,
        None if checkpoint_interval is None else checkpoint_interval * 60.0,
    )
    report = get_session(calibration).plan_training(
        model, hardware, chips=chips, global_batch=global_batch, seq=seq, precision=precision,
        tokens=tokens, price=price, top=top, pareto=pareto_front, failures=failures,
        stages=[parse_stage(s) for s in stage or ()],
    )  # fmt: skip
    for note in report.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    if as_json:
        print_json(report)
        return
    _print_plans(report.search, report.training, list(report.pareto))
    _print_stages(report.stages)


def _print_validation(rep: ValidationReport) -> None:
    t = new_table("Per row: predicted vs measured tokens/s per chip")
    for col in ("id", "predicted", "measured", "error", "80% interval", "plan"):
        t.add_column(col, justify="left" if col in ("id", "plan") else "right")
    for r in rep.results:
        style = "red" if abs(r.error) > 0.25 else None
        t.add_row(
            r.id,
            f"{r.predicted:,.1f}",
            f"{r.measured:,.1f}",
            f"{r.error:+.1%}",
            f"{r.interval[0]:,.0f}-{r.interval[1]:,.0f}",
            r.plan,
            style=style,
        )
    print_table(t)
    s = rep.summary()
    g = new_table("Errors (error = predicted/measured - 1)")
    for col in ("group", "n", "median |err|", "p90 |err|", "mean signed", "in interval"):
        g.add_column(col, justify="left" if col == "group" else "right")

    def add(name: str, st: dict[str, Any]) -> None:
        g.add_row(
            name,
            str(st["n"]),
            f"{st['median_abs_error']:.1%}",
            f"{st['p90_abs_error']:.1%}",
            f"{st['mean_signed_error']:+.1%}",
            f"{st['interval_coverage']:.0%}",
        )

    add("all", s["all"])
    for k, st in s["by_accelerator"].items():
        add(f"chip {k}", st)
    for k, st in s["by_source"].items():
        add(f"source {k[:48]}", st)
    print_table(g)
    if rep.skipped:
        sk = new_table(f"Rows not modelled ({len(rep.skipped)})")
        sk.add_column("id")
        sk.add_column("reason")
        for rid, why in rep.skipped:
            sk.add_row(rid, why)
        print_table(sk)


def validate(
    csv_file: Annotated[
        Path, typer.Argument(help="CSV in the schema of src/chipswitch/data/validation/public.csv.")
    ],
    calibration: CalibrationOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Predict each usable row with its own plan; print per-row and grouped errors."""
    result = get_session(calibration).validate(csv_file)
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    if as_json:
        print_json(result)
        return
    _print_validation(result.report)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("validate")(validate)
