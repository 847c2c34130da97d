"""The vectorised plan search and the `plan` / `validate` commands."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest
from typer.testing import CliRunner

from chipswitch.catalog import load_catalog
from chipswitch.cli.app import app
from chipswitch.errors import InfeasibleError
from chipswitch.hardware.spec import Price
from chipswitch.parallel.enumerate import enumerate_plans
from chipswitch.perf.workload import Workload
from chipswitch.planning.search import pareto, search

CAT = load_catalog()
RUN = CliRunner()


def test_enumerated_plans_are_valid() -> None:
    m = CAT.model("llama2-70b")
    for plans in enumerate_plans(m, 256, 512, 4096, 8):
        assert np.all(plans.tp * plans.pp * plans.dp * plans.cp == 256)
        assert np.all(m.heads % plans.tp == 0)
        assert np.all(plans.pp * plans.vp <= m.layers)
        assert np.all(512 % (plans.dp * plans.micro_batch) == 0)
        assert np.all(plans.tp <= 8)
        assert np.all((plans.vp == 1) | (plans.pp > 1))


def test_search_returns_feasible_sorted_plans() -> None:
    w = Workload(CAT.model("llama3.1-8b"), 256, 4096)
    r = search(w, CAT.chip("h100-sxm"), 64, catalog=CAT, top=5)
    assert r.plans_evaluated > 1000 and 0 < r.plans_feasible <= r.plans_evaluated
    times = [p.step_time for p in r.top]
    assert times == sorted(times)
    cap = r.system.hbm_bytes
    assert all(p.memory_bytes <= cap for p in r.top)
    lo, hi = r.best.interval
    assert lo < r.best.tokens_per_s_per_chip < hi


def test_infeasible_names_memory_shortfall() -> None:
    w = Workload(CAT.model("llama3.1-405b"), 8, 8192)
    with pytest.raises(InfeasibleError, match=r"needs .* GB per chip, h100-sxm has .* GB usable"):
        search(w, CAT.chip("h100-sxm"), 8, catalog=CAT)


def test_infeasible_names_divisibility() -> None:
    # tp <= 8 and pp | 32 layers leave dp >= 4 on 1024 chips; an odd sequence rules out CP
    w = Workload(CAT.model("llama3.1-8b"), 7, 4095)
    with pytest.raises(InfeasibleError, match="global batch 7 is not divisible"):
        search(w, CAT.chip("h100-sxm"), 1024, catalog=CAT)


def test_pareto_front_is_non_dominated() -> None:
    # a small global batch stops scaling out: past 128 chips TP/PP are needed and cost rises
    w = Workload(CAT.model("llama3.1-8b"), 128, 4096)
    price = Price("on_demand", 2.0 / 3600, None, None, (), None)
    counts = [32, 64, 128, 256, 512, 1024]
    front = pareto(w, CAT.chip("h100-sxm"), counts, 1e12, price, catalog=CAT)
    assert len(front) >= 2
    for a, b in pairwise(front):
        assert a.train_seconds < b.train_seconds and a.cost_usd > b.cost_usd  # type: ignore[operator]


def test_plan_cli_json_gpt3() -> None:
    res = RUN.invoke(
        app,
        [
            "plan",
            "--model",
            "gpt3-175b",
            "--hardware",
            "h100-sxm",
            "--chips",
            "4096",
            "--global-batch",
            "1536",
            "--seq",
            "2048",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["plans_evaluated"] > 10_000 and out["seconds"] > 0
    best = out["best"]
    assert best["memory_bytes"]["total"] <= 80e9
    assert 0.2 < best["mfu"] < 0.7
    assert set(best["time_s"]) >= {
        "compute_matmul",
        "tp_exposed",
        "dp_exposed",
        "bubble",
        "optimizer",
    }


def test_plan_cli_training_cost_and_pareto() -> None:
    res = RUN.invoke(
        app,
        [
            "plan",
            "-m",
            "llama3.1-8b",
            "-H",
            "h100-sxm",
            "-n",
            "64",
            "-b",
            "256",
            "-s",
            "8192",
            "--tokens",
            "1e12",
            "--price",
            "aws-p5",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    t = json.loads(res.stdout)["training"]
    assert (
        t["cost_usd"] > 0 and t["cost_usd_interval"][0] < t["cost_usd"] < t["cost_usd_interval"][1]
    )
    assert t["energy_joules"] > 0 and t["price"]["date"]
    assert len(json.loads(res.stdout)["pareto"]) >= 1


def test_plan_cli_infeasible_is_one_line() -> None:
    res = RUN.invoke(
        app,
        [
            "plan",
            "--model",
            "llama3.1-405b",
            "--hardware",
            "h100-sxm",
            "--chips",
            "8",
            "--global-batch",
            "8",
            "--seq",
            "8192",
        ],
    )
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert "GB per chip" in res.output


def test_plan_cli_price_for_wrong_chip() -> None:
    res = RUN.invoke(
        app,
        [
            "plan",
            "-m",
            "llama3.1-8b",
            "-H",
            "h100-sxm",
            "-n",
            "8",
            "-b",
            "8",
            "-s",
            "4096",
            "--price",
            "aws-trn2",
        ],
    )
    assert res.exit_code == 2 and "rents trn2" in res.output


def test_validate_cli_json_schema() -> None:
    from chipswitch.catalog import DATA_DIR

    res = RUN.invoke(app, ["validate", str(DATA_DIR / "validation" / "public.csv"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    row = out["rows"][0]
    assert {
        "id",
        "predicted_tokens_per_s_per_chip",
        "measured_tokens_per_s_per_chip",
        "error",
        "interval",
    } <= set(row)
    assert out["summary"]["all"]["median_abs_error"] <= 0.10
    assert all("reason" in s for s in out["skipped"])
