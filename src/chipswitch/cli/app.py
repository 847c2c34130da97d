"""The root `chipswitch` command: global options, error handling and command registration.

To add commands, write a module with `register(app: typer.Typer) -> None` (see
`catalog_cmds.py`) and append it to `COMMAND_MODULES`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from chipswitch import __version__
from chipswitch.catalog import ENV_VAR
from chipswitch.cli import (
    calibrate_cmds,
    catalog_cmds,
    compare_cmds,
    decide_cmds,
    perf_cmds,
    serve_cmds,
    sweep_cmds,
)
from chipswitch.cli.common import EXIT_USER_ERROR, USER_ERRORS, report_error, set_catalog_dirs

#: Command modules, each with `register(app)`, in the order their commands appear in --help.
COMMAND_MODULES: tuple[ModuleType, ...] = (
    catalog_cmds,
    perf_cmds,
    compare_cmds,
    calibrate_cmds,
    decide_cmds,
    sweep_cmds,
    serve_cmds,
)


class _Group(TyperGroup):
    """Root group that turns user errors raised by any subcommand into one red line, exit 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            report_error(exc)
            raise typer.Exit(EXIT_USER_ERROR) from None


app = typer.Typer(
    name="chipswitch",
    cls=_Group,
    help="Predict LLM training step time, memory and cost on any accelerator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chipswitch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog",
            metavar="DIR",
            help=(
                "Extra catalog directory (chips/, offerings/, models/, sources.yaml); entries "
                f"override shipped ones by id. Repeatable; applied after ${ENV_VAR}."
            ),
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Predict LLM training step time, memory and cost on any accelerator."""
    set_catalog_dirs(catalog or [])


for _module in COMMAND_MODULES:
    _module.register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point. A user error never shows a traceback."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="chipswitch")
    except USER_ERRORS as exc:  # raised outside a subcommand (e.g. while parsing)
        report_error(exc)
        raise SystemExit(EXIT_USER_ERROR) from None
    except BrokenPipeError:  # `chipswitch ... --json | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0) from None


if __name__ == "__main__":
    main()
