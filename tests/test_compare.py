"""`chipswitch.planning.compare`: one job across chips, and the `chipswitch compare` command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chipswitch import units
from chipswitch.catalog import load_catalog
from chipswitch.cli.app import app
from chipswitch.perf.workload import Workload
from chipswitch.planning.compare import cheapest_price, compare, pareto_counts, plan_training
from chipswitch.planning.search import search

CAT = load_catalog()
RUN = CliRunner()
W70 = Workload(CAT.model("llama3.1-70b"), 512, 8192)


def test_compare_matches_search_and_prices_each_chip_at_its_cheapest_offering() -> None:
    chips = [CAT.chip("h100-sxm"), CAT.chip("trn2")]
    cmp = compare(W70, chips, 1024, 15e12, catalog=CAT)
    seconds = [o.cost.seconds for o in cmp.rows if o.cost is not None]
    assert len(seconds) == 2 and seconds == sorted(seconds)  # fastest first
    for o in cmp.rows:
        assert o.result is not None and o.cost is not None
        ref = search(W70, o.chip, 1024, catalog=CAT, top=1).best
        assert o.result.best.tokens_per_s_per_chip == ref.tokens_per_s_per_chip
        assert o.cost.seconds == pytest.approx(15e12 / (ref.tokens_per_s_per_chip * 1024))
        lo, hi = o.cost.seconds_interval
        assert lo < o.cost.seconds < hi
        found = cheapest_price(CAT, o.chip, "on_demand")
        assert found is not None and o.offering == found[0].id
        every = [
            off.price("on_demand").usd_per_chip_second or 0.0
            for off in CAT.offerings_for(o.chip.id)
            if any(p.type == "on_demand" and p.usd_per_chip_second for p in off.prices)
        ]
        assert o.cost.price is not None and o.cost.price.usd_per_chip_second == min(every)
        assert o.cost.usd == pytest.approx(o.cost.chip_seconds * min(every))


def test_infeasible_chip_is_kept_with_the_reason() -> None:
    w = Workload(CAT.model("llama3.1-405b"), 8, 8192)
    cmp = compare(w, [CAT.chip("h100-sxm")], 8, 1e12, catalog=CAT)
    (row,) = cmp.rows
    assert row.result is None and row.reason and "no plan fits in memory" in row.reason


def test_plan_training_front_uses_quarter_to_four_times_the_chips() -> None:
    assert pareto_counts(64) == [16, 32, 64, 128, 256]
    assert pareto_counts(2) == [1, 2, 4, 8]
    out = plan_training(W70, CAT.chip("h100-sxm"), 256, catalog=CAT, tokens=1e12)
    assert out.cost is not None and out.front
    assert {p.n_chips for p in out.front} <= set(pareto_counts(256))


def test_compare_cli_json_and_table() -> None:
    args = ["compare", "-m", "llama3.1-70b", "-n", "1024", "-b", "512", "-s", "8192"]
    args += ["-t", "15e12", "--hardware", "h100-sxm,trn2"]
    res = RUN.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["model"] == "llama3.1-70b" and out["tokens"] == 15e12
    for row in out["rows"]:
        assert row["feasible"] and row["days"] == pytest.approx(
            row["training"]["seconds"] / units.DAY
        )
        assert row["days_interval"][0] < row["days"] < row["days_interval"][1]
        assert row["cost_usd_interval"][0] < row["cost_usd"] < row["cost_usd_interval"][1]
    table = RUN.invoke(app, args)
    assert table.exit_code == 0 and "h100-sxm" in table.stdout and "trn2" in table.stdout


def test_compare_cli_unknown_chip_and_price_type_are_one_line_errors() -> None:
    base = ["compare", "-m", "llama3.1-8b", "-n", "8", "-b", "8", "-s", "4096", "-t", "1e9"]
    res = RUN.invoke(app, [*base, "--hardware", "h100-sxm6"])
    assert res.exit_code == 2 and "did you mean" in res.output
    res = RUN.invoke(app, [*base, "--price-type", "cheap"])
    assert res.exit_code == 2 and "unknown price type" in res.output
