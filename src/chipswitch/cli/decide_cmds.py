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

from chipswitch import format as fmt
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
from chipswitch.decide.charts import input_value
from chipswitch.decide.diff import diff_results, diff_scenarios
from chipswitch.decide.engine import (
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    MAX_SAMPLES,
    MIN_SAMPLES,
    DecisionResult,
)
from chipswitch.decide.scenario import DEFAULT_SCENARIO
from chipswitch.decide.verdict import OBJECTIVE_LABEL, fmt_objective, fmt_usd
from chipswitch.errors import ChipswitchError


class ObjectiveChoice(StrEnum):
    npv = "npv"
    risk = "risk"
    cost = "cost"
    compute = "compute"


DIFF_HELP = (
    "Show which inputs differ between two scenario files and how every output moved "
    "(expected objective, P(best), risk and the verdict of each option)."
)
HELP = (
    "Decide whether an investment tied to a chip commitment is worth taking.\n\n"
    "Runs a Monte Carlo of every option in SCENARIO.yaml (default: the shipped "
    f"'{DEFAULT_SCENARIO}' scenario) with throughput from the performance engine, then "
    "break-even values, a tornado, Sobol' indices, value of information, a verdict and a "
    "hindcast. The scenario format is documented in docs/decide.md."
)


def register(app: typer.Typer) -> None:
    """Add the `decide` and `decide-diff` commands to `app`."""
    app.command("decide", help=HELP, no_args_is_help=False)(decide_command)
    app.command("decide-diff", help=DIFF_HELP, no_args_is_help=True)(decide_diff_command)


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a scenario value (repeatable): dotted keys as in the file, options by "
        "id, e.g. --set company.cash_usd=1e13 --set options.accept.financing.amount_usd=8e9.",
    ),
]


def _pair(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ChipswitchError(f"--pair: expected two option ids A,B (got {text!r})")
    return (parts[0], parts[1])


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
        int,
        typer.Option(
            "--samples", help=f"Monte Carlo samples ({MIN_SAMPLES:,} to {MAX_SAMPLES:,})."
        ),
    ] = DEFAULT_SAMPLES,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the random generator (>= 0).")
    ] = DEFAULT_SEED,
    objective: Annotated[
        ObjectiveChoice | None,
        typer.Option("--objective", help="What 'better' means (default: the scenario's)."),
    ] = None,
    pair: Annotated[
        str | None,
        typer.Option(
            "--pair",
            metavar="A,B",
            help="Option pair the analyses explain (default: the scenario's compare pair).",
        ),
    ] = None,
    lhs: Annotated[
        bool, typer.Option("--lhs", help="Latin hypercube sampling instead of plain Monte Carlo.")
    ] = False,
    settings: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            "--report",
            metavar="OUT.html",
            help="Write a self-contained HTML report (--report: the former name).",
        ),
    ] = None,
) -> None:
    if report is not None and not (report.parent if str(report.parent) else Path(".")).is_dir():
        report_error(ChipswitchError(f"--out: folder {report.parent} does not exist"))
        raise typer.Exit(EXIT_USER_ERROR)
    try:
        with _progress() as tick:
            decision = get_session().decide(
                scenario,
                samples=samples,
                seed=seed,
                objective=objective.value if objective is not None else None,
                progress=tick,
                lhs=lhs,
                pair=_pair(pair),
                settings=settings or (),
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


def _in_unit(x: float | None, unit: str) -> str:
    """A break-even value as read: money for USD, "$0.77/chip-hour", else the unit after it."""
    if x is None:
        return "—"
    if unit == "USD":
        return fmt.money(x)
    if unit.startswith("USD/"):
        return f"{fmt.money(x)}/{unit.removeprefix('USD/')}"
    return f"{fmt.sig(x)} {unit}"


def print_summary(res: DecisionResult) -> None:
    obj = res.objective
    console.print(
        f"[bold]{escape(res.title)}[/bold]\n[dim]scenario {escape(res.scenario)} · {res.samples:,} "
        f"samples · seed {res.seed} · objective: {OBJECTIVE_LABEL[obj]}[/dim]"
    )
    verdict = Text(res.verdict.sentence)
    console.print(Panel(verdict, title="verdict", title_align="left", border_style="cyan"))
    # two tables of the same options, so that each fits a 100-column terminal
    t = new_table("Options (value: the existing holders' share at the horizon)")
    for col in (
        "option",
        "P(best)",
        "E[objective] ± se",
        "CVaR 5%",
        "value p5 to p95",
        "E[regret]",
    ):
        t.add_column(escape(col), justify="left" if col == "option" else "right", no_wrap=True)
    for o in res.options:
        m = o.metrics
        t.add_row(
            o.id,
            fmt.percent(o.p_best),
            f"{fmt_objective(obj, o.expected_objective)} ± {fmt_objective(obj, o.objective_se)}",
            fmt_objective(obj, o.cvar_05),
            f"{fmt_usd(m['npv_usd'].p5)} to {fmt_usd(m['npv_usd'].p95)}",
            fmt_objective(obj, o.expected_regret),
        )
    print_table(t)
    t = new_table("Options: cost, stake sold, delay (medians), risks")
    for col in ("option", "cost", "stake sold", "delay", "P(cash out)", "P(exit)"):
        t.add_column(col, justify="left" if col == "option" else "right", no_wrap=True)
    for o in res.options:
        m = o.metrics
        t.add_row(
            o.id,
            fmt_usd(m["cost_usd"].p50),
            fmt.percent(m["ownership_sold"].p50),
            f"{fmt.sig(m['delay_months'].p50)} mo",
            fmt.percent(o.p_cash_out),
            fmt.percent(o.p_port_abandoned),
        )
    print_table(t)
    t = new_table("Pairs (first minus second)")
    for col in ("pair", "mean ± se", "p5", "p95", "P(first better)", "dominance"):
        t.add_column(col, justify="left" if col in ("pair", "dominance") else "right")
    for p in res.pairs:
        d = p.difference
        t.add_row(
            f"{p.a} − {p.b}",
            f"{fmt_objective(obj, d.mean)} ± {fmt_objective(obj, p.difference_se)}",
            fmt_objective(obj, d.p5),
            fmt_objective(obj, d.p95),
            fmt.percent(p.p_a_better),
            p.dominance or "—",
        )
    print_table(t)
    a, b = res.pair
    t = new_table(escape(f"Break-even values (E[{a} − {b}] = 0)"))
    for col in ("input", "break-even", "median now", "note"):
        t.add_column(col, justify="left" if col in ("input", "note") else "right")
    for be in res.break_even:
        t.add_row(
            escape(be.label),
            _in_unit(be.value, be.unit),
            _in_unit(be.base, be.unit),
            escape(be.note),
        )
    print_table(t)
    sobol = {s.input: s for s in res.sobol}
    t = new_table(escape(f"Sensitivity of E[{a} − {b}] (tornado p10 / p90; Sobol' total index)"))
    t.add_column("input", overflow="fold")
    for col in ("p10 → E", "p90 → E", "swing", "Sobol ST ± 95%"):
        t.add_column(col, justify="right", no_wrap=True)
    for e in res.tornado[:10]:
        s = sobol.get(e.input)
        lo = input_value(e.input, e.low_value) if e.kind == "dist" else "no"
        hi = input_value(e.input, e.high_value) if e.kind == "dist" else "yes"
        t.add_row(
            e.input,
            f"{lo} → {fmt_objective(obj, e.low)}",
            f"{hi} → {fmt_objective(obj, e.high)}",
            fmt_objective(obj, e.swing),
            "—" if s is None else f"{fmt.sig(s.st, 2)} ± {fmt.sig(s.st_conf, 2)}",
        )
    print_table(t)
    console.print(f"Value of information on {a} vs {b}: EVPI {fmt_objective(obj, res.evpi)}")
    t = new_table("Partial EVPI per input group")
    for col in ("input group", "EVPPI", "share"):
        t.add_column(col, justify="left" if col == "input group" else "right")
    for v in res.voi[:6]:
        t.add_row(v.group, fmt_objective(obj, v.evppi), fmt.percent(v.share_of_evpi))
    print_table(t)
    pl = res.pilot
    if pl is not None:
        console.print(
            Text(
                f"Pilot first ({pl.chip}, {pl.months:g} months, then {pl.pair[0]} or "
                f"{pl.pair[1]}): EVSI {fmt_objective(obj, pl.evsi)} against EVPI "
                f"{fmt_objective(obj, pl.evpi_pair)}; cost {fmt_usd(pl.cost)}, net "
                f"{fmt_objective(obj, pl.net_value)}."
            )
        )
    if res.hindcast:
        t = new_table("Hindcast: 2024 priors against what happened")
        for col in ("quantity", "prior", "what happened", "where reality fell"):
            t.add_column(col)
        for h in res.hindcast:
            t.add_row(*(Text(x) for x in (h.label, h.prior, h.actual_text, h.where)))
        print_table(t)
    dh = res.decision_hindcast
    if dh:
        values = ", ".join(f"{k} = {v:.4g}" for k, v in dh["values"].items())
        console.print(
            Text(
                f"Decision hindcast: with what happened ({values}), '{dh['winner']}' wins by "
                f"{fmt_objective(obj, dh['advantage'])} over '{dh['runner_up']}'."
            )
        )
    if res.hindsight:
        console.print(
            Text("hindsight used (allow_hindsight): " + "; ".join(res.hindsight), style="yellow")
        )
    for note in res.notes:
        console.print(Text(f"note: {note}", style="dim"))
    if res.unsourced:
        console.print(
            f"[yellow]{len(res.unsourced)} input(s) without a source or assumption:[/yellow] "
            + ", ".join(res.unsourced)
        )


def decide_diff_command(
    scenario_a: Annotated[str, typer.Argument(metavar="A.yaml", help="First scenario.")],
    scenario_b: Annotated[str, typer.Argument(metavar="B.yaml", help="Second scenario.")],
    samples: Annotated[
        int, typer.Option("--samples", help="Monte Carlo samples (each run).")
    ] = DEFAULT_SAMPLES,
    seed: Annotated[int, typer.Option("--seed", help="Seed (the same for both).")] = DEFAULT_SEED,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    from chipswitch.decide.scenario import load_scenario_raw, scenario_path

    try:
        raws = [load_scenario_raw(scenario_path(s)) for s in (scenario_a, scenario_b)]
        inputs = diff_scenarios(*raws)
        session = get_session()
        with _progress() as tick:
            ra = session.decide(scenario_a, samples=samples, seed=seed, progress=tick).result
            rb = session.decide(scenario_b, samples=samples, seed=seed, progress=tick).result
        outputs = diff_results(ra, rb)
    except USER_ERRORS as exc:
        report_error(exc)
        raise typer.Exit(EXIT_USER_ERROR) from None
    if as_json:
        doc = {
            "a": scenario_a,
            "b": scenario_b,
            "inputs": [{"key": c.key, "a": c.a, "b": c.b} for c in inputs],
            "outputs": [{"key": c.key, "a": c.a, "b": c.b} for c in outputs],
        }
        print_json(doc)
        return
    t = new_table(f"Inputs that differ ({len(inputs)})")
    for col in ("input", "A", "B"):
        t.add_column(col)
    for c in inputs:
        t.add_row(escape(c.key), escape(_short(c.a)), escape(_short(c.b)))
    print_table(t)
    t = new_table("How the outputs moved")
    for col in ("output", "A", "B", "B - A"):
        t.add_column(col, justify="left" if col == "output" else "right")
    for c in outputs:
        delta = (
            _num(c.b - c.a)
            if isinstance(c.a, float) and isinstance(c.b, float)
            else ("" if c.a == c.b else "changed")
        )
        t.add_row(escape(c.key), _num(c.a), _num(c.b), delta)
    print_table(t)


def _short(x: object, width: int = 60) -> str:
    text = "—" if x is None else str(x)
    return text if len(text) <= width else text[: width - 1] + "…"


def _num(x: object) -> str:
    if isinstance(x, bool) or not isinstance(x, float):
        return _short(x)
    return f"{x:.4g}" if abs(x) < 1e6 else fmt_usd(x)
