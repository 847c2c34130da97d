"""The decision engine: scenario schema, distributions, Monte Carlo, analyses.

Throughput comes from a small fake provider (peak x MFU / FLOP per token), so these tests do
not depend on the performance engine's calibration.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import special

from chipswitch.catalog import load_catalog
from chipswitch.decide import analysis, finance
from chipswitch.decide.dists import Interval90, Pert, copula_uniforms, parse_value
from chipswitch.decide.engine import run_decision
from chipswitch.decide.montecarlo import Draws, _Common, compile_scenario, simulate
from chipswitch.decide.scenario import (
    SCENARIO_DIR,
    SCHEMA_PATH,
    Probability,
    apply_settings,
    load_scenario,
    parse_scenario,
    schema_text,
    unsourced,
)
from chipswitch.errors import CatalogFileError, ChipswitchError

SEED = SCENARIO_DIR / "amazon-anthropic-2024.yaml"
FPT = 6 * 405e9  # FLOP per token of the fake model (the value cancels in cost per FLOP)
PEAK = {"h100-sxm": 989.4e12, "trn2": 667e12, "tpu-v5p": 459e12}


@dataclass(frozen=True)
class FakeEstimate:
    tokens_per_s_per_chip: float
    interval: tuple[float, float]
    model_flops_per_token: float


def fake_throughput(mfu: dict[str, float] | None = None, spread: float = 0.15) -> dict[Any, Any]:
    """tokens/s = peak x MFU / FLOP per token, with a +-spread 80% interval."""
    mfu = mfu or {"h100-sxm": 0.375, "trn2": 0.375, "tpu-v5p": 0.375}
    out = {}
    for chip, peak in PEAK.items():
        t = peak * mfu[chip] / FPT
        out[("llama3.1-405b", chip)] = FakeEstimate(t, (t * (1 - spread), t * (1 + spread)), FPT)
    return out


@pytest.fixture(scope="module")
def seed_raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SEED.read_text())
    return data


@pytest.fixture(scope="module")
def compiled() -> Any:
    return compile_scenario(load_scenario(), fake_throughput(), load_catalog())


def _errors(raw: dict[str, Any]) -> str:
    with pytest.raises(CatalogFileError) as info:
        parse_scenario(raw, "bad.yaml")
    return str(info.value)


# -- scenario ------------------------------------------------------------------------------------


def test_seed_scenario_loads_and_every_number_is_sourced() -> None:
    sc = load_scenario()
    assert sc.name == "amazon-anthropic-2024"
    assert len(sc.options) >= 3
    assert unsourced(sc) == []


def test_json_schema_file_is_up_to_date() -> None:
    hint = "regenerate with: python -m chipswitch.decide.scenario"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), hint


def test_schema_describes_the_short_forms() -> None:
    schema = json.loads(schema_text())
    prob = schema["$defs"]["Probability"]["anyOf"]
    assert {"type": "number", "minimum": 0.0, "maximum": 1.0} in prob
    assert any(s.get("type") == "string" and "pattern" in s for s in prob)


@pytest.mark.parametrize(
    ("raw", "dist"),
    [(4.0e9, "point"), ("4e9", "point"), ("1 to 2", "ci90"), ("-1 to 1", "ci90")],
)
def test_short_forms(raw: Any, dist: str) -> None:
    assert parse_value(raw)["dist"] == dist


def test_misspelt_key_names_the_field(seed_raw: dict[str, Any]) -> None:
    raw = json.loads(json.dumps(seed_raw))
    fin = raw["options"][0]["financing"]
    fin["amout_usd"] = fin.pop("amount_usd")
    msg = _errors(raw)
    assert "options.0.financing.amout_usd: unknown key" in msg


def test_lo_above_hi_is_refused(seed_raw: dict[str, Any]) -> None:
    raw = json.loads(json.dumps(seed_raw))
    raw["company"]["cash_usd"] = {"value": "7e9 to 3e9", "assumption": "x"}
    msg = _errors(raw)
    assert "company.cash_usd" in msg and "lo (7e+09) > hi (3e+09)" in msg


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (
            ("hardware", "gpu", "price_usd_per_chip_hour"),
            -1.0,
            "hardware.gpu.price_usd_per_chip_hour",
        ),
        (("supply", "gpu_shortfall_probability"), 1.5, "supply.gpu_shortfall_probability"),
        (("options", 0, "financing", "amount_usd"), "-4e9", "options.0.financing.amount_usd"),
        (("company", "bridge_discount"), "0.5 to 1.2", "company.bridge_discount"),
    ],
)
def test_impossible_values_are_refused(
    seed_raw: dict[str, Any], path: tuple[Any, ...], value: Any, expect: str
) -> None:
    raw = json.loads(json.dumps(seed_raw))
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    msg = _errors(raw)
    assert expect in msg and "outside the allowed range" in msg


def test_cross_references_are_checked(seed_raw: dict[str, Any]) -> None:
    raw = json.loads(json.dumps(seed_raw))
    raw["options"][0]["commitment"]["chip"] = "trainum"
    raw["correlations"][0]["between"][0] = "company.cash"
    msg = _errors(raw)
    assert "options.0.commitment.chip: unknown hardware key 'trainum'" in msg
    assert "correlations.0.between: unknown input 'company.cash'" in msg


def test_unknown_chip_suggests_names() -> None:
    sc = load_scenario()
    hw = dict(sc.hardware)
    hw["trainium"] = hw["trainium"].model_copy(update={"chip": "trn-2"})
    bad = sc.model_copy(update={"hardware": hw})
    with pytest.raises(
        ChipswitchError, match=r"hardware.trainium.chip: unknown chip 'trn-2'.*trn2"
    ):
        compile_scenario(bad, fake_throughput(), load_catalog())


def test_unknown_shipped_scenario_suggests_names() -> None:
    with pytest.raises(ChipswitchError, match="amazon-anthropic-2024"):
        load_scenario("amazon-anthropic")


# -- distributions and the copula ----------------------------------------------------------------


def test_interval_quantiles_match_the_stated_bounds() -> None:
    for lo, hi in ((2.0, 8.0), (-1.0, 3.0)):
        d = Interval90(lo=lo, hi=hi)
        assert d.quantile(0.05) == pytest.approx(lo)
        assert d.quantile(0.95) == pytest.approx(hi)
        assert d.cdf(d.quantile(0.3)) == pytest.approx(0.3)
    assert Interval90(lo=2.0, hi=8.0).quantile(0.5) == pytest.approx(4.0)  # geometric mean


def test_pert_mean_and_tabulated_inverse() -> None:
    d = Pert(dist="pert", min=0.5, mode=0.7, max=0.9)
    u = np.random.default_rng(0).uniform(size=50_000)
    x = d.ppf(u)  # tabulated inverse
    assert x.mean() == pytest.approx((0.5 + 4 * 0.7 + 0.9) / 6, abs=2e-3)
    exact = 0.5 + 0.4 * special.betaincinv(3.0, 3.0, u)  # alpha = beta = 1 + 4 * 0.5
    assert np.max(np.abs(x - exact)) < 1e-5


def test_copula_imposes_correlation_and_keeps_uniform_marginals() -> None:
    corr = np.array([[1.0, 0.6], [0.6, 1.0]])
    u = copula_uniforms(np.random.default_rng(1), 40_000, 2, corr)
    assert np.quantile(u[:, 0], 0.5) == pytest.approx(0.5, abs=0.01)
    rho = np.corrcoef(special.ndtri(u).T)[0, 1]
    assert rho == pytest.approx(0.6, abs=0.02)
    assert np.mean(u[:, 1] < 0.1) == pytest.approx(0.1, abs=0.01)


def test_quantity_clips_to_its_range() -> None:
    q = Probability.model_validate("0.1 to 0.9")  # a normal-free lognormal with a tail past 1
    col = np.array([0.9999999])
    from chipswitch.decide.montecarlo import clip

    assert clip(q, q.value.ppf(col))[0] <= 1.0


# -- finance and the worked check ----------------------------------------------------------------


def test_dilution_matches_decision_research_5_1() -> None:
    assert finance.equity_ownership(4e9, 40e9) == pytest.approx(0.100)
    assert finance.note_ownership(4e9, 61.5e9, 0.0, None, 0.0, 4.0) == pytest.approx(
        0.065, abs=5e-4
    )
    assert finance.note_ownership(4e9, 61.5e9, 0.2, None, 0.0, 4.0) == pytest.approx(
        0.081, abs=5e-4
    )
    assert finance.note_ownership(4e9, 61.5e9, 0.0, 40e9, 0.0, 4.0) == pytest.approx(0.100)


def test_runway_of_a_constant_burn() -> None:
    months, out = finance.runway(np.array([10.0, 100.0]), np.full((2, 12), -2.0))
    assert months[0] == pytest.approx(5.0)
    assert out[0] == pytest.approx(5.0)
    assert months[1] == pytest.approx(50.0)  # 12 + 76 / 2, beyond the horizon
    assert math.isinf(out[1])


def test_worked_check_cost_per_flop() -> None:
    """decision_research.md 6.7: H100 at $4.916/h and MFU 0.375 costs ~$3.68 per 1e18 FLOP;
    Trn2 at $2.45/h matches it at equal MFU when its relative efficiency is ~0.74."""
    cm = compile_scenario(load_scenario(), fake_throughput(spread=0.0), load_catalog())
    pins = {
        "hardware.gpu.price_usd_per_chip_hour": 4.916,
        "hardware.trainium.price_usd_per_chip_hour": 2.45,
        "reliability.gpu.time_lost": 0.0,
        "reliability.trainium.time_lost": 0.0,
    }
    c = _Common(cm, Draws(cm, np.full((1, len(cm.inputs)), 0.5), pins))
    gpu = float(np.asarray(c.k["gpu"]).ravel()[0]) * 1e18
    trn = float(np.asarray(c.k["trainium"]).ravel()[0]) * 1e18
    assert gpu == pytest.approx(3.68, rel=0.01)
    assert trn / gpu == pytest.approx(0.74, abs=0.01)  # r at which the two cost the same


# -- the Monte Carlo -----------------------------------------------------------------------------


def test_results_do_not_depend_on_the_block_size(compiled: Any) -> None:
    u = compiled.uniforms(np.random.default_rng(3), 9000)
    whole = simulate(compiled, u)
    parts = [simulate(compiled, u[:4000]), simulate(compiled, u[4000:])]
    for m, v in whole.metrics.items():
        np.testing.assert_allclose(v, np.concatenate([p.metrics[m] for p in parts]), rtol=1e-12)


def test_option_without_commitment_has_no_switching_cost(compiled: Any) -> None:
    u = compiled.uniforms(np.random.default_rng(4), 2000)
    out = simulate(compiled, u)
    j = out.option_ids.index("decline")
    assert np.all(out.metrics["switching_cost_usd"][:, j] == 0)
    assert np.all(out.metrics["port_abandoned"][:, j] == 0)
    assert np.all(out.metrics["delay_months"][:, j] >= 0)


def test_dearer_committed_chip_never_lowers_cost(seed_raw: dict[str, Any]) -> None:
    """Without the exit (a real option: a dearer chip can make leaving cheaper) the cost of
    accepting rises with the committed chip's price, sample by sample."""
    raw = apply_settings(seed_raw, ["options.accept.commitment.exit=false"])
    cm = compile_scenario(parse_scenario(raw), fake_throughput(), load_catalog())
    u = cm.uniforms(np.random.default_rng(5), 1000)
    name = "hardware.trainium.price_usd_per_chip_hour"
    costs = [
        simulate(cm, u, {name: p}, options=("accept",)).metrics["cost_usd"][:, 0]
        for p in (1.5, 2.5, 4.0)
    ]
    assert np.all(costs[1] >= costs[0] - 1e-6) and np.all(costs[2] >= costs[1] - 1e-6)
    assert np.mean(costs[2] > costs[0]) > 0.99


def test_hedge_switches_more_when_trainium_is_slow(compiled: Any) -> None:
    u = compiled.uniforms(np.random.default_rng(6), 2000)
    slow = simulate(compiled, u, {"efficiency.trainium": 0.3}, options=("hedge",))
    fast = simulate(compiled, u, {"efficiency.trainium": 1.5}, options=("hedge",))
    left = slow.metrics["hedge_switched"] + slow.metrics["port_abandoned"]
    assert left.mean() > 0.95  # every slow sample leaves: by the exit or by the hedge
    assert fast.metrics["hedge_switched"].mean() < 0.1
    # a fast chip is still left where its goodput (a wide prior for Trainium) is very low
    assert fast.metrics["port_abandoned"].mean() < 0.25


def test_same_seed_same_json_different_seed_different() -> None:
    sc = load_scenario()
    thr = fake_throughput()

    def run(seed: int, samples: int) -> str:
        res = run_decision(sc, thr, samples=samples, seed=seed, catalog=load_catalog())
        return json.dumps(res.to_dict(), sort_keys=True)

    first = run(1, 300)
    assert first == run(1, 300)
    assert json.loads(first)["options"] != json.loads(run(2, 100))["options"]
    d = json.loads(first)
    assert 0.0 <= d["verdict"]["probability"] <= 1.0
    assert len(d["sensitivity"]) >= 5
    assert len(d["break_even"]) >= 3
    assert {"option", "objective", "probability"} <= set(d["verdict"])


def test_break_even_roots_zero_the_difference(compiled: Any) -> None:
    u = compiled.uniforms(np.random.default_rng(7), 800)
    diff = analysis.Difference(compiled, "accept", "decline", "npv")
    targets = {t.key: t for t in analysis.break_even_targets(compiled, "accept", "decline")}
    assert {"relative_efficiency", "price_per_chip_hour", "investment_amount"} <= set(targets)
    assert {"schedule_slip", "conversion_valuation"} <= set(targets)
    be = analysis.solve_break_even(diff, u, targets["price_per_chip_hour"], 800)
    assert be.found and be.value is not None
    rows = u[:800]
    scale = abs(diff.mean(rows, {be.input: be.value * 0.5}))
    assert abs(diff.mean(rows, {be.input: be.value})) < 1e-3 * scale


def test_no_root_says_so(compiled: Any) -> None:
    u = compiled.uniforms(np.random.default_rng(8), 500)
    diff = analysis.Difference(compiled, "accept", "decline", "npv")
    t = analysis.BreakEvenTarget(
        "price_per_chip_hour", "p", "USD/chip-hour",
        "hardware.trainium.price_usd_per_chip_hour", 2.5, (0.01, 0.02),
    )  # fmt: skip
    be = analysis.solve_break_even(diff, u, t, 500)
    assert not be.found and be.value is None and be.note.startswith("no root in")


def test_evppi_of_a_decisive_input_is_the_evpi() -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal(20_000)
    values = np.column_stack([x, np.zeros_like(x)])  # option 0 wins exactly when x > 0
    total = analysis.evpi(values)
    assert total == pytest.approx(1 / math.sqrt(2 * math.pi), rel=0.03)
    assert analysis.evppi(values, x[:, None]) == pytest.approx(total, rel=0.1)
    noise = rng.standard_normal((20_000, 1))
    assert analysis.evppi(values, noise) < 0.02 * total


def test_hindcast_places_reality_in_the_priors() -> None:
    sc = load_scenario()
    res = run_decision(sc, fake_throughput(), samples=500, seed=0, catalog=load_catalog())
    rows = {h.id: h for h in res.hindcast}
    assert {"conversion_valuation", "trainium_fleet", "later_tpu_deal"} <= set(rows)
    conv = rows["conversion_valuation"]
    assert conv.percentile is not None and 85 < conv.percentile < 97  # $61.5B in 25-65B
    assert "happened" in rows["later_tpu_deal"].where


def test_scenario_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SEED.read_text())
    assert load_scenario(path).name == "amazon-anthropic-2024"
