"""The typed results a `Session` returns: frozen, with plain attributes and one `to_json()`.

`to_json()` is the JSON document of the matching CLI command's `--json` and HTTP endpoint
(SI units; non-finite numbers become null), so a script, the terminal and the dashboard read the
same fields. The engine's own objects stay reachable (`.search`, `.report`) for callers that
need every term.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chipswitch.api import presenters

if TYPE_CHECKING:
    from chipswitch.decide.engine import DecisionResult
    from chipswitch.hardware.spec import Chip
    from chipswitch.parallel.plan import Plan
    from chipswitch.perf.system import System
    from chipswitch.perf.workload import Workload
    from chipswitch.planning.compare import Comparison, StageOutcome
    from chipswitch.planning.cost import TrainingCost
    from chipswitch.planning.search import ParetoPoint, PlanResult, SearchResult
    from chipswitch.sweep.run import SweepRun
    from chipswitch.validation.validate import ValidationReport


@dataclass(frozen=True)
class PlanEstimate:
    """One parallel plan evaluated: step time, throughput (80% interval), MFU, memory, terms."""

    plan: Plan
    step_time_s: float
    tokens_per_s_per_chip: float
    tokens_per_s_per_chip_interval: tuple[float, float]
    mfu: float
    memory_bytes: float
    breakdown: Mapping[str, float]

    @classmethod
    def of(cls, r: PlanResult) -> PlanEstimate:
        b = r.breakdown
        return cls(
            plan=r.plan,
            step_time_s=b["step_time"],
            tokens_per_s_per_chip=b["tokens_per_s_per_chip"],
            tokens_per_s_per_chip_interval=r.interval,
            mfu=b["mfu"],
            memory_bytes=b["mem_total"],
            breakdown=dict(b),
        )

    @property
    def description(self) -> str:
        """The plan in one line, e.g. `TP8 PP1 DP8 mb1 ZeRO-1 recompute=selective`."""
        return self.plan.describe()

    def to_json(self) -> dict[str, Any]:
        from chipswitch.planning.search import PlanResult

        r = PlanResult(self.plan, dict(self.breakdown), self.tokens_per_s_per_chip_interval)
        return presenters.json_object(presenters.plan_json(r))


@dataclass(frozen=True)
class Estimate:
    """One given plan on a cluster (`Session.estimate`): no search."""

    workload: Workload
    chip: Chip
    n_chips: int
    system: System
    result: PlanEstimate

    def to_json(self) -> dict[str, Any]:
        w = self.workload
        return presenters.json_object(
            {
                "model": w.model.id,
                "hardware": self.chip.id,
                "chips": self.n_chips,
                "global_batch": w.global_batch,
                "seq_len": w.seq_len,
                "precision": w.precision,
                "calibration": {"level": self.system.eff.level, "name": self.system.eff.name},
                "assumptions": list(self.system.assumptions),
                "flop_convention": presenters.FLOP_CONVENTION,
                "plan": self.result.to_json(),
            }
        )


@dataclass(frozen=True)
class PlanReport:
    """The best plans for a job on one chip count (`Session.search`, `Session.plan_training`);
    with a token budget, the time, cost and energy to train and the time-vs-cost front."""

    search: SearchResult
    training: TrainingCost | None = None
    pareto: tuple[ParetoPoint, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. how a calibration profile was applied
    stages: tuple[StageOutcome, ...] = ()  # with further stages: each stage's plan and cost

    @property
    def best(self) -> PlanEstimate:
        return PlanEstimate.of(self.search.best)

    @property
    def top(self) -> list[PlanEstimate]:
        return [PlanEstimate.of(r) for r in self.search.top]

    @property
    def plans_evaluated(self) -> int:
        return self.search.plans_evaluated

    def to_json(self) -> dict[str, Any]:
        body = presenters.plan_report(self.search, self.training, list(self.pareto), self.stages)
        body["notes"] = list(self.notes)
        return presenters.json_object(body)


@dataclass(frozen=True)
class ComparisonReport:
    """One job on each of several chips, each priced at its cheapest offering."""

    comparison: Comparison

    @property
    def rows(self) -> list[Any]:
        return list(self.comparison.rows)

    def to_json(self) -> dict[str, Any]:
        return presenters.json_object(presenters.comparison_report(self.comparison))


@dataclass(frozen=True)
class ValidationResult:
    """Published runs predicted with their own layouts: per-row errors and summaries."""

    report: ValidationReport
    notes: tuple[str, ...] = ()

    @property
    def summary(self) -> dict[str, Any]:
        return self.report.summary()

    def to_json(self) -> dict[str, Any]:
        rep = self.report
        return presenters.json_object(
            {
                "rows": [r.as_dict() for r in rep.results],
                "skipped": [{"id": i, "reason": why} for i, why in rep.skipped],
                "summary": rep.summary(),
                "notes": list(self.notes),
            }
        )


@dataclass(frozen=True)
class DecisionReport:
    """A decision analysis (`Session.decide`): verdict, options, pairs, sensitivity, hindcast."""

    result: DecisionResult
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return presenters.json_object(self.result.to_dict())


@dataclass(frozen=True)
class SweepReport:
    """A finished (or resumed) sweep: counts, speed and the files written."""

    name: str
    file: str
    objective: str
    constraints: dict[str, Any]
    run: SweepRun

    def to_json(self) -> dict[str, Any]:
        from chipswitch.sweep.output import OBJECTIVE_COLUMN  # pyarrow: only with a sweep

        run = self.run
        return presenters.json_object(
            {
                "sweep": self.name,
                "file": self.file,
                "executor": run.executor,
                "workers": run.workers,
                "points_total": run.points_total,
                "points_reused": run.points_reused,
                "points_computed": run.points_computed,
                "points_written": run.points_written,
                "complete": run.complete,
                "status_counts": run.status_counts,
                "chunks": run.chunks,
                "searches": run.searches,
                "plans_evaluated": run.plans_evaluated,
                "seconds": run.seconds,
                "points_per_second": run.points_per_second,
                "plans_per_second": run.plans_per_second,
                "files": [str(f) for f in run.files],
                "objective": self.objective,
                "objective_column": OBJECTIVE_COLUMN[self.objective],
                "constraints": self.constraints,
            }
        )
