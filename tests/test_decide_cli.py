"""`chipswitch decide` through a local Typer app that calls `decide_cmds.register`.

The performance engine is replaced by a fake provider except in the last test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from chipswitch.cli import decide_cmds
from chipswitch.decide import engine
from chipswitch.decide.scenario import SCENARIO_DIR

SEED = SCENARIO_DIR / "amazon-anthropic-2024.yaml"
PEAK = {"h100-sxm": 989.4e12, "trn2": 667e12, "tpu-v5p": 459e12}
FPT = 6 * 405e9


@dataclass(frozen=True)
class FakeEstimate:
    tokens_per_s_per_chip: float
    interval: tuple[float, float]
    model_flops_per_token: float


def _fake(sc: Any, catalog: Any, progress: Any = None) -> dict[Any, Any]:
    return {
        (m.model, chip): FakeEstimate(p * 0.375 / FPT, (p * 0.3 / FPT, p * 0.45 / FPT), FPT)
        for m in sc.roadmap.models
        for chip, p in PEAK.items()
    }


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(engine, "engine_throughput", _fake)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """chipswitch (test shell)"""

    decide_cmds.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def _bad_file(tmp_path: Path, edit: Any) -> Path:
    raw = yaml.safe_load(SEED.read_text())
    edit(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_json_is_reproducible_and_complete(cli: Any) -> None:
    first = cli("decide", "--json", "--seed", "1", "--samples", "600")
    second = cli("decide", "--json", "--seed", "1", "--samples", "600")
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    d = json.loads(first.stdout)
    v = d["verdict"]
    assert v["option"] in {o["id"] for o in d["options"]}
    assert v["objective"] == "npv" and 0.0 <= v["probability"] <= 1.0
    assert len(d["break_even"]) >= 3 and any(b["value"] is not None for b in d["break_even"])
    assert all(b["value"] is not None or b["note"].startswith("no root") for b in d["break_even"])
    assert len(d["sensitivity"]) >= 5
    for o in d["options"]:
        for metric in ("cost_usd", "compute_delivered_flop", "ownership_sold", "runway_months"):
            assert set(o["metrics"][metric]) == {"p5", "p50", "p95", "mean"}
    assert {h["id"] for h in d["hindcast"]} >= {"conversion_valuation", "trainium_fleet"}


def test_objective_option(cli: Any) -> None:
    res = cli("decide", "--json", "--objective", "cost", "--samples", "300")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["verdict"]["objective"] == "cost"


def test_no_arguments_runs_the_seed_scenario(cli: Any) -> None:
    res = cli("decide", "--samples", "300")
    assert res.exit_code == 0, res.output
    assert "verdict" in res.stdout and "Break-even" in res.stdout and "Hindcast" in res.stdout


def test_misspelt_key_exits_naming_the_field(cli: Any, tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        fin = raw["options"][0]["financing"]
        fin["amout_usd"] = fin.pop("amount_usd")

    res = cli("decide", str(_bad_file(tmp_path, edit)))
    assert res.exit_code != 0
    assert "options.0.financing.amout_usd: unknown key" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_lo_above_hi_exits_naming_the_field(cli: Any, tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["options"][0]["financing"]["amount_usd"] = "6e9 to 2e9"

    res = cli("decide", str(_bad_file(tmp_path, edit)))
    assert res.exit_code != 0
    assert "options.0.financing.amount_usd" in res.stderr and "lo" in res.stderr


def test_unknown_chip_suggests_names(cli: Any, tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["hardware"]["trainium"]["chip"] = "trn-2"

    res = cli("decide", str(_bad_file(tmp_path, edit)))
    assert res.exit_code != 0
    assert "hardware.trainium.chip: unknown chip 'trn-2'; did you mean trn2" in res.stderr


def test_missing_file_is_a_one_line_error(cli: Any, tmp_path: Path) -> None:
    res = cli("decide", str(tmp_path / "nope.yaml"))
    assert res.exit_code != 0 and "nope.yaml" in res.stderr


def test_report_is_one_self_contained_file(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = cli("decide", "--samples", "300", "--json", "--report", str(out))
    assert res.exit_code == 0, res.output
    json.loads(res.stdout)  # the report does not pollute the JSON
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text, re.I)
    assert not re.search(r"<link[^>]+href=", text, re.I)
    assert "@import" not in text
    assert text.count("Plotly.newPlot") >= 5
    assert "Hindcast" in text and "61.5B" in text
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_failed_report_writes_nothing(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "r.html"
    res = cli("decide", "--samples", "300", "--report", str(out))
    assert res.exit_code != 0
    assert not out.parent.exists()


def test_render_failure_leaves_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from chipswitch.decide import report

    def boom(res: Any) -> str:
        raise RuntimeError("render failed")

    monkeypatch.setattr(report, "render_html", boom)
    with pytest.raises(RuntimeError):
        report.write_report(None, tmp_path / "r.html")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_with_the_performance_engine() -> None:
    pytest.importorskip("chipswitch.planning.throughput")
    res = engine.decide(samples=300, seed=0)
    assert 0.0 <= res.verdict.probability <= 1.0
    assert {r["chip"] for r in res.throughput} >= {"h100-sxm", "trn2"}


# -- options of v2: --set, --pair, --lhs, limits ------------------------------------------------


def test_set_overrides_values_from_the_command_line(cli: Any) -> None:
    base = json.loads(cli("decide", "--json", "--samples", "300").stdout)
    rich = cli(
        "decide", "--json", "--samples", "300",
        "--set", "company.cash_usd=1e13",
        "--set", "options.accept.financing.amount_usd=8e9",
        "--set", "hardware.gpu.price_usd_per_chip_hour=2.5",
    )  # fmt: skip
    assert rich.exit_code == 0, rich.output
    d = json.loads(rich.stdout)
    assert all(o["p_cash_out"] == 0 for o in d["options"])
    assert any(o["p_cash_out"] > 0 for o in base["options"])
    bad = cli("decide", "--set", "company.cash_usdd=1")
    assert bad.exit_code == 2 and "company.cash_usdd: unknown key" in bad.stderr


def test_pair_and_lhs(cli: Any) -> None:
    res = cli("decide", "--json", "--samples", "300", "--pair", "hedge,partial", "--lhs")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["pair"] == ["hedge", "partial"] and d["run"]["lhs"] is True
    bad = cli("decide", "--pair", "hedge")
    assert bad.exit_code == 2 and bad.stderr.strip().startswith("error:")


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("--samples", "10000000"), "above the limit of 2,000,000"),
        (("--samples", "1000000000"), "GiB"),
        (("--seed", "-1"), "--seed must be a non-negative integer"),
        (("--samples", "10"), "at least 100"),
        (("--set", "horizon_months=1000000"), "horizon_months: 1,000,000 is above the limit"),
    ],
)
def test_oversized_runs_are_refused_up_front(cli: Any, args: tuple[str, ...], expect: str) -> None:
    res = cli("decide", *args)
    assert res.exit_code == 2
    assert res.stderr.strip().startswith("error:") and expect in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_deeply_nested_yaml_is_a_clean_error(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    res = cli("decide", str(path))
    assert res.exit_code == 2 and res.stderr.strip().startswith("error:")
    assert "Traceback" not in res.output


def test_decide_diff_names_inputs_and_outputs(cli: Any, tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["company"]["cash_usd"] = {"value": 2e10, "assumption": "richer"}

    other = _bad_file(tmp_path, edit)
    res = cli("decide-diff", str(SEED), str(other), "--samples", "300", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    keys = {c["key"] for c in d["inputs"]}
    assert "company.cash_usd" in keys and "options.accept.label" not in keys
    moved = {c["key"]: c for c in d["outputs"]}
    assert moved["accept: P(cash out)"]["b"] < moved["accept: P(cash out)"]["a"]
