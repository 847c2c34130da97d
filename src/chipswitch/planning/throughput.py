"""One-call facade used by the decision engine and other consumers: best-plan throughput of a
model on a chip, with its interval."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from chipswitch.catalog import Catalog, load_catalog
from chipswitch.hardware.spec import Precision
from chipswitch.perf.flops import model_flops_per_token
from chipswitch.perf.workload import Workload
from chipswitch.planning.search import search


@dataclass(frozen=True)
class ThroughputEstimate:
    model: str
    chip: str
    n_chips: int
    global_batch: int
    seq_len: int
    precision: str
    tokens_per_s_per_chip: float
    interval: tuple[float, float]  # 80% interval on tokens/s per chip
    model_flops_per_token: float  # training FLOP per token, 6N + attention (paper convention)
    mfu: float
    step_time_s: float
    plan: str
    calibration_level: str


def estimate_throughput(
    model: str,
    chip: str,
    n_chips: int,
    global_batch: int,
    seq_len: int,
    precision: Precision = "bf16",
    catalog: Catalog | None = None,
) -> ThroughputEstimate:
    """Best plan found by `chipswitch.planning.search.search` for this job, summarised."""
    cat = catalog or load_catalog()
    if catalog is None:
        return _cached(model, chip, n_chips, global_batch, seq_len, precision)
    return _estimate(cat, model, chip, n_chips, global_batch, seq_len, precision)


@lru_cache(maxsize=256)
def _cached(
    model: str, chip: str, n: int, gb: int, seq: int, precision: Precision
) -> ThroughputEstimate:
    return _estimate(load_catalog(), model, chip, n, gb, seq, precision)


def _estimate(
    cat: Catalog, model: str, chip: str, n: int, gb: int, seq: int, precision: Precision
) -> ThroughputEstimate:
    shape = cat.model(model)
    c = cat.chip(chip)
    w = Workload(shape, gb, seq, precision)
    r = search(w, c, n, catalog=cat, top=1)
    b = r.best
    return ThroughputEstimate(
        model=shape.id,
        chip=c.id,
        n_chips=n,
        global_batch=gb,
        seq_len=seq,
        precision=precision,
        tokens_per_s_per_chip=b.tokens_per_s_per_chip,
        interval=b.interval,
        model_flops_per_token=model_flops_per_token(w.dims, "paper"),
        mfu=b.breakdown["mfu"],
        step_time_s=b.step_time,
        plan=b.plan.describe(),
        calibration_level=r.system.eff.level,
    )
