"""The unit of work: one chunk of grid points in, one row per point out.

`run_chunk` is a pure function of picklable inputs, so the local executor calls it in-process
and the Ray executor ships it to any worker unchanged. Consecutive points that differ only in
tokens to train or price share one plan search.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chipswitch import units
from chipswitch.errors import ChipswitchError, InfeasibleError
from chipswitch.perf.workload import Workload
from chipswitch.planning.compare import check_precision, failure_inputs
from chipswitch.planning.cost import training_cost
from chipswitch.planning.search import SearchResult, search
from chipswitch.sweep.grid import Context, Point
from chipswitch.sweep.output import COMPUTED_SCHEMA, TIME_TERMS


@dataclass(frozen=True)
class Chunk:
    number: int
    points: tuple[Point, ...]


@dataclass(frozen=True)
class ChunkResult:
    number: int
    rows: list[dict[str, Any]]
    searches: int  # plan searches run (points sharing a search count once)
    plans: int  # plans evaluated by those searches
    seconds: float  # compute time inside the worker

    @property
    def points(self) -> int:
        return len(self.rows)


def make_chunks(points: Sequence[Point], chunk_size: int) -> list[Chunk]:
    """Consecutive points, at least `chunk_size` per chunk, never splitting a shared search."""
    chunks: list[Chunk] = []
    current: list[Point] = []
    for i, p in enumerate(points):
        current.append(p)
        last = i + 1 == len(points)
        if last or (len(current) >= chunk_size and points[i + 1].search_key != p.search_key):
            chunks.append(Chunk(len(chunks), tuple(current)))
            current = []
    return chunks


def run_chunk(chunk: Chunk, ctx: Context) -> ChunkResult:
    """Search each distinct point of `chunk` and cost every point; never raises for a point."""
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    searches = plans = 0
    last: tuple[tuple[Any, ...], SearchResult | str] | None = None
    for p in chunk.points:
        if last is None or last[0] != p.search_key:
            outcome = _search(p, ctx)
            if isinstance(outcome, SearchResult):
                plans += outcome.plans_evaluated
            searches += 1
            last = (p.search_key, outcome)
        rows.append(point_row(p, ctx, last[1]))
    return ChunkResult(chunk.number, rows, searches, plans, time.perf_counter() - t0)


def _search(p: Point, ctx: Context) -> SearchResult | str:
    """The search result, or 'infeasible: reason' / 'error: reason'."""
    w = Workload(ctx.models[p.model], p.global_batch, p.seq_len, p.precision)
    try:
        check_precision(ctx.chips[p.chip], p.precision)
        chip, eff = ctx.chips[p.chip], ctx.effs[p.chip]
        return search(w, chip, p.n_chips, peers=ctx.peers, eff=eff, top=1)
    except InfeasibleError as exc:
        return f"infeasible: {exc}"
    except (ValueError, ChipswitchError) as exc:  # e.g. a count past the search's maximum
        return f"error: {exc}"


def point_row(p: Point, ctx: Context, outcome: SearchResult | str) -> dict[str, Any]:
    """One output row (the computed columns) for point `p`."""
    chip = ctx.chips[p.chip]
    eff = ctx.effs[p.chip]
    row: dict[str, Any] = dict.fromkeys(COMPUTED_SCHEMA.names)
    row |= {
        "index": p.index,
        "key": p.key,
        "model": p.model,
        "chip": p.chip,
        "chip_base": ctx.bases[p.chip],
        "chips": p.n_chips,
        "global_batch": p.global_batch,
        "global_batch_tokens": p.global_batch * p.seq_len,
        "seq_len": p.seq_len,
        "precision": p.precision,
        "tokens_to_train": p.tokens,
        "hbm_bytes": chip.hbm_bytes,
        "calibration_level": eff.level,
        "calibration_name": eff.name,
    }
    if p.price is not None:
        row |= {
            "price_offering": p.price.offering,
            "price_type": p.price.price.type,
            "price_usd_per_chip_hour": p.price.price.usd_per_chip_hour,
            "price_date": p.price.price.date,
        }
    if isinstance(outcome, str):
        status, _, reason = outcome.partition(": ")
        return row | {"status": status, "reason": reason}
    best = outcome.best
    b, plan = best.breakdown, best.plan
    cost = training_cost(
        p.tokens,
        best.tokens_per_s_per_chip,
        best.interval,
        p.n_chips,
        chip,
        None if p.price is None else p.price.price,
        failures=failure_inputs(ctx.models[p.model], chip, ctx.failures),
        step_time_s=best.step_time,
    )
    a = cost.all_in
    row |= {
        "status": "ok",
        "plan": plan.describe(),
        "tp": plan.tp,
        "pp": plan.pp,
        "dp": plan.dp,
        "cp": plan.cp,
        "ep": plan.ep,
        "vp": plan.vp,
        "micro_batch": plan.micro_batch,
        "zero": plan.zero,
        "recompute": plan.recompute,
        "sequence_parallel": plan.sequence_parallel,
        "hsdp": plan.hsdp,
        "step_time_s": b["step_time"],
        "tokens_per_s_per_chip": b["tokens_per_s_per_chip"],
        "tokens_per_s_per_chip_lo": best.interval[0],
        "tokens_per_s_per_chip_hi": best.interval[1],
        "mfu": b["mfu"],
        "mfu_causal": b["mfu_causal"],
        "memory_bytes": b["mem_total"],
        "train_seconds": cost.seconds,
        "train_seconds_lo": cost.seconds_interval[0],
        "train_seconds_hi": cost.seconds_interval[1],
        "train_days": cost.seconds / units.DAY,
        "chip_hours": cost.chip_seconds / units.HOUR,
        "cost_usd": cost.usd,
        "cost_usd_lo": None if cost.usd_interval is None else cost.usd_interval[0],
        "cost_usd_hi": None if cost.usd_interval is None else cost.usd_interval[1],
        "energy_joules": cost.energy_joules,
        "energy_joules_lo": None if cost.energy_interval is None else cost.energy_interval[0],
        "energy_joules_hi": None if cost.energy_interval is None else cost.energy_interval[1],
        "goodput": None if cost.goodput is None else cost.goodput.goodput,
        "all_in_train_seconds": None if a is None else a.seconds,
        "all_in_train_seconds_lo": None if a is None else a.seconds_interval[0],
        "all_in_train_seconds_hi": None if a is None else a.seconds_interval[1],
        "all_in_chip_hours": None if a is None else a.chip_seconds / units.HOUR,
        "all_in_cost_usd": None if a is None else a.usd,
        "all_in_energy_joules": None if a is None else a.energy_joules,
        "plans_evaluated": outcome.plans_evaluated,
        "plans_feasible": outcome.plans_feasible,
    }
    row |= {f"time_{t}_s": b[t] for t in TIME_TERMS}
    return row
