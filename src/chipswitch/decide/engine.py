"""`decide()`: scenario -> throughput from the performance engine -> Monte Carlo -> analyses.

`run_decision` takes the throughput figures as an argument (any mapping of (model, chip) to
an object with `tokens_per_s_per_chip`, `interval` and `model_flops_per_token`); only
`decide` calls the performance engine.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chipswitch import __version__
from chipswitch.catalog import Catalog, load_catalog
from chipswitch.decide import analysis, hindcast
from chipswitch.decide.montecarlo import (
    BLOCK,
    METRICS,
    SUMMARY_METRICS,
    Compiled,
    Outcome,
    ThroughputLike,
    ThroughputTable,
    compile_scenario,
    objective_values,
    simulate,
)
from chipswitch.decide.scenario import (
    Scenario,
    apply_settings,
    load_scenario_raw,
    parse_scenario,
    scenario_path,
    unsourced,
)
from chipswitch.decide.verdict import Verdict, make_verdict, rank_value
from chipswitch.errors import CatalogFileError, ChipswitchError

Progress = Callable[[str, float], None]
"""progress(phase, fraction of the whole run done)."""

DEFAULT_SAMPLES = 20_000
DEFAULT_SEED = 0
MIN_SAMPLES = 100
MAX_SAMPLES = 2_000_000
MAX_HORIZON_MONTHS = 600
DISTRIBUTION_METRICS = (
    "npv_usd",
    "cost_usd",
    "compute_delivered_flop",
    "ownership_sold",
    "runway_months",
)
HISTOGRAM_BINS = 40
OBJECTIVE_UNIT = {
    "npv": "USD",
    "risk": "USD",
    "cost": "USD (negative cost)",
    "compute": "FLOP",
}


@dataclass(frozen=True)
class DecisionResult:
    """Everything `chipswitch decide` shows; `to_dict()` is the JSON output."""

    scenario: str
    title: str
    decision_date: str
    horizon_months: int
    samples: int
    seed: int
    lhs: bool
    objective: str
    verdict: Verdict
    options: list[analysis.OptionSummary]
    pairs: list[analysis.PairSummary]
    pair: tuple[str, str]
    sensitivity_base: float
    tornado: list[analysis.TornadoEntry]
    sobol: list[analysis.SobolEntry]
    break_even: list[analysis.BreakEven]
    evpi: float
    voi: list[analysis.VoiEntry]
    pilot: analysis.PilotValue | None
    sizes: analysis.Sizes
    cost_over_time: dict[str, dict[str, list[float]]]
    distributions: dict[str, dict[str, Any]]
    hindcast: list[hindcast.HindcastResult]
    decision_hindcast: dict[str, Any]
    hindsight: list[str]
    throughput: list[dict[str, Any]]
    inputs: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    unsourced: list[str] = field(default_factory=list)
    ported: tuple[str, ...] = ()

    def pilot_benchmark(self) -> dict[str, float]:
        """EVPPI of each newly adopted chip's efficiency group: what perfect knowledge of the
        chip's real throughput, ramp and goodput would be worth before signing."""
        return {
            v.group.removesuffix(" efficiency"): v.evppi
            for v in self.voi
            if v.group.endswith(" efficiency")
            and v.group.removesuffix(" efficiency") in self.ported
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; non-finite numbers become null."""
        sobol = {s.input: s for s in self.sobol}
        a, b = self.pair
        sens = []
        for e in self.tornado:
            row = dataclasses.asdict(e)
            s = sobol.get(e.input)
            row.update(
                sobol_s1=None if s is None else s.s1,
                sobol_s1_conf=None if s is None else s.s1_conf,
                sobol_st=None if s is None else s.st,
                sobol_st_conf=None if s is None else s.st_conf,
            )
            sens.append(row)
        out = {
            "scenario": {
                "name": self.scenario,
                "title": self.title,
                "decision_date": self.decision_date,
                "horizon_months": self.horizon_months,
            },
            "run": {
                "samples": self.samples,
                "seed": self.seed,
                "lhs": self.lhs,
                "version": __version__,
                "analysis_rows": dataclasses.asdict(self.sizes),
            },
            "objective": self.objective,
            "objective_unit": OBJECTIVE_UNIT[self.objective],
            "verdict": dataclasses.asdict(self.verdict),
            "options": [dataclasses.asdict(o) for o in self.options],
            "pairs": [dataclasses.asdict(p) for p in self.pairs],
            "pair": [a, b],
            "break_even": [dataclasses.asdict(b) for b in self.break_even],
            "break_even_pair": [a, b],
            "sensitivity": sens,
            "sensitivity_context": {
                "pair": [a, b],
                "quantity": f"E[{a} - {b}] on {self.objective}",
                "base": self.sensitivity_base,
                "sobol_note": (
                    f"Sobol' indices on the {len(self.sobol)} inputs with the widest swings, the "
                    "others at their medians; inputs treated as independent"
                ),
            },
            "value_of_information": {
                "evpi": self.evpi,
                "groups": [dataclasses.asdict(v) for v in self.voi],
                "pilot_benchmark": self.pilot_benchmark(),
                "pilot": None if self.pilot is None else dataclasses.asdict(self.pilot),
            },
            "cost_over_time": self.cost_over_time,
            "distributions": self.distributions,
            "hindcast": [dataclasses.asdict(h) for h in self.hindcast],
            "decision_hindcast": self.decision_hindcast,
            "hindsight": self.hindsight,
            "throughput": self.throughput,
            "inputs": self.inputs,
            "notes": self.notes,
            "unsourced_inputs": self.unsourced,
        }
        cleaned: dict[str, Any] = _clean(out)
        return cleaned


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    return x


def memory_bytes(samples: int, n_inputs: int, n_options: int, horizon: int) -> int:
    """Rough peak memory of a run: the uniform matrix, per-option metrics and the analyses'
    copies, plus one block of (samples x months) arrays per option."""
    per_sample = 8 * (3 * n_inputs + n_options * (len(METRICS) + 6))
    block = 8 * BLOCK * horizon * 40
    return samples * per_sample + block


def check_size(samples: int, seed: int, sc: Scenario, n_inputs: int = 64) -> None:
    """Refuse runs that cannot finish on a workstation, up front, saying what they would take."""
    if seed < 0:
        raise ChipswitchError(f"--seed must be a non-negative integer (got {seed})")
    if samples < MIN_SAMPLES:
        raise ChipswitchError(f"--samples must be at least {MIN_SAMPLES} (got {samples})")
    h = sc.horizon
    need = memory_bytes(samples, n_inputs, len(sc.options), h)
    if samples > MAX_SAMPLES:
        raise ChipswitchError(
            f"--samples {samples:,} is above the limit of {MAX_SAMPLES:,} (it would need about "
            f"{need / 2**30:,.1f} GiB of memory); standard errors shrink as 1/sqrt(samples), so "
            "use --lhs or fewer samples"
        )
    if h > MAX_HORIZON_MONTHS:
        raise ChipswitchError(
            f"horizon_months: {h:,} is above the limit of {MAX_HORIZON_MONTHS} months (it "
            f"would need about {need / 2**30:,.1f} GiB of memory)"
        )


def run_decision(
    sc: Scenario,
    throughput: ThroughputTable,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    objective: str | None = None,
    catalog: Catalog | None = None,
    hindcast_file: Path | None = None,
    progress: Progress | None = None,
    lhs: bool = False,
    pair: tuple[str, str] | None = None,
) -> DecisionResult:
    """Monte Carlo of every option and the analyses on top (docs/decide.md; decision_research.md
    6.4-6.5). Every analysis is on `pair` (default the scenario's `compare`, else the winner
    and the runner-up).

    All randomness comes from `numpy.random.default_rng(seed)`: the same scenario, seed and
    throughput give byte-identical JSON.
    """
    check_size(samples, seed, sc)
    tick = progress or (lambda phase, frac: None)
    obj = objective or sc.objective
    if obj not in OBJECTIVE_UNIT:
        raise ChipswitchError(f"unknown objective '{obj}'; choose npv, risk, cost or compute")
    rng = np.random.default_rng(seed)
    cm = compile_scenario(sc, throughput, catalog)
    check_size(samples, seed, sc, len(cm.inputs))
    tick("Monte Carlo", 0.0)
    u = cm.uniforms(rng, samples, lhs=lhs)
    out = simulate(cm, u, paths=True)
    vals = objective_values(out, obj)
    sizes = analysis.Sizes.for_samples(samples)
    options = analysis.summarise_options(cm, out, obj, SUMMARY_METRICS)
    pairs = analysis.pairwise(out, obj)
    ranked = sorted(options, key=lambda o: (-rank_value(o, obj), o.id))
    the_pair = _choose_pair(sc, pair, (ranked[0].id, ranked[1].id))
    tick("tornado", 0.3)
    diff = analysis.Difference(cm, the_pair[0], the_pair[1], obj)
    base, tornado = analysis.tornado(diff, u, sizes.tornado)
    tick("break-even", 0.5)
    targets = analysis.break_even_targets(cm, *the_pair)
    break_even = [analysis.solve_break_even(diff, u, t, sizes.break_even) for t in targets]
    tick("Sobol' indices", 0.7)
    top = [cm.input(e.input) for e in tornado[: analysis.SOBOL_TOP] if e.swing > 0]
    sobol = analysis.sobol(diff, top, int(rng.integers(2**31)), sizes.sobol_base)
    tick("value of information", 0.85)
    ia, ib = (out.option_ids.index(x) for x in the_pair)
    pair_vals = vals[:, [ia, ib]]
    total_evpi, voi = analysis.value_of_information(cm, u, pair_vals, sizes.voi)
    pilot_pair = _pilot_pair(sc, the_pair)
    ja, jb = (out.option_ids.index(x) for x in pilot_pair)
    head = sizes.voi
    pilot = analysis.pilot_value(cm, u[:head], vals[:head, ja], vals[:head, jb], pilot_pair, rng)
    verdict = make_verdict(obj, options, pairs, tornado, break_even, the_pair, pilot)
    hc_path = hindcast_file or hindcast.hindcast_path(sc.name)
    hc = hindcast.load_hindcast(hc_path)
    ours = hc is not None and hc.scenario == sc.name
    hc_rows = hindcast.evaluate(cm, out, hc) if hc is not None and ours else []
    decided = (
        hindcast.decide_in_hindsight(cm, u, obj, hc, sizes.hindcast)
        if hc is not None and ours
        else {}
    )
    tick("done", 1.0)
    months = list(range(cm.horizon))
    cost_over_time: dict[str, dict[str, list[float]]] = {
        "month": {"index": [float(m) for m in months]},
    }
    for oid, p in out.paths.items():
        cost_over_time[oid] = {k: [float(x) for x in v] for k, v in p.items()}
    notes = list(cm.notes) + verdict.warnings
    if hc is not None and ours and (gone := hindcast.skipped_rows(cm, hc)):
        notes.append(f"hindcast rows without a matching input or option: {', '.join(gone)}")
    if sc.correlations:
        notes.append(
            "Sobol' indices ignore the correlations between inputs (SALib assumes independence)"
        )
    return DecisionResult(
        scenario=sc.name,
        title=sc.title,
        decision_date=sc.decision_date,
        horizon_months=cm.horizon,
        samples=samples,
        seed=seed,
        lhs=lhs,
        objective=obj,
        verdict=verdict,
        options=options,
        pairs=pairs,
        pair=the_pair,
        sensitivity_base=base,
        tornado=tornado,
        sobol=sobol,
        break_even=break_even,
        evpi=total_evpi,
        voi=voi,
        pilot=pilot,
        sizes=sizes,
        cost_over_time=cost_over_time,
        distributions=histograms(out, DISTRIBUTION_METRICS),
        hindcast=hc_rows,
        decision_hindcast=decided,
        hindsight=list(cm.hindsight),
        throughput=[row for plan in cm.chips.values() for row in _throughput_rows(cm, plan.key)],
        inputs=_inputs(cm),
        notes=notes,
        unsourced=unsourced(sc),
        ported=tuple(sorted({o.commitment.chip for o in sc.options if o.commitment is not None})),
    )


def _choose_pair(
    sc: Scenario, pair: tuple[str, str] | None, ranked: tuple[str, str]
) -> tuple[str, str]:
    chosen = pair or sc.compare or ranked
    ids = [o.id for o in sc.options]
    for name in chosen:
        if name not in ids:
            raise ChipswitchError(f"--pair: unknown option '{name}' (options: {', '.join(ids)})")
    if chosen[0] == chosen[1]:
        raise ChipswitchError("--pair: needs two different options")
    return (chosen[0], chosen[1])


def _pilot_pair(sc: Scenario, pair: tuple[str, str]) -> tuple[str, str]:
    if sc.pilot is not None and sc.pilot.choose_between is not None:
        return sc.pilot.choose_between
    return pair


def histograms(out: Outcome, metrics: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per metric: shared bin edges (0.5th to 99.5th percentile of all options) and counts per
    option, tails folded into the end bins."""
    res: dict[str, dict[str, Any]] = {}
    for m in metrics:
        x = out.metrics[m]
        lo, hi = (float(v) for v in np.percentile(x, [0.5, 99.5]))
        if hi <= lo:
            hi = lo + max(abs(lo), 1.0) * 1e-6
        edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
        counts = {
            oid: np.histogram(np.clip(x[:, j], lo, hi), bins=edges)[0].tolist()
            for j, oid in enumerate(out.option_ids)
        }
        res[m] = {"edges": [float(e) for e in edges], "counts": counts}
    return res


def _throughput_rows(cm: Compiled, key: str) -> list[dict[str, Any]]:
    plan = cm.chips[key]
    rows = []
    for r in plan.throughput:
        row = dict(r)
        row.update(
            hardware=key,
            price_usd_per_chip_hour_catalog=plan.catalog_price_usd_per_chip_hour,
            price_catalog_entry=plan.price_note,
            goodput=plan.goodput_note,
        )
        rows.append(row)
    return rows


def _inputs(cm: Compiled) -> list[dict[str, Any]]:
    rows = []
    for v in cm.inputs:
        if v.kind == "event":
            prior, basis = "event", f"probability: {cm.name_of.get(id(v.probability), '')}"
        else:
            assert v.quantity is not None
            prior, basis = v.quantity.value.describe(), v.quantity.basis
        rows.append(
            {"name": v.name, "group": v.group, "kind": v.kind, "prior": prior, "basis": basis}
        )
    return rows


# -- with the performance engine ---------------------------------------------------------------


def engine_throughput(
    sc: Scenario, catalog: Catalog, progress: Progress | None = None
) -> dict[tuple[str, str], ThroughputLike]:
    """The performance engine's best plan for every (roadmap model, hardware chip), once each."""
    try:
        from chipswitch.planning.throughput import estimate_throughput
    except ImportError as exc:  # the performance engine is a sibling module
        raise ChipswitchError(f"the performance engine is not available ({exc})") from None
    table: dict[tuple[str, str], ThroughputLike] = {}
    chips = []
    for key, choice in sc.hardware.items():
        try:
            chips.append(catalog.chip(choice.chip).id)
        except ChipswitchError as exc:
            raise CatalogFileError(sc.name, [f"hardware.{key}.chip: {exc}"]) from None
    calls = [(i, m, c) for i, m in enumerate(sc.roadmap.models) for c in dict.fromkeys(chips)]
    for i, m, chip in calls:
        try:
            model_id = catalog.model(m.model).id
        except ChipswitchError as exc:
            raise CatalogFileError(sc.name, [f"roadmap.models.{i}.model: {exc}"]) from None
        if progress is not None:
            progress(f"performance engine: {model_id} on {chip}", 0.0)
        est = estimate_throughput(
            model=model_id,
            chip=chip,
            n_chips=m.n_chips,
            global_batch=m.global_batch,
            seq_len=m.seq_len,
            precision=m.precision,
            catalog=catalog,
        )
        table[(m.model, chip)] = est
    return table


def decide(
    scenario: Scenario | str | Path | None = None,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    objective: str | None = None,
    catalog: Catalog | None = None,
    throughput: ThroughputTable | None = None,
    progress: Progress | None = None,
    lhs: bool = False,
    pair: tuple[str, str] | None = None,
    settings: Sequence[str] = (),
) -> DecisionResult:
    """The entry point: load the scenario (default: the seed `amazon-anthropic-2024`), apply
    `settings` (`KEY=VALUE`, as `--set`), get throughput from the performance engine on
    `catalog` (default: the shipped one) unless given, and run the decision analysis. Every
    chip lookup, price and throughput uses `catalog`."""
    hc_file = None
    origin = None
    if isinstance(scenario, Scenario):
        sc = scenario
        if settings:
            sc = parse_scenario(apply_settings(sc.model_dump(exclude_none=True), settings))
    else:
        path = scenario_path(scenario)
        raw = load_scenario_raw(path)
        sc = parse_scenario(apply_settings(raw, settings), str(path))
        hc_file = hindcast.hindcast_path(sc.name, path)
        origin = str(path)
    check_size(samples, seed, sc)
    cat = catalog if catalog is not None else load_catalog()
    try:
        table = throughput if throughput is not None else engine_throughput(sc, cat, progress)
        return run_decision(
            sc,
            table,
            samples=samples,
            seed=seed,
            objective=objective,
            catalog=cat,
            hindcast_file=hc_file,
            progress=progress,
            lhs=lhs,
            pair=pair,
        )
    except CatalogFileError as exc:
        if origin is None or exc.path != sc.name:
            raise
        raise CatalogFileError(origin, exc.problems) from None
