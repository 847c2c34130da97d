"""`chipswitch compare`: days, dollars and energy to train one model on each chip."""

from __future__ import annotations

from typing import Annotated

import typer

from chipswitch import format as fmt
from chipswitch import units
from chipswitch.cli.common import (
    CalibrationOpt,
    console,
    get_session,
    new_table,
    print_json,
    print_table,
)
from chipswitch.errors import ChipswitchError
from chipswitch.planning.compare import Comparison


def _print(cmp: Comparison) -> None:
    w = cmp.workload
    console.print(
        f"[bold]{w.model.name}[/] on {cmp.n_chips:,} chips: global batch {w.global_batch} x "
        f"{w.seq_len} tokens, {w.precision}; {fmt.count(cmp.tokens)} tokens to train; "
        f"prices: cheapest {cmp.price_type} offering per chip"
    )
    t = new_table(
        "Time and cost per chip (80% intervals)",
        caption="All-in: with failures, restarts and checkpoints (goodput; * = failure rate "
        "is a prior, no published data at scale for that family).",
    )
    cols = ("chip", "tok/s\nper chip", "days", "cost", "goodput", "all-in\ndays", "all-in\ncost")
    for col in cols:
        t.add_column(col, justify="left" if col == "chip" else "right", no_wrap=col != "chip")
    p = new_table(
        "Best plan and price per chip",
        caption="Energy: accelerators at TDP; host, network and cooling excluded.",
    )
    for col in ("chip", "MFU", "plan", "priced at", "MWh"):
        p.add_column(col, justify="right" if col in ("MFU", "MWh") else "left")
    for o in cmp.rows:
        if o.result is None or o.cost is None:
            t.add_row(o.chip.id, *[""] * (len(cols) - 1))
            p.add_row(o.chip.id, "", f"[dim]{o.reason}[/]", "", "")
            continue
        b, c = o.result.best, o.cost
        lo, hi = (s / units.DAY for s in c.seconds_interval)
        g, a = c.goodput, c.all_in
        cost = "no public price"
        if c.usd is not None and c.usd_interval:
            cost = fmt.money_interval(c.usd, *c.usd_interval)
        t.add_row(
            o.chip.id,
            fmt.sig(b.tokens_per_s_per_chip),
            fmt.sig_interval(c.seconds / units.DAY, lo, hi),
            cost,
            "—" if g is None else fmt.percent(g.goodput) + ("*" if g.reliability.prior else ""),
            "—" if a is None else fmt.sig(a.seconds / units.DAY),
            "—" if a is None else fmt.money(a.usd),
        )
        priced = "—"
        if c.price is not None:
            priced = f"{o.offering} ${fmt.sig(c.price.usd_per_chip_hour)}/h"
        p.add_row(
            o.chip.id,
            fmt.percent(b.breakdown["mfu"]),
            b.plan.describe(),
            priced,
            "—" if c.energy_joules is None else fmt.sig(c.energy_joules / units.KWH / 1e3),
        )
    print_table(t)
    print_table(p)


def compare_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Model id (chipswitch models list).")],
    chips: Annotated[int, typer.Option("--chips", "-n", min=1, help="Chips of each kind.")],
    global_batch: Annotated[
        int, typer.Option("--global-batch", "-b", min=1, help="Sequences per step.")
    ],
    seq: Annotated[int, typer.Option("--seq", "-s", min=1, help="Sequence length (tokens).")],
    tokens: Annotated[
        float, typer.Option("--tokens", "-t", min=1, help="Tokens to train (e.g. 15e12).")
    ],
    hardware: Annotated[
        str | None,
        typer.Option(
            "--hardware", "-H", help="Comma-separated chip ids (default: every catalog chip)."
        ),
    ] = None,
    price_type: Annotated[
        str,
        typer.Option(
            "--price",
            "--price-type",
            metavar="TYPE",
            help="Price type (on_demand, spot, capacity_block, ...): each chip at its cheapest "
            "offering of it (--price-type: the former name).",
        ),
    ] = "on_demand",
    precision: Annotated[str, typer.Option("--precision", help="bf16 or fp8 (GEMMs).")] = "bf16",
    calibration: CalibrationOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Best plan, days, cost and energy to train one model on each chip, with 80% intervals."""
    names = [h.strip() for h in hardware.split(",") if h.strip()] if hardware else None
    if hardware is not None and not names:
        raise ChipswitchError("--hardware: give at least one chip id, or leave it out for all")
    if ":" in price_type.strip(":"):
        raise ChipswitchError(
            "--price: compare prices every chip at its cheapest offering of a price type; give "
            "the type alone (e.g. spot); plan --price takes an offering"
        )
    report = get_session(calibration).compare(
        model, names, chips=chips, global_batch=global_batch, seq=seq, tokens=tokens,
        precision=precision, price_type=price_type,
    )  # fmt: skip
    if as_json:
        print_json(report)
        return
    _print(report.comparison)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
