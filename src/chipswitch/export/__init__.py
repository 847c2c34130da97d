"""Write a plan as a training framework's own run configuration (`chipswitch export`).

One module per framework (`megatron`, `torchtitan`, `maxtext`, `neuronx_distributed`), each
with `export(job) -> ExportedConfig`; `common` holds the job, the checks every framework
shares and the errors. `export_plan` exports a given plan; `export_best` searches the job's
plans and exports the fastest, or says which faster plans the framework cannot express.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal

from chipswitch.catalog import Catalog
from chipswitch.errors import UnknownNameError
from chipswitch.export import maxtext, megatron, neuronx_distributed, torchtitan
from chipswitch.export.common import (
    CannotExpressError,
    ExportedConfig,
    ExportError,
    ExportJob,
    check_job,
)
from chipswitch.hardware.spec import Chip
from chipswitch.parallel.plan import Plan
from chipswitch.perf import memory
from chipswitch.perf.efficiency import Efficiency
from chipswitch.perf.software import load_software
from chipswitch.perf.workload import Workload
from chipswitch.planning.search import PlanResult, evaluate_plan, search

__all__ = [
    "FRAMEWORKS",
    "CannotExpressError",
    "ExportError",
    "ExportJob",
    "ExportedConfig",
    "Framework",
    "export_best",
    "export_plan",
]

Framework = Literal["megatron", "torchtitan", "maxtext", "neuronx-distributed"]
FRAMEWORKS: dict[str, Callable[[ExportJob], ExportedConfig]] = {
    megatron.FRAMEWORK: megatron.export,
    torchtitan.FRAMEWORK: torchtitan.export,
    maxtext.FRAMEWORK: maxtext.export,
    neuronx_distributed.FRAMEWORK: neuronx_distributed.export,
}
#: Plans of the search tried, fastest first, when the best one cannot be expressed.
CANDIDATES = 500
#: Relative step-time difference under which two plans are the same prediction (a tie).
TIE = 1e-6


def export_job(framework: str, job: ExportJob) -> ExportedConfig:
    """`job` in `framework`'s format; ExportError if the layout is wrong or inexpressible."""
    exporter = FRAMEWORKS.get(framework)
    if exporter is None:
        raise UnknownNameError("framework", framework, FRAMEWORKS)
    check_job(job)
    return exporter(job)


def export_plan(
    framework: str,
    workload: Workload,
    chip: Chip,
    plan: Plan,
    *,
    catalog: Catalog | None = None,
    eff: Efficiency | None = None,
) -> ExportedConfig:
    """A given plan on `plan.workers` chips, with a note when it does not fit in memory."""
    job = _job(workload, chip, plan.workers, plan)
    out = export_job(framework, job)
    b, sys = evaluate_plan(workload, chip, plan.workers, plan, catalog=catalog, eff=eff)
    need, usable = float(b.mem_total[0]), sys.hbm_bytes * memory.USABLE_FRACTION
    if need > usable:
        note = (
            f"the engine predicts {need / 1e9:.1f} GB per chip for this plan, more than the "
            f"{usable / 1e9:.1f} GB usable on {chip.id}: it will likely run out of memory"
        )
        return _with_note(out, note)
    return out


def export_best(
    framework: str,
    workload: Workload,
    chip: Chip,
    n_chips: int,
    *,
    catalog: Catalog | None = None,
    eff: Efficiency | None = None,
) -> tuple[ExportedConfig, PlanResult]:
    """The fastest plan for the job, exported. Plans the engine predicts equally fast (within
    `TIE`) are all "the best": the first that `framework` can express is exported, with a note.
    Otherwise the error names what is missing and the fastest plan among the next ones that
    the framework can express, and how much slower it is predicted to be."""
    result = search(workload, chip, n_chips, catalog=catalog, eff=eff, top=CANDIDATES)
    best = result.top[0]
    try:
        return export_job(framework, _job(workload, chip, n_chips, best.plan)), best
    except CannotExpressError as exc:
        if not exc.of_plan:
            raise
        first = exc
    for rank, cand in enumerate(result.top[1:], start=2):
        try:
            out = export_job(framework, _job(workload, chip, n_chips, cand.plan))
        except ExportError:
            continue
        slower = cand.step_time / best.step_time - 1
        if slower <= TIE:
            note = (
                f"plan #{rank} exported: the engine predicts it as fast as #1 "
                f"({best.plan.describe()}), which {framework} cannot express: "
                + "; ".join(first.missing)
            )
            return _with_note(out, note), cand
        first.args = (
            f"{first.args[0]}. The fastest plan {framework} can express is #{rank}, "
            f"'{cand.plan.describe()}' ({slower:.1%} slower): export it with --plan",
        )
        raise first
    first.args = (
        f"{first.args[0]}. Nor can it express any of the {len(result.top) - 1} next "
        "fastest plans; write one it can with --plan",
    )
    raise first


def _job(workload: Workload, chip: Chip, n_chips: int, plan: Plan) -> ExportJob:
    return ExportJob(
        model=workload.model,
        chip=chip,
        n_chips=n_chips,
        plan=plan,
        global_batch=workload.global_batch,
        seq_len=workload.seq_len,
        precision=workload.precision,
        ep_overlap=load_software().get(workload.software, chip.vendor).ep_overlap,
    )


def _with_note(out: ExportedConfig, note: str) -> ExportedConfig:
    return replace(out, notes=(*out.notes, note))
