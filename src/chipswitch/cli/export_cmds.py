"""`chipswitch export`: the best plan of a `plan` query, or a given plan, as a framework's own
run configuration (Megatron-LM, torchtitan, MaxText, NeuronX Distributed Training)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from chipswitch.cli.common import CalibrationOpt, err_console, get_session
from chipswitch.errors import ChipswitchError
from chipswitch.export.common import ExportedConfig

FRAMEWORK_NAMES = ("megatron", "torchtitan", "maxtext", "neuronx-distributed")


def export(
    framework: Annotated[
        str,
        typer.Option("--framework", "-f", help=f"Target framework: {', '.join(FRAMEWORK_NAMES)}."),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="File to write ('-' for standard output).")
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="Model id (chipswitch models list).")],
    hardware: Annotated[
        str, typer.Option("--hardware", "-H", help="Chip id (chipswitch hardware list).")
    ],
    global_batch: Annotated[
        int, typer.Option("--global-batch", "-b", min=1, help="Sequences per step.")
    ],
    seq: Annotated[int, typer.Option("--seq", "-s", min=1, help="Sequence length (tokens).")],
    chips: Annotated[
        int | None,
        typer.Option("--chips", "-n", min=1, help="Number of chips (with --plan: TPxPPxDPxCP)."),
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option(
            "--plan",
            help="Export this plan instead of searching, e.g. "
            "'TP8 PP4 DP32 mb1 ZeRO-1 recompute=selective'.",
        ),
    ] = None,
    precision: Annotated[str, typer.Option("--precision", help="bf16 or fp8 (GEMMs).")] = "bf16",
    calibration: CalibrationOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the export as JSON (content included).")
    ] = False,
) -> None:
    """Write the best plan (or --plan) as a training framework's own run configuration."""
    if framework not in FRAMEWORK_NAMES:
        raise ChipswitchError(
            f"unknown framework '{framework}'; known frameworks: {', '.join(FRAMEWORK_NAMES)}"
        )
    result = get_session(calibration).export(
        framework, model, hardware, chips=chips, plan=plan, global_batch=global_batch,
        seq=seq, precision=precision,
    )  # fmt: skip
    _write(result, out, as_json)


def _write(result: ExportedConfig, out: Path, as_json: bool) -> None:
    text = json.dumps(result.to_json(), indent=2) + "\n" if as_json else result.text
    if str(out) == "-":
        sys.stdout.write(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ChipswitchError(f"cannot write {out}: {exc.strerror}") from None
        err_console.print(
            f"wrote {out}: {result.framework} configuration for {result.plan.describe()}"
        )
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    if result.placeholders:
        names = ", ".join(p.name for p in result.placeholders)
        err_console.print(f"set before launch (PLACEHOLDER): {names}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
