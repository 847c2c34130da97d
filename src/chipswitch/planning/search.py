"""Vectorised plan search: every valid plan evaluated as arrays, the best ones kept.

`search` ranks the feasible plans for one chip count by step time (for a fixed chip count and
price, cost ranks identically); `pareto` repeats it across chip counts and keeps the
time-vs-cost front, built on the all-in figures (failures and checkpoints counted).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from chipswitch.catalog import Catalog
from chipswitch.errors import InfeasibleError
from chipswitch.hardware.spec import Chip, Price
from chipswitch.parallel.enumerate import candidate_values, enumerate_plans, grid_size
from chipswitch.parallel.plan import Plan, PlanArrays
from chipswitch.perf import memory
from chipswitch.perf.efficiency import Efficiency, interval, load_calibration
from chipswitch.perf.estimate import Breakdown, estimate
from chipswitch.perf.flops import model_flops_per_token
from chipswitch.perf.system import System, build_system
from chipswitch.perf.workload import Workload
from chipswitch.planning.cost import GoodputInputs, training_cost


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    breakdown: dict[str, float]
    interval: tuple[float, float]  # 80% interval on tokens/s per chip

    @property
    def step_time(self) -> float:
        return self.breakdown["step_time"]

    @property
    def tokens_per_s_per_chip(self) -> float:
        return self.breakdown["tokens_per_s_per_chip"]

    @property
    def memory_bytes(self) -> float:
        return self.breakdown["mem_total"]


@dataclass(frozen=True)
class SearchResult:
    workload: Workload
    chip: Chip
    n_chips: int
    system: System
    plans_evaluated: int
    plans_feasible: int
    seconds: float
    top: list[PlanResult] = field(default_factory=list)

    @property
    def best(self) -> PlanResult:
        return self.top[0]

    @property
    def warnings(self) -> list[str]:
        """Predictions an expert would question: an MFU above MFU_WARN (or above the highest
        published run of the chip's family, if that is higher)."""
        if not self.top:
            return []
        limit = mfu_limit(self.chip.family)
        mfu = self.best.breakdown["mfu"]
        if mfu <= limit:
            return []
        return [
            f"predicted MFU {mfu:.2f} is above {limit:.2f}, more than any published run of "
            f"{self.chip.family} in the validation set reaches; treat it as optimistic"
        ]

    @property
    def model_flops_per_token(self) -> float:
        return model_flops_per_token(self.workload.dims, "paper")


MFU_WARN = 0.70  # MFU beyond which a prediction needs a published run to back it


def mfu_limit(family: str) -> float:
    """MFU_WARN, or the highest measured MFU of `family`'s published runs when higher
    (stored by scripts/fit_calibration.py as meta.max_measured_mfu)."""
    measured = load_calibration().meta.get("max_measured_mfu") or {}
    return max(MFU_WARN, float(measured.get(family, 0.0)))


def _system(
    chip: Chip,
    n: int,
    catalog: Catalog | None,
    eff: Efficiency | None,
    peers: Iterable[Chip] | None = None,
) -> System:
    """The cluster; `peers` (default: the catalog's chips) lend specs a chip file lacks."""
    if peers is None:
        peers = catalog.chips.values() if catalog else ()
    return build_system(chip, n, peers=peers, eff=eff)


def search(
    workload: Workload,
    chip: Chip,
    n_chips: int,
    *,
    catalog: Catalog | None = None,
    eff: Efficiency | None = None,
    top: int = 5,
    peers: Iterable[Chip] | None = None,
) -> SearchResult:
    """Evaluate every valid plan; raise InfeasibleError saying what is short if none fits.

    `peers` are the chips whose specs fill gaps in `chip`'s file (default: the catalog's)."""
    t0 = time.perf_counter()
    sys = _system(chip, n_chips, catalog, eff, peers)
    capacity = sys.hbm_bytes * memory.USABLE_FRACTION
    best: list[tuple[float, Plan, dict[str, float]]] = []
    evaluated = feasible = 0
    min_mem: tuple[float, Plan | None] = (np.inf, None)
    for plans in enumerate_plans(
        workload.model, sys.workers, workload.global_batch, workload.seq_len, sys.domain_workers
    ):
        b = estimate(workload, sys, plans)
        evaluated += len(plans)
        fits = b.mem_total <= capacity
        feasible += int(fits.sum())
        j = int(np.argmin(b.mem_total))
        if b.mem_total[j] < min_mem[0]:
            min_mem = (float(b.mem_total[j]), plans.plan(j))
        if not fits.any():
            continue
        score = np.where(fits, b.step_time, np.inf)
        k = min(top, int(fits.sum()))
        idx = np.argpartition(score, k - 1)[:k]
        best.extend((float(score[i]), plans.plan(int(i)), b.row(int(i))) for i in idx)
    seconds = time.perf_counter() - t0
    if evaluated == 0:
        raise InfeasibleError(_divisibility_reason(workload, sys.workers, sys.domain_workers))
    if not best:
        need, plan = min_mem
        raise InfeasibleError(
            f"no plan fits in memory: the leanest plan ({plan.describe() if plan else '?'}) needs "
            f"{need / 1e9:.1f} GB per chip, {chip.id} has {capacity / 1e9:.1f} GB usable "
            f"({sys.hbm_bytes / 1e9:.0f} GB HBM); use more chips, a smaller global batch or a "
            f"chip with more memory"
        )
    best.sort(key=lambda r: r[0])
    results = [
        PlanResult(p, row, interval(row["tokens_per_s_per_chip"], sys.eff, len(sys.assumptions)))
        for _, p, row in best[:top]
    ]
    return SearchResult(workload, chip, n_chips, sys, evaluated, feasible, seconds, results)


def plan_grid_size(
    workload: Workload, chip: Chip, n_chips: int, *, catalog: Catalog | None = None
) -> int:
    """Candidate plans `search` would build for this job (before validity masks), without
    evaluating any: what a server checks before accepting a request."""
    sys = _system(chip, n_chips, catalog, None)
    w = workload
    return grid_size(w.model, sys.workers, w.global_batch, w.seq_len, sys.domain_workers)


def _divisibility_reason(w: Workload, workers: int, domain: int) -> str:
    m = w.model
    cand = candidate_values(m, workers, w.global_batch, w.seq_len, domain)
    reasons = []
    if not cand["tp"]:
        reasons.append(
            f"no tensor-parallel degree divides heads={m.heads} and kv_heads={m.kv_heads}"
        )
    dps = {workers // (t * p) for t in cand["tp"] for p in cand["pp"] if workers % (t * p) == 0}
    if not dps:
        reasons.append(f"no tp x pp divides {workers} workers with pp dividing layers={m.layers}")
    elif not any(w.global_batch % d == 0 for d in dps):
        reasons.append(
            f"global batch {w.global_batch} is not divisible by any data-parallel degree "
            f"available on {workers} chips ({', '.join(map(str, sorted(dps)[:6]))}...)"
        )
    return "no valid plan: " + ("; ".join(reasons) or "layout constraints cannot be met")


def evaluate_plan(
    workload: Workload,
    chip: Chip,
    n_chips: int,
    plan: Plan,
    *,
    catalog: Catalog | None = None,
    eff: Efficiency | None = None,
    workers_per_chip: int = 1,
) -> tuple[Breakdown, System]:
    """Breakdown of one given plan (no search)."""
    peers = catalog.chips.values() if catalog else ()
    sys = build_system(chip, n_chips, peers=peers, workers_per_chip=workers_per_chip, eff=eff)
    if plan.workers != sys.workers:
        raise InfeasibleError(f"plan uses {plan.workers} workers, the system has {sys.workers}")
    return estimate(workload, sys, PlanArrays.from_plans([plan])), sys


@dataclass(frozen=True)
class ParetoPoint:
    """The best plan at one chip count, priced ideal and all-in.

    `train_seconds` and `cost_usd` are the ideal figures (every chip-hour trains);
    `all_in_seconds` and `all_in_cost_usd` count failures, restarts, lost work and checkpoint
    writes (`planning.goodput`), and equal the ideal ones when no failure model is given.
    `goodput` is the ideal time over the all-in time (None without a failure model). Seconds,
    USD."""

    n_chips: int
    train_seconds: float
    cost_usd: float | None
    result: SearchResult
    all_in_seconds: float
    all_in_cost_usd: float | None
    goodput: float | None = None

    @property
    def all_in_chip_seconds(self) -> float:
        return self.all_in_seconds * self.n_chips


def pareto_point(
    result: SearchResult,
    tokens: float,
    price: Price | None,
    failures: GoodputInputs | None = None,
) -> ParetoPoint:
    """`result`'s best plan trained on `tokens`, ideal and (with `failures`) all-in."""
    b, n = result.best, result.n_chips
    c = training_cost(
        tokens, b.tokens_per_s_per_chip, b.interval, n, result.chip, price,
        failures=failures, step_time_s=b.step_time,
    )  # fmt: skip
    if c.all_in is None or c.goodput is None:
        return ParetoPoint(n, c.seconds, c.usd, result, c.seconds, c.usd)
    a = c.all_in
    return ParetoPoint(n, c.seconds, c.usd, result, a.seconds, a.usd, c.goodput.goodput)


def front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point beats on all-in time and all-in cost, fastest first.

    Cost is the all-in USD when every point is priced, else the all-in chip-seconds. A point
    that never finishes (all-in time infinite: failures outpace checkpoints) is left out; of
    points equal on both, the first by chip count is kept."""
    finite = [p for p in points if math.isfinite(p.all_in_seconds)]
    priced = all(p.all_in_cost_usd is not None for p in finite)

    def cost(p: ParetoPoint) -> float:
        usd = p.all_in_cost_usd
        return usd if priced and usd is not None else p.all_in_chip_seconds

    out: list[ParetoPoint] = []
    for p in sorted(finite, key=lambda p: (p.all_in_seconds, cost(p), p.n_chips)):
        if not out or cost(p) < cost(out[-1]):
            out.append(p)
    return out


def pareto(
    workload: Workload,
    chip: Chip,
    counts: Sequence[int],
    tokens: float,
    price: Price | None,
    *,
    catalog: Catalog | None = None,
    eff: Efficiency | None = None,
    failures: GoodputInputs | None = None,
) -> list[ParetoPoint]:
    """Best plan at each chip count, reduced to the time-vs-cost non-dominated front.

    With `failures` the front is built on the all-in figures: a larger fleet is interrupted
    more often (goodput falls with the chip count), so more chips buy less than the ideal
    figures say. Without it (or with a failure rate of 0) all-in equals ideal."""
    points: list[ParetoPoint] = []
    for n in counts:
        try:
            r = search(workload, chip, n, catalog=catalog, eff=eff, top=1)
        except InfeasibleError:
            continue
        points.append(pareto_point(r, tokens, price, failures))
    return front(points)
