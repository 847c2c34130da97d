"""`chipswitch decide`: is capital tied to a chip commitment worth taking?

A thin shell over `chipswitch.decide.engine.decide`: it parses options, shows progress on
stderr, prints the rich summary or JSON, and writes the HTML report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from chipswitch.cli.common import (
    EXIT_USER_ERROR,
    USER_ERRORS,
    console,
    err_console,
    get_session,
    new_table,
    print_json,
    print_table,
    report_error,
)
from chipswitch.decide.engine import DEFAULT_SAMPLES, DEFAULT_SEED, DecisionResult
from chipswitch.decide.scenario import DEFAULT_SCENARIO
from chipswitch.decide.verdict import OBJECTIVE_LABEL, fmt_objective, fmt_usd
from chipswitch.errors import ChipswitchError


class ObjectiveChoice(StrEnum):
    npv = "npv"
    cost = "cost"
    compute = "compute"


HELP = (
    "Decide whether an investment tied to a chip commitment is worth taking.\n\n"
    "Runs a Monte Carlo of every option in SCENARIO.yaml (default: the shipped "
    f"'{DEFAULT_SCENARIO}' scenario) with throughput from the performance engine, then "
    "break-even values, a tornado, Sobol' indices, value of information, a verdict and a "
    "hindcast. The scenario format is documented in docs/decide.md."
)


def register(app: typer.Typer) -> None:
    """Add the `decide` command to `app`."""
    app.command("decide", help=HELP, no_args_is_help=False)(decide_command)


def decide_command(
    scenario: Annotated[
        str | None,
        typer.Argument(
            metavar="SCENARIO.yaml",
            help=f"Scenario file or shipped scenario name (default: {DEFAULT_SCENARIO}).",
            show_default=False,
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", "-n", min=100, help="Monte Carlo samples.")
    ] = DEFAULT_SAMPLES,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the random generator.")
    ] = DEFAULT_SEED,
    objective: Annotated[
        ObjectiveChoice | None,
        typer.Option("--objective", help="What 'better' means (default: the scenario's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", metavar="OUT.html", help="Write a self-contained HTML report."),
    ] = None,
) -> None:
    if report is not None and not (report.parent if str(report.parent) else Path(".")).is_dir():
        report_error(ChipswitchError(f"--report: folder {report.parent} does not exist"))
        raise typer.Exit(EXIT_USER_ERROR)
    try:
        with _progress() as tick:
            decision = get_session().decide(
                scenario,
                samples=samples,
                seed=seed,
                objective=objective.value if objective is not None else None,
                progress=tick,
            )
            res = decision.result
            if report is not None:
                tick("writing the report", 1.0)
                from chipswitch.decide.report import write_report

                write_report(res, report)
    except USER_ERRORS as exc:
        report_error(exc)
        raise typer.Exit(EXIT_USER_ERROR) from None
    except OSError as exc:
        report_error(exc)
        raise typer.Exit(EXIT_USER_ERROR) from None
    if as_json:
        print_json(decision)
    else:
        print_summary(res)
    if report is not None:
        err_console.print(f"report written to {report}")


@contextmanager
def _progress() -> Iterator[Callable[[str, float], None]]:
    """A spinner and bar on stderr (not drawn when stderr is not a terminal)."""
    prog = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with prog:
        task = prog.add_task("loading", total=1.0)

        def tick(phase: str, fraction: float) -> None:
            prog.update(task, description=phase, completed=fraction)

        yield tick


# -- terminal summary ----------------------------------------------------------------------------


def print_summary(res: DecisionResult) -> None:
    obj = res.objective
    console.print(
        f"[bold]{escape(res.title)}[/bold]\n[dim]scenario {escape(res.scenario)} · {res.samples:,} "
        f"samples · seed {res.seed} · objective: {OBJECTIVE_LABEL[obj]}[/dim]"
    )
    verdict = Text(res.verdict.sentence)
    console.print(Panel(verdict, title="verdict", title_align="left", border_style="cyan"))
    t = new_table("Options")
    for col in (
        "option",
        "P(best)",
        "E[objective]",
        "NPV p5",
        "NPV p50",
        "NPV p95",
        "cost p50",
        "FLOP p50",
        "sold p50",
        "runway p50",
        "P(cash out)",
        "E[regret]",
    ):
        t.add_column(escape(col), justify="left" if col == "option" else "right")
    for o in res.options:
        m = o.metrics
        t.add_row(
            o.id,
            f"{o.p_best:.0%}",
            fmt_objective(obj, o.expected_objective),
            fmt_usd(m["npv_usd"].p5),
            fmt_usd(m["npv_usd"].p50),
            fmt_usd(m["npv_usd"].p95),
            fmt_usd(m["cost_usd"].p50),
            f"{m['compute_delivered_flop'].p50:.3g}",
            f"{m['ownership_sold'].p50:.1%}",
            f"{m['runway_months'].p50:.1f} mo",
            f"{o.p_cash_out:.0%}",
            fmt_objective(obj, o.expected_regret),
        )
    print_table(t)
    t = new_table("Pairs (first minus second)")
    for col in ("pair", "mean", "p5", "p95", "P(first better)"):
        t.add_column(col, justify="left" if col == "pair" else "right")
    for p in res.pairs:
        d = p.difference
        t.add_row(
            f"{p.a} − {p.b}",
            fmt_objective(obj, d.mean),
            fmt_objective(obj, d.p5),
            fmt_objective(obj, d.p95),
            f"{p.p_a_better:.0%}",
        )
    print_table(t)
    a, b = res.break_even_pair
    t = new_table(escape(f"Break-even values (E[{a} − {b}] = 0)"))
    for col in ("input", "value", "unit", "median", "note"):
        t.add_column(col, justify="right" if col in ("value", "median") else "left")
    for be in res.break_even:
        value = "—" if be.value is None else f"{be.value:.4g}"
        t.add_row(escape(be.label), value, be.unit, f"{be.base:.4g}", escape(be.note))
    print_table(t)
    a, b = res.sensitivity_pair
    sobol = {s.input: s for s in res.sobol}
    t = new_table(escape(f"Sensitivity of E[{a} − {b}] (tornado p10 / p90; Sobol' total index)"))
    for col in ("input", "p10 → E", "p90 → E", "swing", "Sobol ST"):
        t.add_column(col, justify="left" if col == "input" else "right")
    for e in res.tornado[:10]:
        s = sobol.get(e.input)
        lo = f"{e.low_value:.3g}" if e.kind == "dist" else "no"
        hi = f"{e.high_value:.3g}" if e.kind == "dist" else "yes"
        t.add_row(
            e.input,
            f"{lo} → {fmt_objective(obj, e.low)}",
            f"{hi} → {fmt_objective(obj, e.high)}",
            fmt_objective(obj, e.swing),
            "—" if s is None else f"{s.st:.2f}",
        )
    print_table(t)
    t = new_table(f"Value of information (EVPI {fmt_objective(obj, res.evpi)})")
    for col in ("input group", "EVPPI", "share"):
        t.add_column(col, justify="left" if col == "input group" else "right")
    for v in res.voi[:6]:
        t.add_row(v.group, fmt_objective(obj, v.evppi), f"{v.share_of_evpi:.0%}")
    print_table(t)
    for chip, worth in res.pilot_benchmark().items():
        console.print(
            Text(
                f"A pilot benchmark of {chip} (its real throughput and ramp) is worth up to "
                f"{fmt_objective(obj, worth)} before signing."
            )
        )
    if res.hindcast:
        t = new_table("Hindcast: 2024 priors against what happened")
        for col in ("quantity", "prior", "what happened", "where reality fell"):
            t.add_column(col)
        for h in res.hindcast:
            t.add_row(*(Text(x) for x in (h.label, h.prior, h.actual_text, h.where)))
        print_table(t)
    for note in res.notes:
        console.print(Text(f"note: {note}", style="dim"))
    if res.unsourced:
        console.print(
            f"[yellow]{len(res.unsourced)} input(s) without a source or assumption:[/yellow] "
            + ", ".join(res.unsourced)
        )
