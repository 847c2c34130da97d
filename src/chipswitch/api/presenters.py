"""JSON-ready views of the engine's results, shared by `chipswitch ... --json` and the HTTP API.

Every builder returns plain dicts in SI units (seconds, bytes, FLOP/s, joules, USD), so the CLI
and the web API print the same fields with the same numbers for the same inputs. Formatting
for people (tables, charts) happens in the shells, not here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from chipswitch import units
from chipswitch._yaml import load_model
from chipswitch.catalog.files import ChipFile
from chipswitch.model.params import count_params

if TYPE_CHECKING:
    from chipswitch.catalog import Catalog
    from chipswitch.hardware.spec import Chip, Offering, Price
    from chipswitch.model.shape import ModelShape
    from chipswitch.planning.compare import ChipOutcome, Comparison, StageOutcome
    from chipswitch.planning.cost import AllIn, TrainingCost
    from chipswitch.planning.goodput import GoodputResult
    from chipswitch.planning.search import ParetoPoint, PlanResult, SearchResult

#: (breakdown key, label) of every step-time term, in the order a step spends it.
BREAKDOWN_TIME = (
    ("compute_matmul", "matmul"),
    ("compute_attention", "attention"),
    ("compute_memory_bound", "memory-bound ops"),
    ("compute_head", "LM head + loss"),
    ("recompute", "recomputation"),
    ("layer_overhead", "per-layer overhead"),
    ("host_exposed", "host launch (exposed)"),
    ("spec_cap", "spec-based cap"),
    ("overlap_slowdown", "compute slowed by hidden comm"),
    ("tp_exposed", "TP/SP comm (exposed)"),
    ("ep_exposed", "EP all-to-all (exposed)"),
    ("cp_exposed", "CP ring (exposed)"),
    ("pp_total", "PP send/recv"),
    ("bubble", "pipeline bubble"),
    ("dp_exposed", "DP/ZeRO comm (exposed)"),
    ("optimizer", "optimizer step"),
)
#: (breakdown key, label) of every memory category per chip.
BREAKDOWN_MEMORY = (
    ("mem_weights", "weights"),
    ("mem_gradients", "gradients"),
    ("mem_optimizer", "optimizer states"),
    ("mem_activations", "activations (in flight)"),
    ("mem_logits", "logits"),
    ("mem_buffers", "buffers + framework"),
)
FLOP_CONVENTION = (
    "mfu: 6N + 12*L*H*Q*T per token (PaLM, non-causal); mfu_causal: "
    "attention term halved; N = matmul parameters per token incl. LM head; against the "
    "dense peak of the GEMM precision; recomputation not counted"
)
ENERGY_NOTE = "accelerators at TDP for the whole run; host, network and cooling excluded"
PARETO_NOTE = (
    "best plan at 1/4x to 4x the chips, kept where no other count is both faster and cheaper on "
    "the all-in figures (all_in_seconds, all_in_cost_usd, or all-in chip-hours without a price: "
    "failures, restarts and checkpoints counted at each count with the failure model of "
    "training.all_in); seconds and cost_usd are the ideal figures of the same plans"
)
ALL_IN_NOTE = (
    "ideal figure divided by goodput: interruptions at the chip family's failure rate, a "
    "restart and the work since the last checkpoint lost per interruption, blocking checkpoint "
    "writes every checkpoint_interval_s (Daly 2006); 80% interval joins the step-time and "
    "failure-model intervals"
)


def plan_json(r: PlanResult) -> dict[str, Any]:
    """One plan: its layout, step time, throughput with its 80% interval, MFU, memory, terms."""
    b = r.breakdown
    return {
        "plan": {**r.plan.__dict__},
        "description": r.plan.describe(),
        "step_time_s": b["step_time"],
        "tokens_per_s": b["tokens_per_s"],
        "tokens_per_s_per_chip": b["tokens_per_s_per_chip"],
        "tokens_per_s_per_chip_interval": list(r.interval),
        "mfu": b["mfu"],
        "mfu_causal": b["mfu_causal"],
        "micro_batches": b["micro_batches"],
        "memory_bytes": {k: b[k] for k, _ in BREAKDOWN_MEMORY} | {"total": b["mem_total"]},
        "time_s": {k: b[k] for k, _ in BREAKDOWN_TIME}
        | {k: b[k] for k in ("tp_total", "dp_total", "cp_total", "ep_total")},
    }


def cost_json(c: TrainingCost) -> dict[str, Any]:
    """Time, money and energy to train `c.tokens` tokens (days and kWh beside the SI values)."""
    return {
        "tokens": c.tokens,
        "seconds": c.seconds,
        "seconds_interval": list(c.seconds_interval),
        "days": c.seconds / units.DAY,
        "chip_hours": c.chip_seconds / units.HOUR,
        "cost_usd": c.usd,
        "cost_usd_interval": list(c.usd_interval) if c.usd_interval else None,
        "price": None
        if c.price is None
        else {
            "type": c.price.type,
            "usd_per_chip_hour": c.price.usd_per_chip_hour,
            "date": c.price.date,
            "region": c.price.region,
            "sources": list(c.price.sources),
        },
        "energy_joules": c.energy_joules,
        "energy_kwh": None if c.energy_joules is None else c.energy_joules / units.KWH,
        "energy_note": ENERGY_NOTE,
        "goodput": None if c.goodput is None else c.goodput.goodput,
        "all_in": None
        if c.all_in is None or c.goodput is None
        else all_in_json(c.all_in, c.goodput),
    }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _finite_pair(lo_hi: tuple[float, float] | None, scale: float = 1.0) -> list[float | None]:
    return [] if lo_hi is None else [_finite(lo_hi[0] / scale), _finite(lo_hi[1] / scale)]


def goodput_json(g: GoodputResult) -> dict[str, Any]:
    """The failure model behind an all-in figure: goodput, interruptions, checkpoints, split."""
    from chipswitch.planning.goodput import PER_1000_CHIP_DAYS

    rel = g.reliability
    return {
        "goodput": g.goodput,
        "goodput_interval": list(g.goodput_interval),
        "interruptions": _finite(g.interruptions),
        "interruptions_interval": _finite_pair(g.interruptions_interval),
        "mtbf_s": _finite(g.mtbf_s),
        "checkpoint_interval_s": _finite(g.checkpoint_interval_s),
        "checkpoint_interval_rule": "given" if g.checkpoint_interval_given else "daly2006",
        "checkpoint_write_s": g.checkpoint_write_s,
        "checkpoints": g.checkpoints,
        "checkpoint_bytes": g.state_bytes,
        "storage_bandwidth": g.storage_bandwidth,
        "restart_s": g.restart_s,
        "split_s": {k: _finite(v) for k, v in g.split_s.items()},
        "reliability": {
            "family": rel.family,
            "failures_per_1000_chip_days": rel.failures_per_1000_chip_days,
            "failures_per_1000_chip_days_interval": [
                x * PER_1000_CHIP_DAYS for x in rel.failures_interval
            ],
            "restart_s_interval": list(rel.restart_interval),
            "prior": rel.prior,
            "sources": list(rel.sources),
            "derivation": rel.derivation,
        },
        "assumptions": list(g.assumptions),
    }


def all_in_json(a: AllIn, g: GoodputResult) -> dict[str, Any]:
    """`training.all_in`: the run with failures counted, beside the ideal figures."""
    return {
        "seconds": _finite(a.seconds),
        "seconds_interval": _finite_pair(a.seconds_interval),
        "days": _finite(a.seconds / units.DAY),
        "days_interval": _finite_pair(a.seconds_interval, units.DAY),
        "chip_hours": _finite(a.chip_seconds / units.HOUR),
        "chip_hours_interval": _finite_pair(
            (a.seconds_interval[0] * g.chips, a.seconds_interval[1] * g.chips), units.HOUR
        ),
        "cost_usd": None if a.usd is None else _finite(a.usd),
        "cost_usd_interval": _finite_pair(a.usd_interval) if a.usd_interval else None,
        "energy_kwh": None if a.energy_joules is None else _finite(a.energy_joules / units.KWH),
        "note": ALL_IN_NOTE,
        "failure_model": goodput_json(g),
    }


def pareto_json(front: list[ParetoPoint]) -> list[dict[str, Any]]:
    """The front's points: ideal `seconds` and `cost_usd`, and the all-in figures it is built
    on (`PARETO_NOTE`)."""
    return [
        {
            "chips": p.n_chips,
            "seconds": p.train_seconds,
            "cost_usd": p.cost_usd,
            "all_in_seconds": p.all_in_seconds,
            "all_in_cost_usd": p.all_in_cost_usd,
            "goodput": p.goodput,
            "plan": p.result.best.plan.describe(),
        }
        for p in front
    ]


def stage_json(s: StageOutcome) -> dict[str, Any]:
    """One stage of a staged run: its shape, best plan and cost (ideal and all-in)."""
    b = s.result.best
    return {
        "tokens": s.stage.tokens,
        "seq_len": s.stage.seq_len,
        "global_batch": s.stage.global_batch,
        "plan": b.plan.describe(),
        "step_time_s": b.step_time,
        "tokens_per_s_per_chip": b.tokens_per_s_per_chip,
        "training": cost_json(s.cost),
    }


def plan_report(
    result: SearchResult,
    cost: TrainingCost | None,
    front: list[ParetoPoint] | None,
    stages: Sequence[StageOutcome] = (),
) -> dict[str, Any]:
    """The `chipswitch plan --json` document: the search, its best plans, cost and front.

    With stages, `training` is the whole run and `training.stages` each stage."""
    from chipswitch.perf.software import load_software

    w = result.workload
    training = cost_json(cost) if cost else None
    if training is not None and stages:
        training["stages"] = [stage_json(s) for s in stages]
    return {
        "model": w.model.id,
        "hardware": result.chip.id,
        "chips": result.n_chips,
        "global_batch": w.global_batch,
        "seq_len": w.seq_len,
        "precision": w.precision,
        "software": load_software().get(w.software, result.chip.vendor).name,
        "plans_evaluated": result.plans_evaluated,
        "plans_feasible": result.plans_feasible,
        "seconds": result.seconds,
        "calibration": {"level": result.system.eff.level, "name": result.system.eff.name},
        "assumptions": list(result.system.assumptions),
        "warnings": result.warnings,
        "flop_convention": FLOP_CONVENTION,
        "best": plan_json(result.best),
        "top": [plan_json(p) for p in result.top],
        "training": training,
        "pareto": pareto_json(front or []),
        "pareto_note": PARETO_NOTE,
    }


def _interval(lo_hi: tuple[float, float] | None, scale: float) -> list[float] | None:
    return None if lo_hi is None else [lo_hi[0] / scale, lo_hi[1] / scale]


def outcome_json(o: ChipOutcome) -> dict[str, Any]:
    """One chip of a comparison: best plan, throughput, and days, USD and energy to train."""
    chip = o.chip
    row: dict[str, Any] = {
        "hardware": chip.id,
        "name": chip.name,
        "vendor": chip.vendor,
        "feasible": o.result is not None,
        "reason": o.reason,
        "offering": o.offering,
    }
    if o.result is None or o.cost is None:
        return row
    best, c = o.result.best, o.cost
    row |= {
        "plan": best.plan.describe(),
        "step_time_s": best.step_time,
        "tokens_per_s_per_chip": best.tokens_per_s_per_chip,
        "tokens_per_s_per_chip_interval": list(best.interval),
        "mfu": best.breakdown["mfu"],
        "mfu_causal": best.breakdown["mfu_causal"],
        "memory_bytes": best.memory_bytes,
        "calibration": {"level": o.result.system.eff.level, "name": o.result.system.eff.name},
        "assumptions": list(o.result.system.assumptions),
        "days": c.seconds / units.DAY,
        "days_interval": _interval(c.seconds_interval, units.DAY),
        "cost_usd": c.usd,
        "cost_usd_interval": list(c.usd_interval) if c.usd_interval else None,
        "energy_kwh": None if c.energy_joules is None else c.energy_joules / units.KWH,
        "energy_kwh_interval": _interval(c.energy_interval, units.KWH),
        "goodput": None if c.goodput is None else c.goodput.goodput,
        "all_in_days": None if c.all_in is None else _finite(c.all_in.seconds / units.DAY),
        "all_in_chip_hours": None
        if c.all_in is None
        else _finite(c.all_in.chip_seconds / units.HOUR),
        "all_in_cost_usd": None if c.all_in is None or c.all_in.usd is None else c.all_in.usd,
        "training": cost_json(c),
    }
    return row


def comparison_report(cmp: Comparison) -> dict[str, Any]:
    """The `chipswitch compare --json` document: one row per chip, fastest first."""
    w = cmp.workload
    return {
        "model": w.model.id,
        "chips": cmp.n_chips,
        "global_batch": w.global_batch,
        "seq_len": w.seq_len,
        "precision": w.precision,
        "tokens": cmp.tokens,
        "price_type": cmp.price_type,
        "interval": "80% interval from the calibration's error spread on tokens/s per chip",
        "price_rule": (
            "per chip, the cheapest of its offerings' newest published prices of price_type"
        ),
        "energy_note": ENERGY_NOTE,
        "flop_convention": FLOP_CONVENTION,
        "rows": [outcome_json(o) for o in cmp.rows],
    }


# -- JSON ---------------------------------------------------------------------------------------
def jsonable(obj: Any) -> Any:
    """Plain JSON types: numbers as int/float (non-finite -> null), tuples as lists.

    Floats keep 15 significant digits, which drops the binary noise of unit conversion.
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        # 15 significant digits drop binary noise (66.9 * 1e12 -> 6.69e13, not ...0.01).
        return float(f"{obj:.15g}") if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, BaseModel):
        return jsonable(obj.model_dump(mode="json"))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, Sequence | set | frozenset):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        return jsonable(obj.item())
    if hasattr(obj, "tolist"):  # numpy arrays
        return jsonable(obj.tolist())
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def json_object(obj: Any) -> dict[str, Any]:
    """`jsonable` of something that is a JSON object (a result's `to_json()`)."""
    out = jsonable(obj)
    if not isinstance(out, dict):
        raise TypeError(f"expected a JSON object, got {type(out).__name__}")
    return out


# -- catalog records (the JSON contract of the catalog commands and endpoints) -------------------
def chip_record(chip: Chip) -> dict[str, Any]:
    """One chip in SI units; None where no source gives the value (listed in `unset`)."""
    return {
        "id": chip.id,
        "name": chip.name,
        "vendor": chip.vendor,
        "family": chip.family,
        "kind": chip.kind,
        "aliases": list(chip.aliases),
        "release_year": chip.release_year,
        "peak_flops_bf16": chip.peak_flops.get("bf16"),
        "peak_flops_fp16": chip.peak_flops.get("fp16"),
        "peak_flops_fp8": chip.peak_flops.get("fp8"),
        "peak_flops_fp32": chip.peak_flops.get("fp32"),
        "hbm_bytes": chip.hbm_bytes,
        "hbm_bandwidth": chip.hbm_bandwidth,
        "scale_up_name": chip.scale_up_name,
        "scale_up_bandwidth": chip.scale_up_bandwidth,
        "scale_up_direction_assumed": chip.scale_up_direction_assumed,
        "scale_up_domain": chip.scale_up_domain,
        "chips_per_node": chip.chips_per_node,
        "scale_out_bandwidth_per_node": chip.scale_out_bandwidth_per_node,
        "neuroncores_per_chip": chip.neuroncores_per_chip,
        "matrix_unit": chip.matrix_unit,  # systolic array edge (TPU MXU); None: not systolic
        "megacore": chip.megacore,  # TensorCores driven as one device (1: a single core)
        "tdp_watts": chip.tdp_watts,
        "sources": list(chip.sources),
        "unset": list(chip.unset),
    }


def chip_file(cat: Catalog, chip: Chip) -> ChipFile | None:
    """The chip's file as written (sources and notes per value), read once per file version."""
    path = cat.origin.get(f"chip:{chip.id}")
    if path is None:
        return None
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return _read_chip_file(p, mtime)


@lru_cache(maxsize=256)
def _read_chip_file(path: Path, mtime_ns: int) -> ChipFile:
    """`mtime_ns` is part of the cache key: an edited file is read again."""
    return load_model(path, ChipFile)


def provenance(cf: ChipFile | None) -> dict[str, dict[str, Any]]:
    """File key -> {sources, note} for every sourced value of the chip's file."""
    out: dict[str, dict[str, Any]] = {}
    if cf is None:
        return out
    for key in type(cf).model_fields:
        item = getattr(cf, key)
        if hasattr(item, "source"):
            out[key] = {"sources": list(item.source), "note": item.note}
    return out


def chip_detail(cat: Catalog, chip: Chip) -> dict[str, Any]:
    """`chip_record` plus the file it came from, per-field provenance and source titles."""
    cf = chip_file(cat, chip)
    record = chip_record(chip)
    record["file"] = str(cat.origin.get(f"chip:{chip.id}", ""))
    record["note"] = cf.note if cf else None
    record["on_chip_memory"] = cf.on_chip_memory if cf else None
    record["provenance"] = provenance(cf)
    record["source_details"] = [source_detail(cat, s) for s in chip.sources]
    return record


def source_detail(cat: Catalog, source_id: str) -> dict[str, Any]:
    src = cat.sources.get(source_id)
    if src is None:
        return {"id": source_id, "title": None, "url": None, "repo": None, "type": None}
    return {"id": source_id, "title": src.title, "url": src.url, "repo": src.repo, "type": src.type}


def model_record(shape: ModelShape) -> dict[str, Any]:
    """Shape fields, parameters per component, total and active (= total for dense models)."""
    counts = count_params(shape)
    params = counts.as_dict()
    total, active = params.pop("total"), params.pop("active")
    record = shape.model_dump(mode="json")
    record["params"] = params
    record["params_total"] = total
    record["params_active"] = active
    record["params_non_embedding"] = counts.non_embedding
    return record


def price_record(off: Offering, price: Price) -> dict[str, Any]:
    """One published (or, with --all, unpublished) price, in USD per hour."""
    chip_hour = price.usd_per_chip_hour
    return {
        "offering": off.id,
        "offering_name": off.name,
        "chip": off.chip,
        "cloud": off.cloud,
        "chips_per_instance": off.chips_per_instance,
        "type": price.type,
        "usd_per_chip_hour": chip_hour,
        "usd_per_instance_hour": None if chip_hour is None else chip_hour * off.chips_per_instance,
        "region": price.region,
        "date": price.date,
        "sources": list(price.sources),
        "note": price.note,
    }


def model_summary(m: ModelShape) -> dict[str, Any]:
    """One line of `models list`: the main dimensions and the parameter counts."""
    counts = count_params(m)
    return {
        "id": m.id,
        "name": m.name,
        "family": m.family,
        "kind": m.kind,
        "layers": m.layers,
        "hidden": m.hidden,
        "heads": m.heads,
        "kv_heads": m.kv_heads,
        "ffn_hidden": m.ffn_hidden,
        "vocab": m.vocab,
        "is_moe": m.is_moe,
        "params_total": counts.total,
        "params_active": counts.active,
    }
