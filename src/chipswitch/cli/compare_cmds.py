"""`chipswitch compare`: days, dollars and energy to train one model on each chip."""

from __future__ import annotations

from typing import Annotated

import typer

from chipswitch import units
from chipswitch.cli.common import console, get_session, new_table, print_json, print_table
from chipswitch.errors import ChipswitchError
from chipswitch.planning.compare import Comparison


def _print(cmp: Comparison) -> None:
    w = cmp.workload
    console.print(
        f"[bold]{w.model.name}[/] on {cmp.n_chips:,} chips: global batch {w.global_batch} x "
        f"{w.seq_len} tokens, {w.precision}; {cmp.tokens:.3g} tokens to train; "
        f"prices: cheapest {cmp.price_type} offering per chip"
    )
    t = new_table(
        "Best plan per chip (80% intervals)",
        caption="Energy: accelerators at TDP; host, network and cooling excluded. All-in: "
        "with failures, restarts and checkpoints (goodput; * = failure rate is a prior, "
        "no published data at scale for that family).",
    )
    cols = ("chip", "plan", "tok/s/chip", "MFU", "days", "days 80%", "cost $", "cost 80% $")
    for col in (*cols, "goodput", "all-in days", "all-in $", "$/chip-h", "MWh"):
        t.add_column(col, justify="left" if col in ("chip", "plan") else "right")
    for o in cmp.rows:
        if o.result is None or o.cost is None:
            t.add_row(o.chip.id, f"[dim]{o.reason}[/]", *[""] * 11)
            continue
        b, c = o.result.best, o.cost
        lo, hi = c.seconds_interval
        price = c.price.usd_per_chip_hour if c.price else None
        g, a = c.goodput, c.all_in
        t.add_row(
            o.chip.id,
            b.plan.describe(),
            f"{b.tokens_per_s_per_chip:,.0f}",
            f"{b.breakdown['mfu']:.1%}",
            f"{c.seconds / units.DAY:,.1f}",
            f"{lo / units.DAY:,.1f}-{hi / units.DAY:,.1f}",
            "—" if c.usd is None else f"{c.usd:,.0f}",
            "—" if not c.usd_interval else f"{c.usd_interval[0]:,.0f}-{c.usd_interval[1]:,.0f}",
            "—" if g is None else f"{g.goodput:.1%}" + ("*" if g.reliability.prior else ""),
            "—" if a is None else f"{a.seconds / units.DAY:,.1f}",
            "—" if a is None or a.usd is None else f"{a.usd:,.0f}",
            "—" if price is None else f"{price:.2f}",
            "—" if c.energy_joules is None else f"{c.energy_joules / units.KWH / 1e3:,.0f}",
        )
    print_table(t)


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
        typer.Option("--price-type", help="Price type (on_demand, capacity_block, spot, ...)."),
    ] = "on_demand",
    precision: Annotated[str, typer.Option("--precision", help="bf16 or fp8 (GEMMs).")] = "bf16",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Best plan, days, cost and energy to train one model on each chip, with 80% intervals."""
    names = [h.strip() for h in hardware.split(",") if h.strip()] if hardware else None
    if hardware is not None and not names:
        raise ChipswitchError("--hardware: give at least one chip id, or leave it out for all")
    report = get_session().compare(
        model, names, chips=chips, global_batch=global_batch, seq=seq, tokens=tokens,
        precision=precision, price_type=price_type,
    )  # fmt: skip
    if as_json:
        print_json(report)
        return
    _print(report.comparison)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
