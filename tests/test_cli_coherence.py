"""One command line, one vocabulary: every command's help and options read the same way."""

from __future__ import annotations

import pytest
from support import every_command
from typer.testing import CliRunner

from chipswitch.cli.app import app, load_command

RUN = CliRunner()


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


def _options() -> dict[str, list[list[str]]]:
    """Command path -> the names of each of its options (long and short, primary first)."""
    out: dict[str, list[list[str]]] = {}
    for argv in every_command():
        cmd = load_command(argv[0])
        if len(argv) > 1:
            cmd = cmd.commands[argv[1]]  # type: ignore[attr-defined]
        out[" ".join(argv)] = [
            [*p.opts, *p.secondary_opts] for p in cmd.params if p.param_type_name == "option"
        ]
    return out


def test_a_short_flag_means_one_thing_on_every_command() -> None:
    meaning: dict[str, set[str]] = {}
    for names in (n for opts in _options().values() for n in opts):
        long = next(n for n in names if n.startswith("--"))
        for short in (n for n in names if not n.startswith("--")):
            meaning.setdefault(short, set()).add(long)
    clashes = {s: sorted(longs) for s, longs in meaning.items() if len(longs) > 1}
    assert not clashes, clashes
    assert meaning["-n"] == {"--chips"} and meaning["-b"] == {"--global-batch"}
    assert meaning["-o"] == {"--out"} and meaning["-k"] == {"--top"}


def test_every_file_written_is_out() -> None:
    """`--out`/`-o` names every output; the former names survive only as its aliases."""
    for command, opts in _options().items():
        for names in opts:
            if {"--report", "--html"} & set(names):
                assert names[:2] == ["--out", "-o"], (command, names)


def test_every_command_that_predicts_takes_a_calibration() -> None:
    opts = _options()
    for command in ("plan", "compare", "validate", "export", "measure", "sweep"):
        assert any("--calibration" in names for names in opts[command]), command


def test_precision_and_price_type_read_like_chip_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--precision BF16` is bf16; compare's `--price` takes a price type, as plan's does."""
    base = ["-m", "llama2-7b", "-n", "8", "-b", "64", "-s", "2048", "--json"]
    res = RUN.invoke(app, ["plan", "-H", "H100", *base, "--precision", "BF16"])
    assert res.exit_code == 0, res.output
    assert '"precision": "bf16"' in res.stdout
    res = RUN.invoke(app, ["compare", "-H", "h100", *base, "-t", "1e12", "--price", "spot"])
    assert res.exit_code == 0, res.output
    assert '"price_type": "spot"' in res.stdout
    plan = ["plan", "-H", "h100", *base, "-t", "1e12", "--no-pareto"]
    typed = RUN.invoke(app, [*plan, "--price", "capacity_block"])
    assert typed.exit_code == 0, typed.output
    named = RUN.invoke(app, [*plan, "--price", "aws-p5:capacity_block"])
    assert named.exit_code == 0, named.output
    assert '"type": "capacity_block"' in typed.stdout
