"""The root `chipswitch` command: global options, error handling and lazy command loading.

Commands are listed in `COMMANDS` (name -> module, one-line help). A command's module, and the
library it needs, is imported only when that command runs, so `chipswitch --help` and
`chipswitch hardware list` start fast. To add commands, write a module with
`register(app: typer.Typer) -> None` (see `catalog_cmds.py`) and add its commands to `COMMANDS`
(a test checks that the two agree).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click as click  # typer 0.29 vendors click; its Group/Command types
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from chipswitch import __version__
from chipswitch.catalog import ENV_VAR
from chipswitch.cli.common import (
    EXIT_USER_ERROR,
    USER_ERRORS,
    report_error,
    report_usage_error,
    set_catalog_dirs,
)

#: Every command: name -> (module with `register(app)`, one-line help), in --help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": (
        "chipswitch.cli.perf_cmds",
        "Search every valid parallel plan; show the best with step-time and memory breakdowns.",
    ),
    "validate": (
        "chipswitch.cli.perf_cmds",
        "Predict each usable row with its own plan; print per-row and grouped errors.",
    ),
    "export": (
        "chipswitch.cli.export_cmds",
        "Write the best plan (or --plan) as a training framework's own run configuration.",
    ),
    "compare": (
        "chipswitch.cli.compare_cmds",
        "Best plan, days, cost and energy to train one model on each chip, with 80% intervals.",
    ),
    "calibrate": (
        "chipswitch.cli.calibrate_cmds",
        "Microbenchmark this device (GEMMs, copy, attention, norms, collectives) into a profile.",
    ),
    "measure": (
        "chipswitch.cli.calibrate_cmds",
        "Train a real model for a few steps; compare step time and memory with the engine.",
    ),
    "decide": (
        "chipswitch.cli.decide_cmds",
        "Decide whether an investment tied to a chip commitment is worth taking.",
    ),
    "decide-diff": (
        "chipswitch.cli.decide_cmds",
        "Which inputs differ between two decision scenarios, and how every output moved.",
    ),
    "sweep": (
        "chipswitch.cli.sweep_cmds",
        "Run a plan search at every point of a design-space grid; write one row per point.",
    ),
    "sweep-report": (
        "chipswitch.cli.sweep_cmds",
        "Rank chips per model by cost and by time; optionally draw cost-vs-time frontiers.",
    ),
    "serve": (
        "chipswitch.cli.serve_cmds",
        "Serve the dashboard at / and the HTTP API at /api (OpenAPI at /openapi.json).",
    ),
    "hardware": (
        "chipswitch.cli.catalog_cmds",
        "Accelerators: peaks, memory, interconnect, power.",
    ),
    "models": ("chipswitch.cli.catalog_cmds", "Model shapes and their parameter counts."),
    "prices": (
        "chipswitch.cli.catalog_cmds",
        "Published cloud prices per chip-hour, with dates and sources.",
    ),
}

HELP_OPTIONS = ["-h", "--help"]

#: Settings shared by the root app and the apps command modules register on.
_APP_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": "rich",
}


def load_command(name: str) -> click.Command:
    """Import `name`'s module, let it register on a scratch app, and return the command."""
    module = importlib.import_module(COMMANDS[name][0])
    scratch = typer.Typer(**_APP_SETTINGS)
    module.register(scratch)
    group = typer.main.get_group(scratch)
    return plain_help(group.commands[name])


class _Argument(TyperArgument):
    """An argument in the usage line as NAME (required) or [NAME], not typer's {name}."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def _plain_params(params: Sequence[click.Parameter]) -> None:
    for p in params:
        if isinstance(p, TyperArgument):
            p.metavar = p.metavar or (p.name or "arg").upper()
            p.__class__ = _Argument
        elif isinstance(p, TyperOption) and p.is_flag:
            p.metavar = ""  # a flag takes no value: no "<bool>" in the help


def plain_help(cmd: click.Command) -> click.Command:
    """`cmd` (and its subcommands) with help that reads like the README: flags show no
    `<bool>` type and arguments are written NAME or [NAME], not `{name}`."""
    for sub in (getattr(cmd, "commands", None) or {}).values():
        plain_help(sub)
    _plain_params(cmd.params)
    ctx = click.Context(cmd, info_name=cmd.name, help_option_names=HELP_OPTIONS)
    _plain_params([h for h in (cmd.get_help_option(ctx),) if h is not None])
    return cmd


class _Listed(TyperCommand):
    """What `--help` shows for a command that is not loaded: its name and one-line help."""

    def __init__(self, name: str) -> None:
        super().__init__(name, help=COMMANDS[name][1], short_help=COMMANDS[name][1])


class _Group(TyperGroup):
    """Root group: lists `COMMANDS` without importing them, loads the one that runs, and turns
    user errors raised by any subcommand, and usage errors, into one red line, exit 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return _Listed(cmd_name) if cmd_name in COMMANDS else None

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        _plain_params(params)
        return params

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if name in COMMANDS:
            cmd = load_command(name)
        return name, cmd, rest

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            report_error(exc)
            raise typer.Exit(EXIT_USER_ERROR) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Usage errors (an unknown option, a value that is not a number, a missing command)
        as one red `error:` line, exit 2, instead of rich's boxed panel."""
        run: dict[str, Any] = {
            "args": args,
            "prog_name": prog_name,
            "complete_var": complete_var,
            "windows_expand_args": windows_expand_args,
            **extra,
        }
        if not standalone_mode:
            return super().main(**run, standalone_mode=False)
        try:
            rv = super().main(**run, standalone_mode=False)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `chipswitch`: the help
            exc.ctx.get_help()  # typer's rich help prints itself
            sys.exit(exc.exit_code)
        except click.exceptions.UsageError as exc:
            report_usage_error(exc)
            sys.exit(EXIT_USER_ERROR)
        except click.exceptions.ClickException as exc:
            report_error(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="chipswitch",
    cls=_Group,
    help="Predict LLM training step time, memory and cost on any accelerator.",
    no_args_is_help=True,
    **_APP_SETTINGS,
    context_settings={"help_option_names": HELP_OPTIONS},
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
