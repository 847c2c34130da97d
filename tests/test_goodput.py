"""The goodput model: metamorphic properties, the Young/Daly optimum, and the sourced table."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chipswitch.catalog import load_catalog
from chipswitch.cli.app import app
from chipswitch.errors import ChipswitchError
from chipswitch.perf.workload import Workload
from chipswitch.planning.compare import compare
from chipswitch.planning.goodput import (
    PER_1000_CHIP_DAYS,
    checkpoint_bytes,
    daly_interval,
    goodput,
    goodput_fraction,
    load_reliability,
    sample_reliability,
    wall_factor,
    young_interval,
)

CAT = load_catalog()
RUN = CliRunner()
TABLE = load_reliability()
HOPPER = TABLE.for_family("nvidia-hopper")

chips_st = st.integers(min_value=1, max_value=200_000)
rate_st = st.floats(min_value=1e-3, max_value=20.0)  # per 1,000 chip-days
write_st = st.floats(min_value=0.1, max_value=3600.0)  # seconds
restart_st = st.floats(min_value=0.0, max_value=7200.0)


def _g(chips: int, rate_1000: float, write: float, restart: float) -> float:
    return float(goodput_fraction(chips, rate_1000 / PER_1000_CHIP_DAYS, restart, write))


@settings(max_examples=200, deadline=None)
@given(chips_st, chips_st, rate_st, write_st, restart_st)
def test_goodput_falls_as_chips_grow(a: int, b: int, rate: float, w: float, r: float) -> None:
    lo, hi = sorted((a, b))
    assert _g(hi, rate, w, r) <= _g(lo, rate, w, r) * (1 + 1e-12)
    if hi > lo:
        assert _g(hi, rate, w, r) < _g(lo, rate, w, r)


@settings(max_examples=200, deadline=None)
@given(chips_st, rate_st, rate_st, write_st, restart_st)
def test_goodput_falls_as_failure_rate_grows(
    n: int, a: float, b: float, w: float, r: float
) -> None:
    lo, hi = sorted((a, b))
    assert _g(n, hi, w, r) <= _g(n, lo, w, r) * (1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(chips_st, rate_st, write_st, write_st, restart_st)
def test_goodput_rises_with_cheaper_checkpoints(
    n: int, rate: float, a: float, b: float, r: float
) -> None:
    cheap, dear = sorted((a, b))
    assert _g(n, rate, cheap, r) >= _g(n, rate, dear, r) * (1 - 1e-12)


@settings(max_examples=100, deadline=None)
@given(chips_st, st.floats(min_value=1e3, max_value=1e9), write_st)
def test_zero_failure_rate_all_in_equals_ideal(n: int, work: float, w: float) -> None:
    rel = HOPPER.with_failure_rate(0.0)
    r = goodput(work, n, w * 1e9, rel, storage_bandwidth=1e9)
    assert r.goodput == 1.0
    assert r.wall_s == work
    assert r.interruptions == 0.0
    assert r.split_s["checkpointing"] == r.split_s["lost_work"] == r.split_s["restarts"] == 0.0


@settings(max_examples=100, deadline=None)
@given(chips_st, rate_st, write_st, restart_st)
def test_daly_interval_minimises_expected_wall_time(
    n: int, rate: float, w: float, r: float
) -> None:
    """Brute force over a fine log grid of intervals: Daly's estimate is at the minimum."""
    lam = n * rate / PER_1000_CHIP_DAYS
    m = 1.0 / lam
    tau = float(daly_interval(w, m))
    grid = np.geomspace(max(tau, 1e-3) / 100, max(tau, 1e-3) * 100, 20001)
    best = float(np.min(wall_factor(lam, w, r, grid)))
    at_daly = float(wall_factor(lam, w, r, tau))
    assert at_daly <= best * (1 + 2e-3)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1.0, max_value=1e4), st.floats(min_value=1e3, max_value=1e8))
def test_young_interval_minimises_first_order_lost_time(w: float, m: float) -> None:
    """Young (1974): tau = sqrt(2 delta M) minimises delta/tau + tau/(2M) (brute force)."""
    tau = float(young_interval(w, m))
    grid = np.geomspace(tau / 100, tau * 100, 20001)
    lost = w / grid + grid / (2 * m)
    assert w / tau + tau / (2 * m) <= float(lost.min()) * (1 + 1e-6)


@settings(max_examples=100, deadline=None)
@given(chips_st, st.floats(min_value=1e4, max_value=1e9), write_st, rate_st)
def test_split_sums_to_wall_time(n: int, work: float, w: float, rate: float) -> None:
    r = goodput(work, n, w * 1e9, HOPPER.with_failure_rate(rate / PER_1000_CHIP_DAYS),
                storage_bandwidth=1e9)  # fmt: skip
    if math.isfinite(r.wall_s):
        assert sum(r.split_s.values()) == pytest.approx(r.wall_s, rel=1e-9)
        assert min(r.split_s.values()) >= 0.0
        assert r.split_s["training"] == work


def test_vectorised_matches_scalar() -> None:
    rates = np.array([0.0, 0.2, 0.474, 1.9]) / PER_1000_CHIP_DAYS
    vec = goodput_fraction(4096, rates, 600.0, 30.0)
    for rate, g in zip(rates, vec, strict=True):
        one = goodput(1e6, 4096, 30e9, HOPPER.with_failure_rate(float(rate)),
                      storage_bandwidth=1e9)  # fmt: skip
        assert one.goodput == pytest.approx(float(g), rel=1e-12)


def test_interval_brackets_central_value() -> None:
    r = goodput(30 * 86400, 16384, checkpoint_bytes(405e9), HOPPER)
    lo, hi = r.goodput_interval
    assert lo < r.goodput < hi
    assert r.interruptions_interval[0] < r.interruptions < r.interruptions_interval[1]


def test_given_interval_is_used_and_not_shorter_than_a_step() -> None:
    r = goodput(1e6, 1024, 1e12, HOPPER, checkpoint_interval_s=3600.0)
    assert r.checkpoint_interval_s == 3600.0 and r.checkpoint_interval_given
    tiny = goodput(1e6, 8, 1e3, HOPPER, step_time_s=20.0)  # optimum far below one step
    assert tiny.checkpoint_interval_s == 20.0


def test_table_labels_priors_and_sources() -> None:
    assert not HOPPER.prior and "llama3" in HOPPER.sources
    assert not TABLE.for_family("nvidia-ampere").prior
    trn = TABLE.for_family("aws-trainium")
    assert trn.prior and "PRIOR" in trn.derivation
    # a prior is wider than a documented family's interval
    width = trn.failures_interval[1] / trn.failures_interval[0]
    assert width > HOPPER.failures_interval[1] / HOPPER.failures_interval[0]
    odd = TABLE.for_family("some-new-family")
    assert odd.prior and odd.family == "some-new-family"


def test_bad_inputs_raise_typed_errors() -> None:
    with pytest.raises(ChipswitchError):
        HOPPER.with_failure_rate(-1.0)
    with pytest.raises(ChipswitchError):
        goodput(1e6, 8, 1e9, HOPPER, storage_bandwidth=0.0)
    with pytest.raises(ChipswitchError):
        goodput(1e6, 8, 1e9, HOPPER, checkpoint_interval_s=-5.0)


# --- plan / compare integration ------------------------------------------------------------

PLAN = ["plan", "-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "512", "-b", "512", "-s", "8192",
        "--tokens", "15e12", "--price", "aws-p5", "--no-pareto", "--json"]  # fmt: skip


def _plan(*extra: str) -> dict[str, Any]:
    res = RUN.invoke(app, [*PLAN, *extra])
    assert res.exit_code == 0, res.output
    t: dict[str, Any] = json.loads(res.stdout)["training"]
    return t


def test_plan_json_reports_ideal_and_all_in() -> None:
    t = _plan()
    a = t["all_in"]
    assert 0 < t["goodput"] < 1
    assert a["chip_hours"] == pytest.approx(t["chip_hours"] / t["goodput"], rel=1e-9)
    assert a["days"] > t["days"] and a["cost_usd"] > t["cost_usd"]
    assert a["days_interval"][0] < a["days"] < a["days_interval"][1]
    fm = a["failure_model"]
    assert sum(fm["split_s"].values()) == pytest.approx(a["seconds"], rel=1e-9)
    assert fm["reliability"]["family"] == "nvidia-hopper" and not fm["reliability"]["prior"]
    assert fm["checkpoint_interval_rule"] == "daly2006" and fm["assumptions"]


def test_plan_failure_rate_zero_gives_the_ideal_figure() -> None:
    t = _plan("--failure-rate", "0")
    assert t["goodput"] == 1.0
    assert t["all_in"]["chip_hours"] == pytest.approx(t["chip_hours"], rel=1e-12)
    assert t["all_in"]["cost_usd"] == pytest.approx(t["cost_usd"], rel=1e-12)


def test_plan_options_move_the_all_in_figure_the_right_way() -> None:
    base = _plan()["goodput"]
    assert _plan("--failure-rate", "5")["goodput"] < base
    assert _plan("--storage-bandwidth", "10000")["goodput"] > base
    slow = _plan("--storage-bandwidth", "1")["goodput"]
    assert slow < base
    fixed = _plan("--checkpoint-interval", "600")["all_in"]["failure_model"]
    assert (
        fixed["checkpoint_interval_s"] == 36000.0 and fixed["checkpoint_interval_rule"] == "given"
    )


def test_plan_rejects_a_negative_failure_rate() -> None:
    res = RUN.invoke(app, [*PLAN, "--failure-rate", "-1"])
    assert res.exit_code == 2


def test_trainium_all_in_is_a_labelled_prior() -> None:
    w = Workload(CAT.model("llama3.1-8b"), 512, 8192, "bf16")
    cmp = compare(w, [CAT.chip("trn2"), CAT.chip("h100-sxm")], 512, 1e12, catalog=CAT)
    by_id = {r.chip.id: r for r in cmp.rows}
    trn, h100 = by_id["trn2"].cost, by_id["h100-sxm"].cost
    assert trn is not None and trn.goodput is not None and trn.goodput.reliability.prior
    assert h100 is not None and h100.goodput is not None and not h100.goodput.reliability.prior
    lo, hi = trn.goodput.goodput_interval
    hlo, hhi = h100.goodput.goodput_interval
    assert math.log(hi / lo) > math.log(hhi / hlo)  # less is known about Trainium


# --- stages ------------------------------------------------------------------------------------


def test_stages_add_up_to_the_run() -> None:
    t = _plan("--stage", "50e9:32768:64")
    st = t["stages"]
    assert [s["seq_len"] for s in st] == [8192, 32768]
    assert st[0]["tokens"] == 15e12 and t["tokens"] == pytest.approx(15e12 + 50e9)
    for key in ("chip_hours", "cost_usd", "days"):
        assert t[key] == pytest.approx(sum(s["training"][key] for s in st), rel=1e-12)
        assert t["all_in"][key] == pytest.approx(
            sum(s["training"]["all_in"][key] for s in st), rel=1e-12
        )
    assert t["goodput"] == pytest.approx(t["chip_hours"] / t["all_in"]["chip_hours"], rel=1e-12)
    # a longer context trains fewer tokens per second per chip
    assert st[1]["tokens_per_s_per_chip"] < st[0]["tokens_per_s_per_chip"]


@pytest.mark.parametrize("bad", ["1e9:4096", "x:4096:8", "1e9:0:8", "-5:4096:8"])
def test_malformed_stage_is_one_error_line(bad: str) -> None:
    res = RUN.invoke(app, [*PLAN, "--stage", bad])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output


def test_stage_needs_a_first_stage() -> None:
    args = [a for a in PLAN if a not in ("--tokens", "15e12")]
    res = RUN.invoke(app, [*args, "--stage", "1e9:4096:8"])
    assert res.exit_code == 2 and "--tokens" in res.output


def test_sampled_reliability_matches_its_median_and_interval() -> None:
    trn = TABLE.for_family("aws-trainium")
    rates, restarts = sample_reliability(trn, np.random.default_rng(7), 40_000)
    lo, hi = trn.failures_interval
    assert np.median(rates) == pytest.approx(trn.failures_per_chip_s, rel=0.03)
    assert np.mean((rates >= lo) & (rates <= hi)) == pytest.approx(0.8, abs=0.01)
    assert np.mean((restarts >= trn.restart_interval[0]) & (restarts <= trn.restart_interval[1])) \
        == pytest.approx(0.8, abs=0.01)  # fmt: skip
    again, _ = sample_reliability(trn, np.random.default_rng(7), 40_000)
    assert np.array_equal(rates, again)  # seeded: the same draws
    g = goodput_fraction(4096, rates, restarts, 30.0)
    assert g.shape == rates.shape and np.all((g > 0) & (g <= 1))
    # a prior is less certain than Hopper's sourced rate: a wider spread of goodput
    h_rates, h_restarts = sample_reliability(HOPPER, np.random.default_rng(7), 40_000)
    gh = goodput_fraction(4096, h_rates, h_restarts, 30.0)
    assert np.percentile(g, 90) - np.percentile(g, 10) > np.percentile(gh, 90) - np.percentile(
        gh, 10
    )


def test_a_given_rate_samples_as_itself() -> None:
    rel = HOPPER.with_failure_rate(1e-9)
    rates, _ = sample_reliability(rel, np.random.default_rng(1), 100)
    assert np.all(rates == 1e-9)


@settings(max_examples=200, deadline=None)
@given(
    chips_st,
    st.floats(min_value=0.0, max_value=1e9),  # per 1,000 chip-days, up to absurd
    st.floats(min_value=1.0, max_value=1e10),
    st.floats(min_value=1e-3, max_value=1e6),
)
def test_goodput_never_raises_and_stays_in_range(
    n: int, rate: float, work: float, w: float
) -> None:
    r = goodput(work, n, w * 1e9, HOPPER.with_failure_rate(rate / PER_1000_CHIP_DAYS),
                storage_bandwidth=1e9)  # fmt: skip
    assert 0.0 <= r.goodput <= 1.0
    assert r.wall_s >= work or math.isinf(r.wall_s)


def test_a_run_that_never_finishes_is_said_plainly() -> None:
    res = RUN.invoke(app, [*PLAN[:-1], "--failure-rate", "1e6"])
    assert res.exit_code == 0, res.output
    assert "would not finish" in res.output
    t = _plan("--failure-rate", "1e6")
    assert t["goodput"] == 0.0 and t["all_in"]["days"] is None


def test_assumptions_name_the_choices_in_words() -> None:
    off = goodput(1e6, 1024, 1e12, HOPPER.with_failure_rate(0.0))
    assert off.assumptions[-1].startswith("no checkpoint")
    assert "given" in off.assumptions[0]
    on = goodput(1e6, 1024, 1e12, TABLE.for_family("trn2-family-unknown"))
    assert "PRIOR" in on.assumptions[0] and "Daly 2006 optimum" in on.assumptions[-1]
