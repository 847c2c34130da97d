"""Helpers shared by every CLI command module: the catalog, output, unit formatting, errors.

The CLI converts SI values to display units here, at the edge, and nowhere else. Human output
goes through the rich consoles; `print_json` writes plain JSON for scripts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import yaml
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from typer._click.exceptions import UsageError

from chipswitch import units
from chipswitch._yaml import format_validation_error
from chipswitch.errors import ChipswitchError, UnknownNameError

if TYPE_CHECKING:
    from chipswitch.api.session import Session
    from chipswitch.catalog import Catalog

T = TypeVar("T")

#: Human output (tables, summaries). Rich resolves sys.stdout at print time, so test runners
#: that swap the stream capture it.
console = Console(highlight=False)
#: Errors and warnings.
err_console = Console(stderr=True, highlight=False)

#: Errors caused by the user's input or files: reported in one line, exit code 2.
USER_ERRORS: tuple[type[BaseException], ...] = (
    ChipswitchError,
    ValidationError,
    yaml.YAMLError,
)
EXIT_USER_ERROR = 2

#: `--calibration`, the same on every command that predicts.
CalibrationOpt = Annotated[
    Path | None,
    typer.Option(
        "--calibration",
        metavar="PROFILE.json",
        help="Profile from `chipswitch calibrate`: its chip's family takes the measured "
        "efficiencies instead of the fitted defaults.",
    ),
]

DASH = "—"


# -- state and the catalog ----------------------------------------------------------------------
@dataclass
class CliState:
    """Options of the root command; the root callback sets them on every invocation."""

    catalog_dirs: list[Path] = field(default_factory=list)


STATE = CliState()


def set_catalog_dirs(dirs: Sequence[Path]) -> None:
    STATE.catalog_dirs = list(dirs)


def get_session(calibration: Path | None = None) -> Session:
    """The session for this invocation: shipped data, `CHIPSWITCH_CATALOG`, then `--catalog`;
    `calibration` a profile from `chipswitch calibrate`."""
    from chipswitch.api.session import Session

    return Session(STATE.catalog_dirs, calibration)


def get_catalog() -> Catalog:
    """The catalog for this invocation (commands that only list it)."""
    return get_session().catalog


def lookup(kind: str, name: str, find: Callable[[str], T], known: Iterable[str]) -> T:
    """`find(name)`, but an unknown name with no close match lists the known ids instead."""
    try:
        return find(name)
    except UnknownNameError as exc:
        if exc.suggestions:
            raise
        ids = sorted(known)
        if not ids:
            raise ChipswitchError(f"unknown {kind} '{name}'; the catalog has no {kind}s") from None
        shown = ", ".join(ids[:30]) + (", …" if len(ids) > 30 else "")
        raise ChipswitchError(f"unknown {kind} '{name}'; known {kind}s: {shown}") from None


def check_choice(kind: str, value: str | None, known: Iterable[str]) -> str | None:
    """Validate a filter value (vendor, cloud, …) against the known ones, case-insensitively."""
    if value is None:
        return None
    choices = sorted(set(known))
    low = value.strip().lower()
    if low in choices:
        return low
    err = UnknownNameError(kind, value, choices)
    if err.suggestions:
        raise err
    raise ChipswitchError(f"unknown {kind} '{value}'; known {kind}s: {', '.join(choices)}")


# -- errors -------------------------------------------------------------------------------------
def error_message(exc: BaseException) -> str:
    """One line describing a user error (no traceback, no newlines)."""
    if isinstance(exc, ValidationError):
        msg = "; ".join(format_validation_error(exc))
    elif isinstance(exc, yaml.YAMLError):
        msg = f"invalid YAML ({getattr(exc, 'problem', None) or exc})"
    else:
        msg = str(exc)
    return " ".join(msg.split())


def report_error(exc: BaseException) -> None:
    """Print `error: ...` in red on stderr, on one line."""
    err_console.print(Text(f"error: {error_message(exc)}", style="red"), soft_wrap=True)


def report_usage_error(exc: UsageError) -> None:
    """A command-line mistake (unknown option, missing or malformed value) as one `error:`
    line that says where to find the help."""
    msg = " ".join(exc.format_message().replace("Value error, ", "").split())
    if exc.ctx is not None:
        msg += f" (see '{exc.ctx.command_path} -h')"
    err_console.print(Text(f"error: {msg}", style="red"), soft_wrap=True)


# -- JSON -----------------------------------------------------------------------------------
def print_json(obj: Any) -> None:
    """Write `obj` as indented JSON to stdout: no markup, no colour, SI numbers as they are.

    A result with `to_json()` (every `Session` result) is written as exactly that."""
    from chipswitch.api.presenters import jsonable

    if hasattr(obj, "to_json"):
        obj = obj.to_json()
    sys.stdout.write(json.dumps(jsonable(obj), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# -- display units --------------------------------------------------------------------------
#: Display unit -> its size in SI units (FLOP/s, bytes, bytes/s, W, USD/s).
DISPLAY_UNITS: dict[str, float] = {
    "FLOP/s": 1.0,
    "TFLOP/s": units.TFLOP,
    "PFLOP/s": units.PFLOP,
    "B": 1.0,
    "GB": units.GB,
    "GiB": units.GIB,
    "TB": units.TB,
    "GB/s": units.GB,
    "TB/s": units.TB,
    "Gbit/s": units.GBIT,
    "W": 1.0,
    "kW": 1e3,
    "$/h": 1.0 / units.HOUR,
    "s": 1.0,
    "h": units.HOUR,
}


def to_unit(value: float, unit: str) -> float:
    """Convert an SI value to `unit` (a key of DISPLAY_UNITS)."""
    return value / DISPLAY_UNITS[unit]


def fmt_number(x: float) -> str:
    """Compact decimal: 989.4, 1,978.9, 3.35, 0.819, 80."""
    if x == 0:
        return "0"
    if abs(x) >= 100:
        text = f"{x:,.1f}"
    elif abs(x) >= 1:
        text = f"{x:,.2f}"
    else:
        return f"{x:.3g}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def si_format(value: float | None, unit: str, *, with_unit: bool = True) -> str:
    """`value` (SI) shown in `unit`: si_format(9.894e14, "TFLOP/s") == "989.4 TFLOP/s".

    Money per hour is shown with cents: si_format(9.7e-4, "$/h") == "$3.49/h". None is "—".
    """
    if value is None:
        return DASH
    shown = to_unit(value, unit)
    if unit == "$/h":
        return f"${shown:,.2f}/h" if with_unit else f"{shown:,.2f}"
    text = fmt_number(shown)
    return f"{text} {unit}" if with_unit else text


def fmt_flops(value: float | None) -> str:
    return si_format(value, "TFLOP/s")


def fmt_bytes(value: float | None) -> str:
    return si_format(value, "GB")


def fmt_bandwidth(value: float | None) -> str:
    """Bytes/s in TB/s at or above 1 TB/s, else GB/s."""
    if value is not None and value >= units.TB:
        return si_format(value, "TB/s")
    return si_format(value, "GB/s")


def fmt_usd_per_hour(usd_per_second: float | None) -> str:
    return si_format(usd_per_second, "$/h")


def cell(value: float | str | None, unit: str | None = None, decimals: int | None = None) -> Text:
    """A table cell: the number in `unit` without the unit (it goes in the header), or a dim "—".

    `decimals` caps the digits after the point (trailing zeros dropped) for compact listings.
    """
    if value is None:
        return Text(DASH, style="dim")
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, int) and unit is None:
        return Text(f"{value:,}")
    shown = to_unit(float(value), unit) if unit else float(value)
    if unit == "$/h":
        return Text(f"{shown:,.2f}")
    if decimals is None:
        return Text(fmt_number(shown))
    text = f"{shown:,.{decimals}f}"
    return Text(text.rstrip("0").rstrip(".") if "." in text else text)


def fmt_count(n: float | None) -> str:
    """A count with a suffix: 6.74B, 405M, 32K."""
    if n is None:
        return DASH
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= size:
            return f"{fmt_number(n / size)}{suffix}"
    return f"{n:,.0f}"


def new_table(title: str | None = None, caption: str | None = None, **kwargs: Any) -> Table:
    """A compact table: a rule under the header, no outer frame, one space between columns."""
    options: dict[str, Any] = {
        "box": box.SIMPLE_HEAD,
        "show_edge": False,
        "pad_edge": False,
        "padding": (0, 1, 0, 0),
        "title_justify": "left",
        "caption_justify": "left",
    }
    options.update(kwargs)
    return Table(title=title, caption=caption, **options)


#: Tables fit a terminal of this many columns: text columns wrap, numbers do not.
TABLE_WIDTH = 100


def print_table(table: Table, max_width: int = TABLE_WIDTH) -> None:
    """Print `table`; off a terminal as wide as it needs, up to `max_width` (text wraps)."""
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update_width(max_width), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    wide = Console(file=console.file, width=min(natural, max_width), highlight=False)
    wide.print(table)
