"""CLI tables fit a 100-column terminal and show numbers the way the dashboard does.

Off a terminal the CLI prints tables at most 100 columns wide (`common.TABLE_WIDTH`): text
columns wrap, numbers never lose digits to an ellipsis. The numbers use `chipswitch.format`,
the module whose JavaScript twin formats the dashboard.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chipswitch import format as fmt
from chipswitch.cli.app import app
from chipswitch.cli.common import TABLE_WIDTH

RUN = CliRunner()
JOB = ["-m", "llama3.1-70b", "--chips", "1024", "--global-batch", "512", "--seq", "8192"]
COMPARE = ["compare", *JOB, "--tokens", "15e12", "--hardware", "h100-sxm,trn2,mi300x,tpu7x"]
PLAN = ["plan", *JOB, "-H", "h100-sxm", "--tokens", "15e12", "--price", "aws-p5"]


def _fits(out: str) -> None:
    lines = out.splitlines()
    assert lines
    wide = [line for line in lines if len(line) > TABLE_WIDTH]
    assert wide == [], wide[:3]
    cut = [line for line in lines if "…" in line]
    assert cut == [], cut[:3]


@pytest.mark.parametrize(
    "args",
    [
        ["hardware", "list"],
        ["hardware", "show", "h100-sxm"],
        ["models", "list"],
        ["models", "show", "llama3.1-405b"],
        ["prices", "list"],
        PLAN,
        COMPARE,
        ["validate", "src/chipswitch/data/validation/public.csv"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_tables_fit_100_columns(args: list[str]) -> None:
    res = RUN.invoke(app, args)
    assert res.exit_code == 0, res.output
    _fits(res.output)


def test_compare_table_formats_like_the_dashboard() -> None:
    rows = json.loads(RUN.invoke(app, [*COMPARE, "--json"]).output)["rows"]
    table = RUN.invoke(app, COMPARE).output
    priced = [r for r in rows if r["cost_usd"] is not None]
    unpriced = [r for r in rows if r["feasible"] and r["cost_usd"] is None]
    assert priced and unpriced
    for r in priced:
        assert fmt.money_interval(r["cost_usd"], *r["cost_usd_interval"]) in table
    for r in rows:
        lo, hi = r["days_interval"]
        assert fmt.sig_interval(r["days"], lo, hi) in table
    assert table.count("no public price") == len(unpriced)
    assert "15T tokens" in table


def test_plan_names_the_offering_and_formats_the_cost() -> None:
    out = json.loads(RUN.invoke(app, [*PLAN, "--json"]).output)["training"]
    text = " ".join(RUN.invoke(app, PLAN).output.split())
    assert fmt.money_interval(out["cost_usd"], *out["cost_usd_interval"]) in text
    assert f"aws-p5 {out['price']['type']} ${fmt.sig(out['price']['usd_per_chip_hour'])}" in text


@pytest.mark.slow
def test_decide_tables_fit_100_columns() -> None:
    res = RUN.invoke(app, ["decide", "--samples", "500"])
    assert res.exit_code == 0, res.output
    _fits(res.output)
    tables = res.output.split("Break-even values")[0]  # the notes below quote bracket ranges
    assert "$" in tables and "e+" not in tables  # money as $1.23B, never 1.23e+10
