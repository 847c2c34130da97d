"""JSON-ready views of the engine's results, shared by `chipswitch ... --json` and the HTTP API.

Every builder returns plain dicts in SI units (seconds, bytes, FLOP/s, joules, USD), so the CLI
and the web API print the same fields with the same numbers for the same inputs. Formatting
for people (tables, charts) happens in the shells, not here.
"""

from __future__ import annotations

from typing import Any

from chipswitch import units
from chipswitch.compare import ChipOutcome, Comparison
from chipswitch.cost import TrainingCost
from chipswitch.search import ParetoPoint, PlanResult, SearchResult

#: (breakdown key, label) of every step-time term, in the order a step spends it.
BREAKDOWN_TIME = (
    ("compute_matmul", "matmul"),
    ("compute_attention", "attention"),
    ("compute_memory_bound", "memory-bound ops"),
    ("compute_head", "LM head + loss"),
    ("recompute", "recomputation"),
    ("layer_overhead", "per-layer overhead"),
    ("tp_exposed", "TP/SP comm (exposed)"),
    ("ep_total", "EP all-to-all"),
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
        | {"tp_total": b["tp_total"], "dp_total": b["dp_total"], "cp_total": b["cp_total"]},
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
    }


def pareto_json(front: list[ParetoPoint]) -> list[dict[str, Any]]:
    return [
        {
            "chips": p.n_chips,
            "seconds": p.train_seconds,
            "cost_usd": p.cost_usd,
            "plan": p.result.best.plan.describe(),
        }
        for p in front
    ]


def plan_report(
    result: SearchResult, cost: TrainingCost | None, front: list[ParetoPoint] | None
) -> dict[str, Any]:
    """The `chipswitch plan --json` document: the search, its best plans, cost and front."""
    w = result.workload
    return {
        "model": w.model.id,
        "hardware": result.chip.id,
        "chips": result.n_chips,
        "global_batch": w.global_batch,
        "seq_len": w.seq_len,
        "precision": w.precision,
        "plans_evaluated": result.plans_evaluated,
        "plans_feasible": result.plans_feasible,
        "seconds": result.seconds,
        "calibration": {"level": result.system.eff.level, "name": result.system.eff.name},
        "assumptions": list(result.system.assumptions),
        "flop_convention": FLOP_CONVENTION,
        "best": plan_json(result.best),
        "top": [plan_json(p) for p in result.top],
        "training": cost_json(cost) if cost else None,
        "pareto": pareto_json(front or []),
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
