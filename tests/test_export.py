"""`chipswitch export` without the frameworks installed: plan parsing, layout checks, what each
framework cannot express, the CLI and the API. The frameworks' own checks of the exported
files are in test_export_frameworks.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chipswitch.catalog import load_catalog
from chipswitch.cli.app import app as cli
from chipswitch.export import (
    CannotExpressError,
    ExportError,
    export_best,
    export_plan,
)
from chipswitch.export.neuronx_distributed import schema_problems
from chipswitch.parallel.plan import parse_plan
from chipswitch.perf.workload import Workload
from chipswitch.planning.search import PlanResult, SearchResult, search
from chipswitch.web import create_app

CAT = load_catalog()
RUN = CliRunner()


def _w(model: str, gb: int, seq: int) -> Workload:
    return Workload(CAT.model(model), gb, seq)


# -- layout mistakes every framework would fail on ---------------------------------------------


@pytest.mark.parametrize(
    ("plan", "gb", "fragment"),
    [
        ("TP8 PP1 DP3 mb1 ZeRO-1", 64, "does not divide the global batch"),
        ("TP16 PP1 DP4 mb1 ZeRO-1", 64, "crosses the scale-up domain"),
        ("TP8 PP1 DP8 EP2 mb1 ZeRO-1", 64, "dense"),
        ("TP1 PP1 DP8 VP2 mb1 ZeRO-1", 64, "needs pipeline parallelism"),
        ("TP1 PP4 VP2 DP2 mb1 ZeRO-1", 12, "multiple of PP4"),
    ],
)
def test_layout_mistakes_are_named(plan: str, gb: int, fragment: str) -> None:
    w = _w("llama3.1-8b", gb, 4096)
    with pytest.raises(ExportError, match=fragment):
        export_plan("megatron", w, CAT.chip("h100-sxm"), parse_plan(plan), catalog=CAT)


# -- what a framework cannot express -----------------------------------------------------------


@pytest.mark.parametrize(
    ("framework", "model", "chip", "plan", "fragment", "of_plan"),
    [
        ("torchtitan", "llama3.1-8b", "h100-sxm", "TP1 DP8 mb1 ZeRO-1", "ZeRO-1", True),
        ("torchtitan", "mixtral-8x7b", "h100-sxm", "TP1 DP8 mb1 ZeRO-3", "flavour", False),
        ("megatron", "mpt-7b", "h100-sxm", "TP1 DP8 mb1 ZeRO-1", "alibi", False),
        ("megatron", "llama3.1-8b", "tpu-v5p", "TP1 DP8 mb1 ZeRO-1", "nvidia, amd", False),
        ("maxtext", "llama3.1-8b", "tpu-v5p", "TP1 DP8 mb1 ZeRO-2", "ZeRO-2", True),
        ("maxtext", "llama3.1-8b", "h100-sxm", "TP1 DP8 mb1 ZeRO-3", "google", False),
        ("maxtext", "mpt-7b", "tpu-v5p", "TP1 DP8 mb1 ZeRO-3", "MaxText model config", False),
        ("neuronx-distributed", "llama3.1-8b", "trn2", "TP1 DP8 mb1 ZeRO-3", "zero1", True),
        ("neuronx-distributed", "deepseek-v3", "trn2", "TP1 DP8 mb1 ZeRO-1", "Llama", False),
    ],
)
def test_what_a_framework_lacks_is_an_error_naming_it(
    framework: str, model: str, chip: str, plan: str, fragment: str, of_plan: bool
) -> None:
    w = _w(model, 64, 4096)
    with pytest.raises(CannotExpressError, match=fragment) as err:
        export_plan(framework, w, CAT.chip(chip), parse_plan(plan), catalog=CAT)
    assert err.value.framework == framework
    assert err.value.of_plan is of_plan


def test_best_plan_not_expressible_points_to_the_fastest_that_is() -> None:
    w = _w("llama3.1-405b", 1024, 8192)
    chip = CAT.chip("h100-sxm")
    with pytest.raises(CannotExpressError) as err:
        export_best("torchtitan", w, chip, 1024, catalog=CAT)
    text = str(err.value)
    assert "torchtitan cannot express this plan" in text and "slower" in text
    suggested = text.split("'")[1]
    out = export_plan("torchtitan", w, chip, parse_plan(suggested), catalog=CAT)
    assert out.plan == parse_plan(suggested)
    best = search(w, chip, 1024, catalog=CAT, top=1).best
    assert best.plan != parse_plan(suggested)  # the best plan itself was refused


def test_plan_that_does_not_fit_in_memory_says_so() -> None:
    w = _w("llama3.1-70b", 64, 8192)
    out = export_plan("megatron", w, CAT.chip("h100-sxm"), parse_plan("TP1 DP8 mb8 ZeRO-0"))
    assert any("run out of memory" in n for n in out.notes)


# -- the exported files carry the job ----------------------------------------------------------


def test_every_framework_writes_the_batch_and_the_layout() -> None:
    """Metamorphic: the same job in each format states the same degrees and batch."""
    cases = {
        "megatron": ("h100-sxm", "TP2 PP2 DP4 mb2 ZeRO-1 recompute=selective"),
        "torchtitan": ("h100-sxm", "TP2 PP2 DP4 mb2 ZeRO-3 recompute=selective"),
        "maxtext": ("tpu-v5p", "TP2 PP2 DP4 mb2 ZeRO-1 recompute=selective"),
        "neuronx-distributed": ("trn1", "TP2 PP2 DP4 mb2 ZeRO-1 recompute=selective"),
    }
    w = _w("llama3.1-8b", 128, 4096)
    seen = {}
    for fw, (chip, plan) in cases.items():
        text = export_plan(fw, w, CAT.chip(chip), parse_plan(plan), catalog=CAT).text
        seen[fw] = text
        assert "4096" in text and "128" in text
        assert "PLACEHOLDER" in text
    assert "--tensor-model-parallel-size 2" in seen["megatron"]
    assert "--global-batch-size 128" in seen["megatron"]
    assert "tensor_parallel_degree = 2" in seen["torchtitan"]
    mx = yaml.safe_load(seen["maxtext"])
    assert mx["ici_tensor_parallelism"] == 2
    assert mx["per_device_batch_size"] * 16 * mx["gradient_accumulation_steps"] == 128
    nx = yaml.safe_load(seen["neuronx-distributed"])
    assert nx["distributed_strategy"]["tensor_model_parallel_size"] == 4  # 2 chips x 2 cores


def test_nxdt_schema_check_can_fail() -> None:
    w = _w("llama3.1-70b", 1024, 8192)
    plan = parse_plan("TP8 PP4 DP8 mb1 ZeRO-1 recompute=selective")
    cfg = yaml.safe_load(export_plan("neuronx-distributed", w, CAT.chip("trn2"), plan).text)
    assert schema_problems(cfg) == []
    broken = json.loads(json.dumps(cfg))
    del broken["data"]["global_batch_size"]
    assert schema_problems(broken) == ["missing data.global_batch_size"]
    broken = json.loads(json.dumps(cfg))
    broken["distributed_strategy"]["tensor_model_parallel_size"] = 48
    assert any("not a multiple" in p for p in schema_problems(broken))
    broken = json.loads(json.dumps(cfg))
    broken["distributed_strategy"]["zero1"] = "yes"
    assert schema_problems(broken) == ["distributed_strategy.zero1 is str"]


# -- the CLI and the API -----------------------------------------------------------------------

JOB = ["-m", "llama3.1-8b", "-H", "h100-sxm", "-b", "64", "-s", "4096"]


def test_cli_writes_the_file_and_json_carries_the_same(tmp_path: Path) -> None:
    out = tmp_path / "run.sh"
    plan = "TP2 PP1 DP4 mb2 ZeRO-1 recompute=selective"
    res = RUN.invoke(cli, ["export", "-f", "megatron", "-o", str(out), *JOB, "--plan", plan])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    res = RUN.invoke(cli, ["export", "-f", "megatron", "-o", "-", *JOB, "--plan", plan, "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["content"] == text
    assert body["plan"] == parse_plan(plan).describe()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-f", "deepspeed", "-n", "8"], "unknown framework"),
        (["-f", "megatron", "--plan", "TP2 DP4 mb1", "-n", "16"], "chips 16"),
        (["-f", "megatron", "--plan", "TP2 DP4 ZeRO-5"], "ZeRO stage"),
        (["-f", "megatron", "--plan", "TP2 DP4 mb1 XL9"], "XL9"),
        (["-f", "megatron"], "chips"),
        (["-f", "torchtitan", "--plan", "TP1 DP8 mb1 ZeRO-1"], "ZeRO-1"),
    ],
)
def test_cli_errors_are_one_line_exit_2(args: list[str], fragment: str) -> None:
    res = RUN.invoke(cli, ["export", "-o", "-", *JOB, *args])
    assert res.exit_code == 2
    assert res.stderr.count("error:") == 1 and fragment in res.stderr
    assert "Traceback" not in res.output


def test_api_export_matches_the_cli() -> None:
    plan = "TP2 PP1 DP4 mb2 ZeRO-1 recompute=selective"
    job = ["-m", "llama3.1-8b", "-H", "tpu-v5p", "-b", "64", "-s", "4096"]
    res = RUN.invoke(cli, ["export", "-f", "maxtext", "-o", "-", *job, "--plan", plan, "--json"])
    assert res.exit_code == 0, res.output
    req = {
        "framework": "maxtext",
        "model": "llama3.1-8b",
        "hardware": "tpu-v5p",
        "chips": 8,
        "global_batch": 64,
        "seq": 4096,
        "plan": plan,
    }
    with TestClient(create_app(), base_url="http://localhost") as client:
        r = client.post("/api/export", json=req)
        assert r.status_code == 200, r.text
        assert r.json() == json.loads(res.stdout)
        # without --plan both export the best plan, or both refuse it the same way when
        # MaxText cannot express it (which depends on the calibration), naming the alternative
        cli_best = RUN.invoke(
            cli, ["export", "-f", "maxtext", "-o", "-", *job, "-n", "8", "--json"]
        )
        best = client.post("/api/export", json={**req, "plan": None})
        if cli_best.exit_code == 0:
            assert best.status_code == 200 and best.json() == json.loads(cli_best.stdout)
            assert best.json()["content"].startswith("# MaxText")
        else:
            assert cli_best.exit_code == 2 and best.status_code == 422, best.text
            detail = best.json()["detail"]
            alt = re.search(r"#\d+, '([^']+)'", detail)
            assert alt, detail
            assert "cannot express" in cli_best.stderr and alt.group(1) in cli_best.stderr
            named = client.post("/api/export", json={**req, "plan": alt.group(1)})
            assert named.status_code == 200 and named.json()["content"].startswith("# MaxText")
        bad = client.post("/api/export", json={**req, "plan": "TP2 DP8"})
        assert bad.status_code == 422 and bad.json()["field"] == "plan"
        bad = client.post("/api/export", json={**req, "framework": "torchtitan"})
        assert bad.status_code == 422 and "google" in bad.json()["detail"]
        bad = client.post("/api/export", json={**req, "framework": "deepspeed"})
        assert bad.status_code == 422


def test_a_tie_with_an_expressible_plan_exports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans predicted equally fast are all the best; 1% slower is not, and is only named."""
    import chipswitch.export as export_pkg

    w, chip = _w("llama3.1-8b", 256, 8192), CAT.chip("h100-sxm")
    real = search(w, chip, 64, catalog=CAT, top=1)
    row = real.best

    def with_second(step_ratio: float) -> Callable[..., SearchResult]:
        first = PlanResult(parse_plan("TP4 DP8 CP2 mb8 ZeRO-1"), row.breakdown, row.interval)
        bd = {**row.breakdown, "step_time": row.step_time * step_ratio}
        second = PlanResult(parse_plan("TP4 DP8 CP2 mb8 ZeRO-2"), bd, row.interval)
        return lambda *a, **k: replace(real, top=[first, second])

    monkeypatch.setattr(export_pkg, "search", with_second(1.0))
    out, chosen = export_best("torchtitan", w, chip, 64, catalog=CAT)
    assert chosen.plan.zero == 2 and "as fast as #1" in out.notes[-1]
    monkeypatch.setattr(export_pkg, "search", with_second(1.01))
    with pytest.raises(CannotExpressError, match=r"#2, 'TP4 PP1 DP8 CP2 mb8 ZeRO-2.*1\.0% slower"):
        export_best("torchtitan", w, chip, 64, catalog=CAT)


@pytest.mark.parametrize(
    ("software", "plan", "flagged"),
    [
        ("megatron-core-ep-overlap", "TP2 PP4 VP2 DP8 EP8 mb1 ZeRO-1", True),
        ("megatron-core-ep-overlap", "TP2 PP1 DP8 EP8 mb1 ZeRO-1", True),
        # without interleaving Megatron-Core cannot pair micro-batches: the engine assumes no
        # overlap there, and the script must not ask for it
        ("megatron-core-ep-overlap", "TP2 PP4 DP8 EP8 mb1 ZeRO-1", False),
        ("megatron-core", "TP2 PP4 VP2 DP8 EP8 mb1 ZeRO-1", False),
    ],
)
def test_megatron_export_overlaps_the_all_to_all_as_predicted(
    software: str, plan: str, flagged: bool
) -> None:
    p = parse_plan(plan)
    w = replace(_w("mixtral-8x22b", 256, 4096), software=software)
    text = export_plan("megatron", w, CAT.chip("h100-sxm"), p, catalog=CAT).text
    assert ("--overlap-moe-expert-parallel-comm" in text) is flagged
    assert ("--delay-wgrad-compute" in text) is flagged
