"""The time-vs-cost front of `plan --tokens`: built on the all-in figures (failures, restarts
and checkpoints counted at each chip count with the plan's failure model), the ideal figures
kept beside them, and equal to the ideal front when nothing fails."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import cache
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chipswitch.catalog import load_catalog
from chipswitch.cli.app import app
from chipswitch.hardware.spec import Price
from chipswitch.perf.workload import Workload
from chipswitch.planning.compare import FailureOptions, failure_inputs, plan_training
from chipswitch.planning.cost import GoodputInputs
from chipswitch.planning.search import (
    ParetoPoint,
    SearchResult,
    front,
    pareto,
    pareto_point,
    search,
)

CAT = load_catalog()
RUN = CliRunner()
CHIP = CAT.chip("h100-sxm")
PRICE = CAT.offering("aws-p5").price(None)
# a small global batch: pure data parallelism scales out to ~512 chips, then TP/PP cost more
W = Workload(CAT.model("llama3.1-8b"), 128, 4096)
COUNTS = (32, 64, 128, 256, 512, 1024)
TOKENS = 1e12


@cache
def _result(n: int) -> SearchResult:
    return search(W, CHIP, n, catalog=CAT, top=1)


def _failures(per_1000_chip_days: float | None = None) -> GoodputInputs:
    """The plan's failure model; None keeps the chip family's sourced rate."""
    return failure_inputs(W.model, CHIP, FailureOptions.from_user_units(per_1000_chip_days))


def _ideal(p: ParetoPoint) -> tuple[int, float, float | None, str]:
    return p.n_chips, p.train_seconds, p.cost_usd, p.result.best.plan.describe()


def _all_in(p: ParetoPoint) -> tuple[float, float | None]:
    return p.all_in_seconds, p.all_in_cost_usd


def _dominates(a: ParetoPoint, b: ParetoPoint) -> bool:
    """`a` is no slower and no dearer than `b` all-in, and better on one of the two."""
    ta, tb = a.all_in_seconds, b.all_in_seconds
    ca, cb = a.all_in_cost_usd, b.all_in_cost_usd
    assert ca is not None and cb is not None
    return ta <= tb and ca <= cb and (ta < tb or ca < cb)


@pytest.mark.parametrize("price", [PRICE, None], ids=["priced", "unpriced"])
def test_zero_failure_rate_gives_the_ideal_front_exactly(price: Price | None) -> None:
    ideal = pareto(W, CHIP, COUNTS, TOKENS, price, catalog=CAT)
    zero = pareto(W, CHIP, COUNTS, TOKENS, price, catalog=CAT, failures=_failures(0.0))
    assert len(ideal) >= 2
    assert [_ideal(p) for p in zero] == [_ideal(p) for p in ideal]
    for p in zero:
        assert p.goodput == 1.0
        assert p.all_in_seconds == p.train_seconds and p.all_in_cost_usd == p.cost_usd
    for p in ideal:  # no failure model: the all-in fields repeat the ideal ones
        assert p.goodput is None and p.all_in_seconds == p.train_seconds
    for a, b in pairwise(ideal):  # faster, and dearer in USD or chip-hours
        assert a.train_seconds < b.train_seconds
        if price is None:
            assert a.n_chips * a.train_seconds > b.n_chips * b.train_seconds
        else:
            assert a.cost_usd is not None and b.cost_usd is not None and a.cost_usd > b.cost_usd


@pytest.mark.parametrize("rate", [None, 5.0, 50.0], ids=["sourced", "5", "50"])
def test_front_with_failures_is_the_all_in_front(rate: float | None) -> None:
    fail = _failures(rate)
    cands = [pareto_point(_result(n), TOKENS, PRICE, fail) for n in COUNTS]
    got = pareto(W, CHIP, COUNTS, TOKENS, PRICE, catalog=CAT, failures=fail)
    assert [p.n_chips for p in got] == [p.n_chips for p in front(cands)]
    assert got
    for p in got:
        assert p.goodput is not None and 0.0 < p.goodput < 1.0
        assert p.cost_usd is not None and p.all_in_cost_usd is not None
        assert p.all_in_seconds >= p.train_seconds and p.all_in_cost_usd >= p.cost_usd
        assert p.all_in_seconds == pytest.approx(p.train_seconds / p.goodput, rel=1e-12)
        assert not any(_dominates(q, p) for q in cands), p.n_chips
    on_front = {p.n_chips for p in got}
    for q in cands:  # what the front leaves out, a front point beats (or equals)
        if q.n_chips not in on_front:
            assert any(_dominates(p, q) or _all_in(p) == _all_in(q) for p in got)
    # a larger fleet is interrupted more often
    goodputs = [q.goodput for q in cands]
    assert all(a is not None and b is not None and a > b for a, b in pairwise(goodputs))


def test_the_plans_own_count_on_the_front_is_priced_like_the_plan() -> None:
    """The front uses the failure options the plan was given, at every chip count."""
    opts = FailureOptions.from_user_units(5.0, storage_gb_per_s=50.0, checkpoint_interval_min=30)
    out = plan_training(
        W, CHIP, 128, catalog=CAT, tokens=TOKENS, price=PRICE, failures=opts, top=1
    )  # fmt: skip
    assert out.cost is not None and out.cost.all_in is not None and out.cost.goodput is not None
    (here,) = [p for p in out.front if p.n_chips == 128]
    assert here.train_seconds == out.cost.seconds
    assert here.all_in_seconds == out.cost.all_in.seconds
    assert here.all_in_cost_usd == out.cost.all_in.usd
    assert here.goodput == out.cost.goodput.goodput
    fail = failure_inputs(W.model, CHIP, opts)
    for p in out.front:
        assert (
            p.all_in_seconds == pareto_point(_result(p.n_chips), TOKENS, PRICE, fail).all_in_seconds
        )


def test_perfect_scaling_is_free_ideal_and_dearer_all_in() -> None:
    """Twice the chips at the same throughput per chip: ideal, half the time for the same money
    (fewer chips are never cheaper); all-in, the larger fleet loses more to failures, so the
    smaller one is strictly cheaper and stays on the front."""
    r64 = _result(64)
    r128 = replace(r64, n_chips=128)  # perfect scaling: the same plan's throughput per chip
    ideal = [pareto_point(r, TOKENS, PRICE) for r in (r64, r128)]
    i64, i128 = ideal
    assert i64.cost_usd == pytest.approx(i128.cost_usd, rel=1e-12)
    assert i128.train_seconds == pytest.approx(i64.train_seconds / 2, rel=1e-12)
    assert front(ideal)[0].n_chips == 128
    fail = _failures()
    a64, a128 = (pareto_point(r, TOKENS, PRICE, fail) for r in (r64, r128))
    assert a64.goodput is not None and a128.goodput is not None and a128.goodput < a64.goodput
    assert a64.all_in_cost_usd is not None and a128.all_in_cost_usd is not None
    ratio = a128.all_in_cost_usd / a64.all_in_cost_usd
    assert ratio == pytest.approx(a64.goodput / a128.goodput, rel=1e-9)
    assert ratio > 1.0 + 1e-5
    assert [p.n_chips for p in front([a64, a128])] == [128, 64]


_BASE = pareto_point(_result(64), TOKENS, PRICE)
_value = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_value, _value, st.booleans()), min_size=1, max_size=12))
def test_front_keeps_exactly_the_non_dominated_points(
    raw: list[tuple[float, float, bool]],
) -> None:
    pts = [
        replace(_BASE, n_chips=i + 1, all_in_seconds=t if ends else math.inf, all_in_cost_usd=c)
        for i, (t, c, ends) in enumerate(raw)
    ]
    got = front(pts)
    finite = [p for p in pts if math.isfinite(p.all_in_seconds)]
    assert all(math.isfinite(p.all_in_seconds) for p in got)
    for a, b in pairwise(got):  # fastest first, each slower point strictly cheaper
        assert a.all_in_seconds < b.all_in_seconds
        assert a.all_in_cost_usd is not None and b.all_in_cost_usd is not None
        assert a.all_in_cost_usd > b.all_in_cost_usd
    for p in got:
        assert not any(_dominates(q, p) for q in finite)
    kept = {p.n_chips for p in got}
    for q in finite:
        if q.n_chips not in kept:
            assert any(_dominates(p, q) or _all_in(p) == _all_in(q) for p in got)
    assert bool(got) == bool(finite)


def test_plan_json_and_table_show_the_all_in_front() -> None:
    args = ["plan", "-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "128", "-b", "128", "-s", "4096"]
    args += ["-t", "1e12", "--price", "aws-p5"]
    res = RUN.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert "all-in" in doc["pareto_note"]
    assert len(doc["pareto"]) >= 2
    for p in doc["pareto"]:
        assert 0 < p["goodput"] < 1
        assert p["all_in_seconds"] == pytest.approx(p["seconds"] / p["goodput"], rel=1e-12)
        assert p["all_in_cost_usd"] > p["cost_usd"]
    (here,) = [p for p in doc["pareto"] if p["chips"] == 128]
    assert here["all_in_seconds"] == doc["training"]["all_in"]["seconds"]
    off = json.loads(RUN.invoke(app, [*args, "--json", "--failure-rate", "0"]).stdout)
    for p in off["pareto"]:
        assert p["goodput"] == 1.0
        assert (p["all_in_seconds"], p["all_in_cost_usd"]) == (p["seconds"], p["cost_usd"])
    table = RUN.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "Pareto front on the all-in figures" in table.stdout
