"""One command line, one vocabulary: every command's help and options read the same way."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from chipswitch.cli.app import COMMANDS, app, load_command

RUN = CliRunner()


def every_command() -> list[list[str]]:
    """Each command of the root and each subcommand of a group, as argv."""
    out = []
    for name in COMMANDS:
        cmd = load_command(name)
        subs = getattr(cmd, "commands", None)
        out += [[name, sub] for sub in subs] if subs else [[name]]
    return out


@pytest.mark.parametrize("command", [[], *every_command()], ids=lambda c: "-".join(c) or "root")
def test_help_has_no_type_placeholders(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Flags show no `<bool>`; arguments are NAME or [NAME], never typer's `{name}`."""
    monkeypatch.setenv("COLUMNS", "100")
    res = RUN.invoke(app, [*command, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage: chipswitch" in res.stdout
    assert "<bool>" not in res.stdout, res.stdout
    usage = next(ln for ln in res.stdout.splitlines() if "Usage:" in ln)
    assert "{" not in usage and "}" not in usage, usage
