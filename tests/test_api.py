"""The front door: `chipswitch.Session`, its typed results, the README and docs/api.md examples,
and the CLI shell over it (same JSON, lazy start-up)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import chipswitch
from chipswitch.api.session import Session
from chipswitch.cli.app import COMMANDS, app, load_command
from chipswitch.errors import ChipswitchError
from chipswitch.parallel.plan import Plan, parse_plan

ROOT = Path(__file__).resolve().parent.parent
RUN = CliRunner()


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Python API", 1)[1]
    first = _python_blocks(section)[0]
    assert "chipswitch.Session()" in first and "s.search(" in first
    exec(compile(first, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "TP" in printed and "'model': 'llama3.1-8b'" in printed


@pytest.mark.slow
def test_docs_api_examples_run() -> None:
    blocks = _python_blocks((ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    namespace: dict[str, Any] = {}
    for block in blocks:  # in order, in one namespace, as a reader would
        exec(compile(block, "docs/api.md", "exec"), namespace)


def test_public_names_are_exported() -> None:
    for name in chipswitch.__all__:
        assert getattr(chipswitch, name) is not None
    with pytest.raises(AttributeError):
        _ = chipswitch.NoSuchThing  # type: ignore[attr-defined]


def test_search_returns_typed_frozen_result(session: Session) -> None:
    r = session.search("llama3.1-8b", "h100-sxm", chips=64, global_batch=256, seq=8192)
    best = r.best
    assert isinstance(best.plan, Plan) and best.plan.workers == 64
    assert best.step_time_s > 0 and 0 < best.mfu < 1
    lo, hi = best.tokens_per_s_per_chip_interval
    assert lo < best.tokens_per_s_per_chip < hi
    assert r.top[0] == best and len(r.top) == 5
    assert all(a.step_time_s <= b.step_time_s for a, b in zip(r.top, r.top[1:], strict=False))
    with pytest.raises(AttributeError):
        best.step_time_s = 1.0  # type: ignore[misc]
    doc = r.to_json()
    assert doc["best"]["step_time_s"] == pytest.approx(best.step_time_s)
    assert doc["best"]["description"] == best.description
    json.dumps(doc)  # plain JSON types only


def test_estimate_of_the_best_plan_matches_the_search(session: Session) -> None:
    kw: dict[str, Any] = {"chips": 32, "global_batch": 128, "seq": 4096}
    best = session.search("llama2-7b", "a100-80gb", **kw).best
    for plan in (best.plan, best.description):
        e = session.estimate("llama2-7b", "a100-80gb", plan, **kw)
        assert e.result.step_time_s == pytest.approx(best.step_time_s, rel=1e-12)
        assert e.result.tokens_per_s_per_chip_interval == pytest.approx(
            best.tokens_per_s_per_chip_interval
        )
    assert e.to_json()["plan"]["step_time_s"] == pytest.approx(best.step_time_s)


def test_bad_inputs_are_chipswitch_errors(session: Session) -> None:
    kw: dict[str, Any] = {"chips": 8, "global_batch": 8, "seq": 2048}
    with pytest.raises(ChipswitchError, match="precision"):
        session.search("llama3.1-8b", "h100-sxm", precision="fp4", **kw)
    with pytest.raises(ChipswitchError, match="unknown plan term 'TQ8'"):
        session.estimate("llama3.1-8b", "h100-sxm", "TQ8 DP1", **kw)
    with pytest.raises(ChipswitchError, match="workers"):
        session.estimate("llama3.1-8b", "h100-sxm", "TP2 DP2", **kw)
    with pytest.raises(ChipswitchError, match="hardware"):
        session.compare("llama3.1-8b", [], tokens=1e9, **kw)
    with pytest.raises(ChipswitchError, match="price type"):
        session.compare("llama3.1-8b", ["h100-sxm"], tokens=1e9, price_type="free", **kw)


@given(
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.integers(1, 16),
    dp=st.integers(1, 512),
    cp=st.sampled_from([1, 2, 4]),
    ep=st.sampled_from([1, 8]),
    vp=st.sampled_from([1, 2, 4]),
    mb=st.integers(1, 64),
    zero=st.integers(0, 3),
    rc=st.sampled_from(["none", "selective", "full"]),
    sp=st.booleans(),
    hsdp=st.booleans(),
)
def test_plan_text_round_trips(
    tp: int, pp: int, dp: int, cp: int, ep: int, vp: int, mb: int, zero: int, rc: Any,
    sp: bool, hsdp: bool,
) -> None:  # fmt: skip
    plan = Plan(tp, pp, dp, cp, ep, vp, mb, zero, rc, sp or tp == 1, hsdp)
    assert parse_plan(plan.describe()) == plan
    assert parse_plan(plan.describe().lower()) == plan


def test_cli_json_is_the_results_to_json(session: Session) -> None:
    args = ["-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "16", "-b", "32", "-s", "4096"]
    res = RUN.invoke(app, ["plan", *args, "--json"])
    assert res.exit_code == 0, res.output
    expected = session.search("llama3.1-8b", "h100-sxm", chips=16, global_batch=32, seq=4096)
    got = json.loads(res.stdout)
    assert got.pop("seconds") >= 0  # the search's own wall time differs run to run
    want = expected.to_json()
    want.pop("seconds")
    assert got == want


def test_every_command_is_listed_and_loads() -> None:
    for name in COMMANDS:
        cmd = load_command(name)
        assert cmd.name == name
    for module in sorted({m for m, _ in COMMANDS.values()}):  # nothing registered but unlisted
        scratch = typer.Typer()
        importlib.import_module(module).register(scratch)
        registered = set(typer.main.get_group(scratch).commands)
        unlisted = registered - set(COMMANDS)
        assert not unlisted, f"{module} registers {unlisted}: add them to cli/app.py COMMANDS"
    res = RUN.invoke(app, ["--help"])
    assert res.exit_code == 0
    for name, (_, short) in COMMANDS.items():
        assert name in res.stdout
        assert short.split()[0] in res.stdout


def _modules_after(*argv: str) -> set[str]:
    code = (
        "import sys\n"
        "from chipswitch.cli.app import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(proc.stderr.split())


def test_help_and_listing_import_only_what_they_use() -> None:
    heavy = {"scipy", "SALib", "torch", "ray", "fastapi", "pyarrow", "plotly"}
    at_help = _modules_after("--help")
    assert not {m.split(".")[0] for m in at_help} & (heavy | {"numpy"})
    assert not any(m.startswith("chipswitch.decide") for m in at_help)
    at_list = _modules_after("hardware", "list")
    assert not {m.split(".")[0] for m in at_list} & heavy
    assert not any(m.startswith(("chipswitch.decide", "chipswitch.sweep")) for m in at_list)


def _all_modules() -> list[str]:
    import pkgutil

    pkg = ROOT / "src" / "chipswitch"
    return sorted(
        m.name for m in pkgutil.walk_packages([str(pkg)], "chipswitch.") if ".__" not in m.name
    )


@pytest.mark.slow
def test_every_module_imports_on_its_own() -> None:
    """No import cycle hides behind the order other modules happen to be imported in."""
    code = (
        "import importlib, subprocess, sys\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    p = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True,"
        " text=True)\n"
        "    if p.returncode:\n"
        "        bad.append(name + ': ' + (p.stderr.strip().splitlines() or ['?'])[-1])\n"
        "print('\\n'.join(bad))\n"
    )
    heavy = ("chipswitch.calibrate", "chipswitch.export.")  # torch / frameworks: tested elsewhere
    names = [m for m in _all_modules() if not m.startswith(heavy)]
    assert len(names) > 40
    proc = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", proc.stdout


@pytest.mark.parametrize(
    "module", ["chipswitch.perf.system", "chipswitch.hardware.spec", "chipswitch.catalog.files"]
)
def test_engine_modules_import_before_the_catalog(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
