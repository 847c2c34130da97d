"""`chipswitch plan` and `chipswitch validate`: the performance engine from the terminal."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from chipswitch import format as fmt
from chipswitch import units
from chipswitch.api.presenters import BREAKDOWN_MEMORY, BREAKDOWN_TIME
from chipswitch.cli.common import (
    CalibrationOpt,
    console,
    err_console,
    fmt_bytes,
    get_session,
    new_table,
    print_json,
    print_table,
)
from chipswitch.errors import ChipswitchError
from chipswitch.planning.compare import FailureOptions, Stage, StageOutcome, resolve_offering
from chipswitch.planning.cost import TrainingCost
from chipswitch.planning.search import ParetoPoint, SearchResult
from chipswitch.validation.validate import ValidationReport


def _print_plans(
    r: SearchResult,
    cost: TrainingCost | None,
    front: list[ParetoPoint],
    offering: str | None = None,
) -> None:
    """The plan tables; `offering` names where the cost is priced (the --price id)."""
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
    for warning in r.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    t = new_table("Best plans (for a fixed chip count, fastest = cheapest)")
    for col in ("plan", "step s", "tok/s/chip (80%)", "MFU", "causal", "GB"):
        t.add_column(col, justify="left" if col == "plan" else "right")
    for p in r.top:
        b = p.breakdown
        t.add_row(
            p.plan.describe(),
            fmt.sig(b["step_time"]),
            fmt.sig_interval(b["tokens_per_s_per_chip"], *p.interval),
            fmt.percent(b["mfu"]),
            fmt.percent(b["mfu_causal"]),
            fmt.sig(b["mem_total"] / 1e9),
        )
    print_table(t)
    best = r.best.breakdown
    bt = new_table(f"Best plan's step: {fmt.sig(best['step_time'])} s")
    bt.add_column("term")
    bt.add_column("s", justify="right")
    bt.add_column("share", justify="right")
    for key, label in BREAKDOWN_TIME:
        if best[key] > 0:
            bt.add_row(label, fmt.sig(best[key]), fmt.percent(best[key] / best["step_time"]))
    print_table(bt)
    mt = new_table(
        f"Memory per chip: {fmt.sig(best['mem_total'] / 1e9)} of {fmt_bytes(sys.hbm_bytes)}"
    )
    mt.add_column("category")
    mt.add_column("GB", justify="right")
    for key, label in BREAKDOWN_MEMORY:
        mt.add_row(label, fmt.sig(best[key] / 1e9))
    print_table(mt)
    if cost is not None:
        lo, hi = (s / units.DAY for s in cost.seconds_interval)
        line = f"Training {fmt.count(cost.tokens)} tokens: "
        line += f"{fmt.sig_interval(cost.seconds / units.DAY, lo, hi)} days"
        if cost.usd is not None and cost.usd_interval and cost.price:
            line += (
                f", {fmt.money_interval(cost.usd, *cost.usd_interval)} at "
                f"{offering + ' ' if offering else ''}{cost.price.type} "
                f"${fmt.sig(cost.price.usd_per_chip_hour)}/chip-h ({cost.price.date})"
            )
        if cost.energy_joules is not None:
            line += f", {fmt.sig(cost.energy_joules / units.KWH / 1e3)} MWh at TDP"
        console.print(line + " [dim](ideal: every chip-hour trains)[/]")
        _print_all_in(cost)
    if front:
        _print_front(front)


def _print_front(front: list[ParetoPoint]) -> None:
    """The time-vs-cost front: built on the all-in figures, the ideal ones beside them."""
    ft = new_table("Time vs cost across chip counts (Pareto front on the all-in figures)")
    cols = ("chips", "all-in\ndays", "all-in\ncost", "goodput", "ideal\ndays", "ideal\ncost")
    for col in (*cols, "plan"):
        ft.add_column(col, justify="left" if col == "plan" else "right")
    for pt in front:
        ft.add_row(
            fmt.integer(pt.n_chips),
            fmt.sig(pt.all_in_seconds / units.DAY),
            fmt.money(pt.all_in_cost_usd),
            fmt.percent(pt.goodput),
            fmt.sig(pt.train_seconds / units.DAY),
            fmt.money(pt.cost_usd),
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
    for col in ("tokens", "seq", "batch", "plan", "tok/s/chip", "days", "all-in\ndays", "goodput"):
        t.add_column(col, justify="left" if col == "plan" else "right", no_wrap=col != "plan")
    for s in stages:
        c, b = s.cost, s.result.best
        t.add_row(
            fmt.count(s.stage.tokens),
            fmt.integer(s.stage.seq_len),
            fmt.integer(s.stage.global_batch),
            b.plan.describe(),
            fmt.sig(b.tokens_per_s_per_chip),
            fmt.sig(c.seconds / units.DAY),
            "—" if c.all_in is None else fmt.sig(c.all_in.seconds / units.DAY),
            "—" if c.goodput is None else fmt.percent(c.goodput.goodput),
        )
    print_table(t)


def _print_all_in(cost: TrainingCost) -> None:
    """The all-in line, the split of wall time and the failure model's assumptions."""
    a, g = cost.all_in, cost.goodput
    if a is None or g is None:
        return
    if not math.isfinite(a.seconds):
        console.print(
            f"All-in: the run would not finish: the job is interrupted every "
            f"{g.mtbf_s:.3g} s on average, against a {g.restart_s:.0f} s restart and a "
            f"{g.checkpoint_write_s:.3g} s checkpoint (goodput {g.goodput:.2g})"
        )
        return
    lo, hi = a.seconds_interval
    line = (
        "All-in (failures, restarts, checkpoints): "
        f"{fmt.sig_interval(a.seconds / units.DAY, lo / units.DAY, hi / units.DAY)} days, "
        f"{fmt.count(a.chip_seconds / units.HOUR)} chip-hours"
    )
    if a.usd is not None and a.usd_interval is not None:
        line += f", {fmt.money_interval(a.usd, *a.usd_interval)}"
    console.print(line)
    gl, gh = g.goodput_interval
    console.print(f"{fmt.sig(g.interruptions)} interruptions expected")
    st = new_table(f"Goodput {fmt.percent(g.goodput)} ({fmt.percent(gl)}-{fmt.percent(gh)})")
    st.add_column("wall time spent on")
    st.add_column("days", justify="right")
    st.add_column("share", justify="right")
    for key, secs in g.split_s.items():
        st.add_row(key.replace("_", " "), fmt.sig(secs / units.DAY), fmt.percent(secs / g.wall_s))
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
        typer.Option(
            "--price",
            metavar="PRICE",
            help="A price type (on_demand, spot, capacity_block, ...: the chip's cheapest "
            "offering of it), or an offering id with an optional ':type' (aws-p5:spot).",
        ),
    ] = None,
    precision: Annotated[str, typer.Option("--precision", help="bf16 or fp8 (GEMMs).")] = "bf16",
    software: Annotated[
        str | None,
        typer.Option(
            "--software",
            help="Training stack (megatron-core, torchtitan-eager, maxtext, ...: "
            "docs/engine.md); default: the vendor's reference stack.",
        ),
    ] = None,
    power_limit: Annotated[
        float | None,
        typer.Option(
            "--power-limit",
            min=1,
            help="Run the chips capped at this many watts (below TDP: lower sustained clocks).",
        ),
    ] = None,
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
    failures = FailureOptions.from_user_units(failure_rate, storage_bandwidth, checkpoint_interval)
    session = get_session(calibration)
    report = session.plan_training(
        model, hardware, chips=chips, global_batch=global_batch, seq=seq, precision=precision,
        tokens=tokens, price=price, top=top, pareto=pareto_front, failures=failures,
        stages=[parse_stage(s) for s in stage or ()], software=software, power_limit=power_limit,
    )  # fmt: skip
    for note in report.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    if as_json:
        print_json(report)
        return
    offering = None
    if price and report.training is not None:
        offering = resolve_offering(session.catalog, report.search.chip, price)[0].id
    _print_plans(report.search, report.training, list(report.pareto), offering)
    _print_stages(report.stages)


def _print_validation(rep: ValidationReport) -> None:
    t = new_table("Per row: predicted vs measured tokens/s per chip")
    t.add_column("id", overflow="fold")
    for col in ("measured", "predicted (80%)", "error"):
        t.add_column(col, justify="right", no_wrap=True)
    t.add_column("plan")
    for r in rep.results:
        style = "red" if abs(r.error) > 0.25 else None
        t.add_row(
            r.id,
            fmt.sig(r.measured),
            fmt.sig_interval(r.predicted, *r.interval),
            fmt.signed_percent(r.error),
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
            fmt.percent(st["median_abs_error"]),
            fmt.percent(st["p90_abs_error"]),
            fmt.signed_percent(st["mean_signed_error"]),
            fmt.percent(st["interval_coverage"]),
        )

    add("all", s["all"])
    if s["cv"]["n"]:
        add("leave-one-source-out", s["cv"])
    for k, st in s["by_accelerator"].items():
        add(f"chip {k}", st)
    for k, st in s["by_source"].items():
        add(f"source {k[:48]}", st)
    print_table(g)
    if rep.skipped:
        sk = new_table(f"Rows not modelled ({len(rep.skipped)})")
        sk.add_column("id", overflow="fold")
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
