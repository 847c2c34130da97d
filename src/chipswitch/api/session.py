"""`Session`: the one front door to chipswitch.

A session holds the catalog directories and the calibration; it is the only place either is
loaded (once, on first use). Every use case is one method returning one frozen result with one
`to_json()`, and the CLI and the HTTP API call these same methods:

    import chipswitch
    s = chipswitch.Session()
    r = s.search("llama3.1-8b", "h100-sxm", chips=64, global_batch=256, seq=8192)
    r.best.step_time_s, r.best.plan, r.to_json()

Heavy modules (the decision engine, sweeps, SciPy) are imported by the method that needs them,
so creating a session and listing the catalog stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from chipswitch.api.results import (
    ComparisonReport,
    DecisionReport,
    Estimate,
    PlanEstimate,
    PlanReport,
    SweepReport,
    ValidationResult,
)
from chipswitch.catalog import DATA_DIR, Catalog, load_catalog
from chipswitch.errors import ChipswitchError

if TYPE_CHECKING:
    from chipswitch.calibrate.profile import CalibrationProfile
    from chipswitch.decide.scenario import Scenario
    from chipswitch.export import ExportedConfig
    from chipswitch.hardware.spec import Chip, Price
    from chipswitch.model.shape import ModelShape
    from chipswitch.parallel.plan import Plan
    from chipswitch.perf.efficiency import CalibrationTable, Efficiency
    from chipswitch.perf.workload import Workload
    from chipswitch.planning.compare import FailureOptions, Stage
    from chipswitch.sweep.run import SweepRun

Precision = Literal["bf16", "fp8"]
#: The public validation set that ships with the package.
PUBLIC_CSV = DATA_DIR / "validation" / "public.csv"
PRECISIONS: tuple[Precision, ...] = ("bf16", "fp8")


def _parse_plan(text: str) -> Plan:
    from chipswitch.parallel.plan import parse_plan

    try:
        return parse_plan(text)
    except ValueError as exc:
        raise ChipswitchError(f"plan: {exc}") from None


def _precision(value: str) -> Precision:
    low = value.strip().lower()
    if low == "bf16":
        return "bf16"
    if low == "fp8":
        return "fp8"
    raise ChipswitchError(f"precision must be one of {', '.join(PRECISIONS)}, not '{value}'")


@dataclass(frozen=True)
class _Target:
    """The chip a request names, with the efficiency to use and how a profile was applied."""

    chip: Chip
    eff: Efficiency | None
    notes: tuple[str, ...]


class Session:
    """Catalog directories + calibration, loaded once; one method per use case.

    `catalog_dirs` are added after the shipped catalog and `$CHIPSWITCH_CATALOG` (later ones
    win by id). `calibration` is a profile from `chipswitch calibrate`: with it, `hardware`
    `"local"` means the profiled device, and the profiled chip's family takes the profile's
    efficiencies.
    """

    def __init__(
        self,
        catalog_dirs: Sequence[str | Path] = (),
        calibration: str | Path | None = None,
    ) -> None:
        self.catalog_dirs: tuple[Path, ...] = tuple(Path(d) for d in catalog_dirs)
        self.calibration_path: Path | None = None if calibration is None else Path(calibration)

    def __repr__(self) -> str:
        dirs = [str(d) for d in self.catalog_dirs]
        return f"Session(catalog_dirs={dirs!r}, calibration={self.calibration_path!s})"

    # -- what the session holds ----------------------------------------------------------------
    @cached_property
    def catalog(self) -> Catalog:
        """Shipped data, then `$CHIPSWITCH_CATALOG`, then `catalog_dirs`."""
        return load_catalog(self.catalog_dirs)

    @cached_property
    def calibration_table(self) -> CalibrationTable:
        """The fitted per-family efficiencies (`data/calibration.yaml`)."""
        from chipswitch.perf.efficiency import load_calibration

        return load_calibration()

    @cached_property
    def profile(self) -> CalibrationProfile | None:
        """The calibration profile, if the session has one."""
        if self.calibration_path is None:
            return None
        from chipswitch.calibrate.profile import load_profile

        return load_profile(self.calibration_path)

    def chip(self, chip_id: str) -> Chip:
        """A catalog chip by id or alias (an unknown name lists the closest ones)."""
        return self.catalog.chip(chip_id)

    def model(self, model_id: str) -> ModelShape:
        """A catalog model shape by id."""
        return self.catalog.model(model_id)

    def workload(
        self,
        model: str,
        *,
        global_batch: int,
        seq: int,
        precision: str = "bf16",
        software: str | None = None,
    ) -> Workload:
        """A training job: model, global batch (sequences), sequence length, GEMM precision and
        training stack (data/software.yaml; None: the chip vendor's reference stack)."""
        from chipswitch.perf.workload import Workload

        for name, value in (("global_batch", global_batch), ("seq", seq)):
            if value < 1:
                raise ChipswitchError(f"{name} must be at least 1, not {value}")
        return Workload(self.model(model), global_batch, seq, _precision(precision), software)

    def _target(self, hardware: str) -> _Target:
        profile = self.profile
        if profile is None:
            return _Target(self.chip(hardware), None, ())
        from chipswitch.calibrate.apply import calibrated_chip

        chip, eff, notes = calibrated_chip(profile, self.catalog, hardware, self.calibration_table)
        return _Target(chip, eff, tuple(notes))

    def price(self, chip: str | Chip, offering: str) -> Price:
        """`OFFERING[:TYPE]`'s newest published price (default on-demand) for `chip`."""
        from chipswitch.planning.compare import resolve_price

        c = self.chip(chip) if isinstance(chip, str) else chip
        return resolve_price(self.catalog, c, offering)

    # -- the performance engine ----------------------------------------------------------------
    def plan_grid_size(
        self, model: str, hardware: str, *, chips: int, global_batch: int, seq: int
    ) -> int:
        """Candidate plans a search of this job builds (an upper bound on those it evaluates),
        computed without evaluating any: what a server checks before accepting a request."""
        from chipswitch.planning.search import plan_grid_size

        w = self.workload(model, global_batch=global_batch, seq=seq)
        return plan_grid_size(w, self._target(hardware).chip, chips, catalog=self.catalog)

    def estimate(
        self,
        model: str,
        hardware: str,
        plan: Plan | str,
        *,
        chips: int,
        global_batch: int,
        seq: int,
        precision: str = "bf16",
    ) -> Estimate:
        """Step time, throughput, MFU and memory of one given plan (no search).

        `plan` is a `Plan` or its text form, e.g. `"TP8 PP2 DP4 mb1 ZeRO-1 recompute=selective"`.
        """
        from chipswitch.parallel.plan import Plan as PlanType
        from chipswitch.planning.search import PlanResult, evaluate_plan

        w = self.workload(model, global_batch=global_batch, seq=seq, precision=precision)
        t = self._target(hardware)
        p = plan if isinstance(plan, PlanType) else _parse_plan(plan)
        b, system = evaluate_plan(w, t.chip, chips, p, catalog=self.catalog, eff=t.eff)
        from chipswitch.perf.efficiency import interval

        row = b.row(0)
        iv = interval(row["tokens_per_s_per_chip"], system.eff, len(system.assumptions))
        return Estimate(w, t.chip, chips, system, PlanEstimate.of(PlanResult(p, row, iv)))

    def search(
        self,
        model: str,
        hardware: str,
        *,
        chips: int,
        global_batch: int,
        seq: int,
        precision: str = "bf16",
        top: int = 5,
    ) -> PlanReport:
        """Every valid parallel plan evaluated; the `top` fastest that fit in memory."""
        return self.plan_training(
            model,
            hardware,
            chips=chips,
            global_batch=global_batch,
            seq=seq,
            precision=precision,
            top=top,
        )

    def plan_training(
        self,
        model: str,
        hardware: str,
        *,
        chips: int,
        global_batch: int,
        seq: int,
        precision: str = "bf16",
        tokens: float | None = None,
        price: str | None = None,
        top: int = 5,
        pareto: bool = True,
        failures: FailureOptions | None = None,
        stages: Sequence[Stage] = (),
        software: str | None = None,
        power_limit: float | None = None,
    ) -> PlanReport:
        """`search`, and with `tokens` the days, USD and energy to train them, ideal and all-in
        (failures, restarts, lost work and checkpoints; docs/goodput.md), plus the
        time-vs-cost front over 1/4x-4x the chips. `price` is `OFFERING[:TYPE]`; `failures`
        overrides the failure model's defaults; `stages` are trained after the first;
        `software` names the training stack, `power_limit` caps each chip (watts)."""
        from chipswitch.planning.compare import plan_training, resolve_price

        if chips < 1:
            raise ChipswitchError(f"chips must be at least 1, not {chips}")
        w = self.workload(
            model, global_batch=global_batch, seq=seq, precision=precision, software=software
        )
        t = self._target(hardware)
        if power_limit is not None:  # the chips run capped: lower sustained clocks
            if power_limit <= 0:
                raise ChipswitchError(f"power_limit must be positive watts, not {power_limit}")
            t = replace(t, chip=replace(t.chip, power_limit_watts=power_limit))
        pr = resolve_price(self.catalog, t.chip, price) if price else None
        out = plan_training(
            w, t.chip, chips, catalog=self.catalog, tokens=tokens, price=pr, top=top,
            pareto_front=pareto, eff=t.eff, failures=failures, stages=stages,
        )  # fmt: skip
        return PlanReport(out.result, out.cost, tuple(out.front), t.notes, tuple(out.stages))

    def export(
        self,
        framework: str,
        model: str,
        hardware: str,
        *,
        global_batch: int,
        seq: int,
        precision: str = "bf16",
        chips: int | None = None,
        plan: Plan | str | None = None,
    ) -> ExportedConfig:
        """The job's best plan, or `plan`, as `framework`'s own run configuration (megatron,
        torchtitan, maxtext, neuronx-distributed). A plan the framework cannot express is a
        `CannotExpressError` naming what it lacks (and, for the best plan, the fastest one it
        can express); a given plan's chip count is its TP x PP x DP x CP."""
        from chipswitch.export import export_best, export_plan
        from chipswitch.parallel.plan import Plan as PlanType

        w = self.workload(model, global_batch=global_batch, seq=seq, precision=precision)
        t = self._target(hardware)
        if plan is not None:
            p = plan if isinstance(plan, PlanType) else _parse_plan(plan)
            if chips is not None and chips != p.workers:
                raise ChipswitchError(
                    f"chips {chips} but the plan uses TP x PP x DP x CP = {p.workers} chips"
                )
            return export_plan(framework, w, t.chip, p, catalog=self.catalog, eff=t.eff)
        if chips is None:
            raise ChipswitchError("chips: give the chip count to search for the best plan")
        if chips < 1:
            raise ChipswitchError(f"chips must be at least 1, not {chips}")
        return export_best(framework, w, t.chip, chips, catalog=self.catalog, eff=t.eff)[0]

    def compare(
        self,
        model: str,
        hardware: Sequence[str] | None = None,
        *,
        chips: int,
        global_batch: int,
        seq: int,
        tokens: float,
        precision: str = "bf16",
        price_type: str = "on_demand",
    ) -> ComparisonReport:
        """The same job on `chips` of each chip in `hardware` (default: every catalog chip),
        priced at each chip's cheapest offering of `price_type`. With a calibration profile,
        the profiled chip's family takes the profile's efficiencies (as in `validate`)."""
        from chipswitch.planning.compare import check_price_type, compare

        check_price_type(price_type.strip().lstrip(":"))
        price_type = price_type.strip().lstrip(":")
        if hardware is not None and not hardware:
            raise ChipswitchError("hardware: give at least one chip id, or none for all chips")
        w = self.workload(model, global_batch=global_batch, seq=seq, precision=precision)
        cat = self.catalog
        targets = (
            [cat.chip(h) for h in hardware]
            if hardware is not None
            else sorted(cat.chips.values(), key=lambda c: (c.vendor, c.id))
        )
        table = None
        if self.profile is not None:
            from chipswitch.calibrate.apply import table_with_profile

            table = table_with_profile(self.profile, cat, self.calibration_table)[0]
        res = compare(w, targets, chips, tokens, catalog=cat, price_type=price_type, table=table)
        return ComparisonReport(res)

    # -- grounding -------------------------------------------------------------------------------
    def validate(self, csv: str | Path | None = None) -> ValidationResult:
        """Predict each usable row of a measured-runs CSV (default: the bundled public set)
        with its own parallel layout; errors per row, per chip and per source."""
        from chipswitch.validation.validate import read_rows, validate_rows

        path = PUBLIC_CSV if csv is None else Path(csv)
        table, notes = self.calibration_table, tuple[str, ...]()
        if self.profile is not None:
            from chipswitch.calibrate.apply import table_with_profile

            table, _, found = table_with_profile(self.profile, self.catalog, table)
            notes = tuple(found)
        rep = validate_rows(read_rows(path), self.catalog, table)
        if not rep.results:
            reasons = "; ".join(f"{rid}: {why}" for rid, why in rep.skipped[:3])
            more = f"; and {len(rep.skipped) - 3} more" if len(rep.skipped) > 3 else ""
            raise ChipswitchError(
                f"{path}: no row could be modelled ({len(rep.skipped)} skipped: {reasons}{more})"
                if rep.skipped
                else f"{path}: the file has a header but no rows"
            )
        return ValidationResult(rep, notes)

    # -- the decision engine ---------------------------------------------------------------------
    def decide(
        self,
        scenario: Scenario | str | Path | Mapping[str, Any] | None = None,
        *,
        samples: int | None = None,
        seed: int | None = None,
        objective: str | None = None,
        progress: Callable[[str, float], None] | None = None,
        lhs: bool = False,
        pair: tuple[str, str] | None = None,
        settings: Sequence[str] = (),
    ) -> DecisionReport:
        """The decision analysis of a scenario: a shipped name, a YAML path, a parsed
        `Scenario` or its mapping (default: the seed `amazon-anthropic-2024`), with this
        session's catalog for every chip; `lhs`, `pair` and `settings` (`KEY=VALUE`
        overrides) as `chipswitch decide --lhs --pair --set`."""
        from chipswitch.decide import engine
        from chipswitch.decide.scenario import apply_settings, parse_scenario

        if isinstance(scenario, Mapping):
            scenario = parse_scenario(apply_settings(dict(scenario), settings), "scenario")
            settings = ()
        kwargs: dict[str, Any] = {
            "objective": objective,
            "catalog": self.catalog,
            "lhs": lhs,
            "pair": pair,
            "settings": settings,
        }
        if samples is not None:
            kwargs["samples"] = samples
        if seed is not None:
            kwargs["seed"] = seed
        if progress is not None:
            kwargs["progress"] = progress
        return DecisionReport(engine.decide(scenario, **kwargs))

    # -- design-space sweeps ---------------------------------------------------------------------
    def sweep(
        self,
        file: str | Path,
        out: str | Path | None = None,
        *,
        executor: str = "local",
        address: str | None = None,
        num_cpus: int | None = None,
        resume: bool = False,
        csv: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[SweepRun, Any], None] | None = None,
        allow_large: bool = False,
    ) -> SweepReport:
        """Run a sweep file (docs/sweep.md): a plan search at every grid point, one row per
        point written to `out` (Parquet; default: the file's name with `.parquet`). A grid
        over the confirmation size is refused unless `allow_large`."""
        from chipswitch.sweep.executors import make_executor
        from chipswitch.sweep.grid import load_sweep_file, resolve
        from chipswitch.sweep.output import check_writable
        from chipswitch.sweep.run import DEFAULT_CHUNK_SIZE, check_size, run_sweep

        path = Path(file)
        table = None
        if self.profile is not None:
            from chipswitch.calibrate.apply import table_with_profile

            table = table_with_profile(self.profile, self.catalog, self.calibration_table)[0]
        sw = resolve(load_sweep_file(path), self.catalog, path, table=table)
        target = Path(out) if out is not None else Path(path.with_suffix(".parquet").name)
        if target.suffix.lower() == ".csv":
            raise ChipswitchError("out names the Parquet file; add csv=True for a CSV beside it")
        check_size(sw, allow_large=allow_large)
        check_writable(target)
        ex = make_executor(executor, address, num_cpus)  # type: ignore[arg-type]
        with ex:
            run = run_sweep(
                sw,
                target,
                ex,
                resume=resume,
                chunk_size=chunk_size or DEFAULT_CHUNK_SIZE,
                csv=csv,
                on_progress=on_progress,
                allow_large=allow_large,
            )
        return SweepReport(
            name=sw.name,
            file=str(sw.path),
            objective=sw.objective,
            constraints=sw.constraints.model_dump(),
            run=run,
        )
