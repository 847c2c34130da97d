"""The decision model's economics (docs/decide.md 'The model'): metamorphic properties that must
hold whatever the numbers, honest dates, real options, risk and the verdict's rules.

Throughput comes from a fake provider (peak x MFU / FLOP per token) except where a test says
it uses the performance engine.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipswitch.catalog import load_catalog
from chipswitch.decide import analysis
from chipswitch.decide.dateline import month_of
from chipswitch.decide.engine import engine_throughput, run_decision
from chipswitch.decide.montecarlo import Compiled, compile_scenario, simulate
from chipswitch.decide.scenario import (
    SCENARIO_DIR,
    apply_settings,
    iter_quantities,
    load_scenario,
    parse_scenario,
)
from chipswitch.decide.verdict import make_verdict
from chipswitch.errors import CatalogFileError, ChipswitchError

SEED = SCENARIO_DIR / "amazon-anthropic-2024.yaml"
FPT = 6 * 405e9
PEAK = {"h100-sxm": 989.4e12, "trn2": 667e12, "tpu-v5p": 459e12}
CASH = "company.cash_usd"


@dataclass(frozen=True)
class FakeEstimate:
    tokens_per_s_per_chip: float
    interval: tuple[float, float]
    model_flops_per_token: float


def fake_throughput(spread: float = 0.15) -> dict[Any, Any]:
    out = {}
    for chip, peak in PEAK.items():
        t = peak * 0.375 / FPT
        out[("llama3.1-405b", chip)] = FakeEstimate(t, (t * (1 - spread), t * (1 + spread)), FPT)
    return out


def raw_seed() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SEED.read_text())
    return data


def compiled_with(*sets: str) -> Compiled:
    sc = parse_scenario(apply_settings(raw_seed(), list(sets)))
    return compile_scenario(sc, fake_throughput(), load_catalog())


@pytest.fixture(scope="module")
def cm() -> Compiled:
    return compiled_with()


@pytest.fixture(scope="module")
def rows(cm: Compiled) -> np.ndarray:
    return cm.uniforms(np.random.default_rng(11), 1500)


def values(cm: Compiled, u: np.ndarray, pins: dict[str, Any] | None = None) -> np.ndarray:
    return simulate(cm, u, pins).metrics["npv_usd"]


# -- (a) cash with no strings attached -----------------------------------------------------------


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extra=st.floats(min_value=1e8, max_value=5e10))
def test_a_more_cash_never_lowers_any_option(cm: Compiled, rows: np.ndarray, extra: float) -> None:
    base_cash = np.asarray(cm.input(CASH).sample(rows[:, cm.index[CASH]]))
    before = simulate(cm, rows, {CASH: base_cash})
    after = simulate(cm, rows, {CASH: base_cash + extra})
    v0, v1 = before.metrics["npv_usd"], after.metrics["npv_usd"]
    assert np.all(v1 >= v0 - 1e-6 * np.abs(v0))
    short = before.metrics["cash_out"] > 0
    assert short.any(axis=0).all()  # every option runs short of cash in some samples
    assert np.all(v1.mean(axis=0) > v0.mean(axis=0))  # so the cash raises every option
    assert np.mean(v1[short] > v0[short]) > 0.9  # in almost every sample that ran short


# -- (b) decline's compute cost follows the GPU price and throughput ----------------------------


def test_b_decline_compute_cost_rises_with_gpu_price(cm: Compiled, rows: np.ndarray) -> None:
    name = "hardware.gpu.price_usd_per_chip_hour"
    cost = [
        simulate(cm, rows, {name: p}, options=("decline",)).metrics["compute_cost_usd"][:, 0]
        for p in (2.0, 3.0, 4.5)
    ]
    assert np.all(np.diff(np.stack(cost), axis=0) >= -1e-6)
    assert np.all(cost[2] > cost[0])  # the baseline always carries part of the work


def test_b_decline_compute_cost_falls_with_gpu_throughput(cm: Compiled, rows: np.ndarray) -> None:
    cost = [
        simulate(cm, rows, {"throughput.gpu": z}, options=("decline",)).metrics["compute_cost_usd"][
            :, 0
        ]
        for z in (-1.0, 0.0, 1.0)
    ]
    assert np.all(np.diff(np.stack(cost), axis=0) <= 1e-6)
    assert np.all(cost[2] < cost[0])


# -- (c) an offer of $0 with no commitment is decline without its raise -------------------------


def test_c_zero_offer_scores_as_decline_without_its_raise() -> None:
    raw = raw_seed()
    raw["options"].append(
        {"id": "nothing", "label": "no money, no strings", "financing": {"instrument": "none"}}
    )
    cm = compile_scenario(parse_scenario(raw), fake_throughput(), load_catalog())
    u = cm.uniforms(np.random.default_rng(12), 1000)
    out = simulate(cm, u, {"events.decline.raise_closes": 0.0}, options=("decline", "nothing"))
    np.testing.assert_allclose(out.metrics["npv_usd"][:, 0], out.metrics["npv_usd"][:, 1])
    assert out.metrics["cash_out"].mean() > 0  # the raise mattered: without it cash runs short


# -- (d) a bigger conversion discount lowers the accepting option's value ---------------------


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lo=st.floats(0.0, 0.4), step=st.floats(0.01, 0.4))
def test_d_bigger_discount_lowers_accept(
    cm: Compiled, rows: np.ndarray, lo: float, step: float
) -> None:
    name = "options.accept.financing.discount"
    v0 = simulate(cm, rows, {name: lo}, options=("accept",)).metrics["npv_usd"][:, 0]
    v1 = simulate(cm, rows, {name: lo + step}, options=("accept",)).metrics["npv_usd"][:, 0]
    assert np.all(v1 <= v0 + 1e-6 * np.abs(v0))
    assert v1.mean() < v0.mean()


# -- (e) money has value where cash runs short ---------------------------------------------------


@pytest.fixture(scope="module")
def engine_cm() -> Compiled:
    """The seed scenario with the performance engine's throughput."""
    sc, cat = load_scenario(), load_catalog()
    return compile_scenario(sc, engine_throughput(sc, cat), cat)


def test_e_eight_billion_beats_nothing_on_the_same_terms(engine_cm: Compiled) -> None:
    u = engine_cm.uniforms(np.random.default_rng(13), 6000)
    name = "options.accept.financing.amount_usd"
    out0 = simulate(engine_cm, u, {name: 0.0}, options=("accept",))
    out8 = simulate(engine_cm, u, {name: 8e9}, options=("accept",))
    assert out0.metrics["cash_out"].mean() > 0.3  # cash runs short in the seed scenario
    gain = out8.metrics["npv_usd"][:, 0] - out0.metrics["npv_usd"][:, 0]
    assert gain.mean() > 4 * gain.std() / math.sqrt(gain.size)


def test_e_investment_amount_has_a_break_even_or_says_why_not(engine_cm: Compiled) -> None:
    u = engine_cm.uniforms(np.random.default_rng(14), 1500)
    diff = analysis.Difference(engine_cm, "accept", "decline", "npv")
    targets = {t.key: t for t in analysis.break_even_targets(engine_cm, "accept", "decline")}
    be = analysis.solve_break_even(diff, u, targets["investment_amount"], 1500)
    if not be.found:
        assert "money is worth most" in be.note or "each dollar" in be.note
        assert "not about money" in be.note


# -- the cash constraint -------------------------------------------------------------------------


def test_spend_never_exceeds_cash_and_what_came_in(cm: Compiled, rows: np.ndarray) -> None:
    """With no bridge, compute bought stays within cash: cash at the horizon is never below
    what the fixed bills alone would leave (compute never drives it negative)."""
    cm0 = compiled_with("company.bridge_capacity_usd=0")
    out = simulate(cm0, rows)
    assert np.all(out.metrics["bridge_usd"] == 0)
    cut = out.metrics["compute_cut"]
    assert cut.mean() > 0.2  # cash-short samples buy compute more slowly ...
    delivered = out.metrics["compute_delivered_flop"]
    full = simulate(compiled_with("company.cash_usd=1e13"), rows).metrics["compute_delivered_flop"]
    assert np.all(delivered <= full * (1 + 1e-9))  # ... and deliver less
    assert np.all(delivered[cut > 0] < full[cut > 0])


def test_bridge_dilutes_and_is_capped(cm: Compiled, rows: np.ndarray) -> None:
    out = simulate(cm, rows)
    bridge = out.metrics["bridge_usd"]
    cap = cm.input("company.bridge_capacity_usd").sample(
        rows[:, cm.index["company.bridge_capacity_usd"]]
    )
    assert np.all(bridge <= cap[:, None] * (1 + 1e-9))
    assert bridge.max() > 0


# -- real options --------------------------------------------------------------------------------


def test_exit_follows_realised_efficiency(cm: Compiled, rows: np.ndarray) -> None:
    slow = simulate(cm, rows, {"efficiency.trainium": 0.3}, options=("accept",))
    fast = simulate(cm, rows, {"efficiency.trainium": 2.0}, options=("accept",))
    assert slow.metrics["port_abandoned"].mean() > 0.95
    mid = simulate(cm, rows, {"efficiency.trainium": 1.0}, options=("accept",))
    rates = [o.metrics["port_abandoned"].mean() for o in (slow, mid, fast)]
    assert rates[0] > rates[1] > rates[2] and rates[2] < 0.15  # goodput tail: see above


def test_no_exit_when_the_terms_forbid_it(rows: np.ndarray) -> None:
    cm = compiled_with("options.accept.commitment.exit=false")
    out = simulate(cm, rows, {"efficiency.trainium": 0.3}, options=("accept",))
    assert out.metrics["port_abandoned"].max() == 0.0


def test_decline_uses_every_mature_chip(cm: Compiled, rows: np.ndarray) -> None:
    """A cheap TPU takes decline's work up to its capacity, a dear one none: decline's cost
    falls when TPUs get cheaper."""
    name = "hardware.tpu.price_usd_per_chip_hour"
    cheap = simulate(cm, rows, {name: 0.5}, options=("decline",)).metrics["compute_cost_usd"]
    dear = simulate(cm, rows, {name: 50.0}, options=("decline",)).metrics["compute_cost_usd"]
    assert np.all(cheap <= dear * (1 + 1e-12))
    assert np.mean(cheap < dear) > 0.9  # unless the TPU's sampled goodput makes it dear anyway


def test_pilot_evsi_is_between_zero_and_evpi() -> None:
    rng = np.random.default_rng(15)
    sc = load_scenario()
    res = run_decision(sc, fake_throughput(), samples=2000, seed=3, catalog=load_catalog())
    pl = res.pilot
    assert pl is not None
    assert 0.0 <= pl.evsi <= pl.evpi_pair + 1e-6
    assert pl.net_value == pytest.approx(pl.evsi - pl.cost)
    del rng


def test_a_perfect_pilot_is_worth_more_than_a_noisy_one() -> None:
    sc = load_scenario()
    thr = fake_throughput()
    sharp = parse_scenario(apply_settings(raw_seed(), ["pilot.noise_sd=0.01"]))
    blunt = parse_scenario(apply_settings(raw_seed(), ["pilot.noise_sd=3"]))
    a = run_decision(sharp, thr, samples=3000, seed=4, catalog=load_catalog()).pilot
    b = run_decision(blunt, thr, samples=3000, seed=4, catalog=load_catalog()).pilot
    assert a is not None and b is not None
    assert a.evsi >= b.evsi
    del sc


# -- uncertainty ---------------------------------------------------------------------------------


def test_engine_error_is_correlated_across_chips(cm: Compiled) -> None:
    from chipswitch.decide.montecarlo import Draws, _Common

    u = cm.uniforms(np.random.default_rng(16), 20_000)
    c = _Common(cm, Draws(cm, u))
    g = np.log(np.asarray(c.multiplier("gpu")).ravel())
    t = np.log(np.asarray(c.multiplier("trainium")).ravel())
    rho = float(np.corrcoef(g, t)[0, 1])
    assert rho == pytest.approx(cm.scenario.engine_error.shared_fraction, abs=0.03)


def test_implausible_mfu_is_flagged_and_widened() -> None:
    @dataclass(frozen=True)
    class WithMfu(FakeEstimate):
        mfu: float = 0.375

    thr = fake_throughput()
    e = thr[("llama3.1-405b", "tpu-v5p")]
    thr[("llama3.1-405b", "tpu-v5p")] = WithMfu(
        e.tokens_per_s_per_chip, e.interval, e.model_flops_per_token, 0.82
    )
    cm = compile_scenario(load_scenario(), thr, load_catalog())
    plain = compile_scenario(load_scenario(), fake_throughput(), load_catalog())
    assert cm.chips["tpu"].implausible and not plain.chips["tpu"].implausible
    assert cm.chips["tpu"].sigma > plain.chips["tpu"].sigma
    assert any("tpu-v5p" in n and "plausible" in n for n in cm.notes)


def test_lhs_stratifies_every_input(cm: Compiled) -> None:
    u = cm.uniforms(np.random.default_rng(17), 400, lhs=True)
    j = cm.index[CASH]
    counts = np.histogram(u[:, j], bins=400, range=(0, 1))[0]
    assert np.all(counts == 1)  # cash is uncorrelated: its strata survive the copula exactly
    plain = cm.uniforms(np.random.default_rng(17), 400)
    assert not np.all(np.histogram(plain[:, j], bins=400, range=(0, 1))[0] == 1)


def test_standard_error_shrinks_with_samples() -> None:
    sc, thr, cat = load_scenario(), fake_throughput(), load_catalog()
    small = run_decision(sc, thr, samples=500, seed=5, catalog=cat)
    large = run_decision(sc, thr, samples=4000, seed=5, catalog=cat)
    for a, b in zip(small.options, large.options, strict=True):
        assert b.objective_se < a.objective_se
        assert b.objective_se == pytest.approx(a.objective_se / math.sqrt(8), rel=0.3)
    big, few = analysis.Sizes.for_samples(100_000), analysis.Sizes.for_samples(10_000)
    assert big.tornado > few.tornado and big.sobol_base > few.sobol_base  # they scale
    assert big.voi == 20_000 and few.voi == 2_000 and big.hindcast > few.hindcast


# -- risk and the verdict ------------------------------------------------------------------------


def test_cvar_and_dominance() -> None:
    x = np.arange(100, dtype=np.float64)
    assert analysis.cvar(x, 0.05) == pytest.approx(2.0)
    assert analysis.dominance(x + 1, x, "a", "b") == "a dominates b (first order)"
    wide = np.concatenate([x - 50, x + 50])
    mid = np.concatenate([x, x])
    assert analysis.dominance(mid, wide, "m", "w") == "m dominates w (second order)"
    sure = np.full(100, 60.0)
    assert analysis.dominance(sure, x, "s", "x") == "s dominates x (second order)"
    spread, narrow = np.repeat([0.0, 100.0], 50), np.repeat([40.0, 50.0], 50)
    assert analysis.dominance(spread, narrow, "a", "b") is None  # higher mean, worse tail


def _summary(oid: str, mean: float, se: float, p_best: float) -> analysis.OptionSummary:
    stat = analysis.Stat(mean, mean, mean, mean)
    return analysis.OptionSummary(
        oid, oid, {"npv_usd": stat}, mean, p_best, 0.0, 1.0, 0.0, 0.0, se, 0.01, mean, mean,
        0.0, 0.0,
    )  # fmt: skip


def _pair(a: str, b: str, se: float, p: float) -> analysis.PairSummary:
    d = analysis.Stat(0, 0, 0, 0)
    return analysis.PairSummary(a, b, d, p, 0.0, 0.0, se, None)


def test_verdict_says_too_close_to_call() -> None:
    opts = [_summary("a", 10.0, 0.1, 0.55), _summary("b", 9.0, 0.1, 0.45)]
    v = make_verdict("npv", opts, [_pair("a", "b", 0.1, 0.55)], [], [], ("a", "b"))
    assert v.too_close and v.sentence.startswith("Too close to call")
    opts = [_summary("a", 10.0, 0.6, 0.8), _summary("b", 9.0, 0.6, 0.2)]
    v = make_verdict("npv", opts, [_pair("a", "b", 0.1, 0.8)], [], [], ("a", "b"))
    assert v.too_close  # the standard errors overlap
    opts = [_summary("a", 10.0, 0.1, 0.8), _summary("b", 9.0, 0.1, 0.2)]
    v = make_verdict("npv", opts, [_pair("a", "b", 0.1, 0.8)], [], [], ("a", "b"))
    assert not v.too_close and not v.warnings


def test_verdict_recommends_the_pilot_when_it_is_worth_more_than_the_advantage() -> None:
    opts = [_summary("a", 10.0, 0.1, 0.8), _summary("b", 9.0, 0.1, 0.2)]
    pairs = [_pair("a", "b", 0.1, 0.8)]
    rich = analysis.PilotValue("trn", ("a", "b"), 3, 0.1, 3.0, 4.0, 0.5, 2.5, 0.5)
    poor = analysis.PilotValue("trn", ("a", "b"), 3, 0.1, 0.6, 4.0, 0.5, 0.1, 0.5)
    assert make_verdict("npv", opts, pairs, [], [], ("a", "b"), rich).recommend_pilot
    assert not make_verdict("npv", opts, pairs, [], [], ("a", "b"), poor).recommend_pilot


def test_verdict_warns_when_the_standard_error_is_large() -> None:
    opts = [_summary("a", 10.0, 0.1, 0.9), _summary("b", 9.0, 0.1, 0.1)]
    v = make_verdict("npv", opts, [_pair("a", "b", 0.8, 0.9)], [], [], ("a", "b"))
    assert v.warnings and "standard error" in v.warnings[0]


def test_analyses_are_on_the_compare_pair_or_the_one_asked() -> None:
    sc, thr, cat = load_scenario(), fake_throughput(), load_catalog()
    res = run_decision(sc, thr, samples=400, seed=6, catalog=cat)
    assert res.pair == ("accept", "decline")
    d = res.to_dict()
    assert d["sensitivity_context"]["pair"] == ["accept", "decline"]
    assert d["break_even_pair"] == ["accept", "decline"]
    other = run_decision(sc, thr, samples=400, seed=6, catalog=cat, pair=("hedge", "partial"))
    assert other.pair == ("hedge", "partial")
    with pytest.raises(ChipswitchError, match="unknown option"):
        run_decision(sc, thr, samples=400, seed=6, catalog=cat, pair=("accept", "nope"))


def test_json_has_the_fields_scripts_read() -> None:
    res = run_decision(
        load_scenario(), fake_throughput(), samples=300, seed=7, catalog=load_catalog()
    )
    d = json.loads(json.dumps(res.to_dict()))
    for o in d["options"]:
        assert {"objective_se", "cvar_05", "p_cash_out"} <= set(o)
    for p in d["pairs"]:
        assert "difference_se" in p
    assert d["hindsight"] == []
    assert {"winner", "values"} <= set(d["decision_hindcast"])
    assert d["decision_hindcast"]["winner"] in {o["id"] for o in d["options"]}


# -- honest dates --------------------------------------------------------------------------------


def test_seed_scenario_uses_no_source_after_the_decision_date() -> None:
    sc = load_scenario()
    assert not sc.allow_hindsight
    for name, q in iter_quantities(sc):
        assert q.date is None or q.date[:7] <= sc.decision_date, name
    cm = compile_scenario(sc, fake_throughput(), load_catalog())
    assert cm.hindsight == ()
    gpu = cm.chips["gpu"]
    assert gpu.price_note is not None and "late 2024" in gpu.price_note


def test_a_later_source_is_refused_unless_hindsight_is_allowed() -> None:
    raw = raw_seed()
    raw["company"]["gross_margin"] = {"value": 0.4, "source": "2025 figure", "date": "2025-06"}
    with pytest.raises(CatalogFileError, match=r"company.gross_margin: source dated 2025-06"):
        parse_scenario(raw)
    raw["allow_hindsight"] = True
    sc = parse_scenario(raw)
    cm = compile_scenario(sc, fake_throughput(), load_catalog())
    assert any(h.startswith("company.gross_margin") for h in cm.hindsight)


def test_catalog_price_is_the_newest_on_or_before_the_decision_date() -> None:
    raw = raw_seed()
    trn = raw["hardware"]["trainium"]
    trn.pop("price_usd_per_chip_hour")
    trn["offering"] = "aws-trn2"
    with pytest.raises(CatalogFileError, match=r"no 'on_demand' price of aws-trn2 dated on or"):
        compile_scenario(parse_scenario(raw), fake_throughput(), load_catalog())
    raw["allow_hindsight"] = True
    cm = compile_scenario(parse_scenario(raw), fake_throughput(), load_catalog())
    assert any("aws-trn2" in h for h in cm.hindsight)
    raw["decision_date"] = "2026-06"  # later decisions see later prices
    raw["allow_hindsight"] = False
    cm = compile_scenario(parse_scenario(raw), fake_throughput(), load_catalog())
    assert cm.hindsight == () and cm.chips["trainium"].catalog_price_usd_per_chip_hour


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2025-03-17", "2025-03"),
        ("late 2024 (rates valid until 2025-01-01)", "2024-09"),
        ("2024-12..2025-05 (undated catalog snapshot)", None),
        ("2025-11-30 and 2026-01-21", "2025-11"),
        (None, None),
    ],
)
def test_catalog_dates_are_read_as_their_first_month(text: str | None, month: str | None) -> None:
    assert month_of(text) == month


# -- --set ---------------------------------------------------------------------------------------


def test_settings_override_values_by_dotted_key_and_option_id() -> None:
    raw = apply_settings(
        raw_seed(),
        [
            "company.cash_usd=1e13",
            "hardware.gpu.price_usd_per_chip_hour=2.5",
            "options.accept.financing.amount_usd=8e9",
            "options.1.financing.p_close=1",
        ],
    )
    sc = parse_scenario(raw)
    assert sc.company.cash_usd.median() == 1e13
    assert sc.hardware["gpu"].price_usd_per_chip_hour is not None
    assert sc.hardware["gpu"].price_multiplier is None
    assert sc.option("accept").financing.amount_usd.median() == 8e9
    assert "command line" in (sc.company.cash_usd.assumption or "")
    assert sc.option("decline").financing.p_close is not None
    with pytest.raises(ChipswitchError, match="no item 'nope'"):
        apply_settings(raw_seed(), ["options.nope.financing.amount_usd=1"])
    with pytest.raises(ChipswitchError, match="KEY=VALUE"):
        apply_settings(raw_seed(), ["company.cash_usd"])
    with pytest.raises(CatalogFileError, match=r"company\.cash_usdd: unknown key"):
        parse_scenario(apply_settings(raw_seed(), ["company.cash_usdd=1"]))


def test_first_year_delivers_exactly_the_roadmap_flop(cm: Compiled, rows: np.ndarray) -> None:
    """Demand is FLOP: the first twelve months add up to `training_flop_per_year` (issue 15
    point 3: the old budget acted as a month-0 rate and overshot the year)."""
    from chipswitch.decide.montecarlo import Draws, _Common

    d = Draws(cm, rows)
    c = _Common(cm, d)
    year = np.asarray(d.of(cm.scenario.roadmap.training_flop_per_year)).ravel()
    np.testing.assert_allclose(c.demand[:, :12].sum(axis=1), year, rtol=1e-12)


def test_settings_reach_plain_fields_too() -> None:
    sc = parse_scenario(
        apply_settings(raw_seed(), ["engine_error.shared_fraction=0.7", "horizon_months=24"])
    )
    assert sc.engine_error.shared_fraction == 0.7 and sc.horizon == 24


def test_tornado_skips_only_inputs_the_pair_never_reads(cm: Compiled, rows: np.ndarray) -> None:
    assert not analysis.affects("options.hedge.commitment.share", ("accept", "decline"))
    assert not analysis.affects("events.partial.raise_closes", ("accept", "decline"))
    assert analysis.affects("events.gpu_shortfall", ("accept", "decline"))
    assert analysis.affects("options.accept.financing.discount", ("accept", "decline"))
    diff = analysis.Difference(cm, "accept", "decline", "npv")
    _, bars = analysis.tornado(diff, rows, 300)
    skipped = [b for b in bars if not analysis.affects(b.input, ("accept", "decline"))]
    assert skipped and all(b.swing == 0 for b in skipped)
    # pinning a skipped input really does not move the pair
    name = skipped[0].input
    moved = rows[:300].copy()
    moved[:, cm.index[name]] = 0.9
    assert diff.mean(moved) == pytest.approx(diff.mean(rows[:300]), rel=1e-12)


def test_risk_objective_ranks_by_mean_and_cvar() -> None:
    sc, thr, cat = load_scenario(), fake_throughput(), load_catalog()
    res = run_decision(sc, thr, samples=600, seed=8, catalog=cat, objective="risk")
    w = sc.risk_aversion
    for o in res.options:
        assert o.risk_adjusted == pytest.approx((1 - w) * o.expected_objective + w * o.cvar_05)
        assert o.cvar_05 <= o.expected_objective
    best = max(res.options, key=lambda o: o.risk_adjusted)
    assert res.verdict.option == best.id and res.verdict.objective == "risk"
