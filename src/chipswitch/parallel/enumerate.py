"""Enumerate every valid parallel plan for a workload on N workers, as arrays.

Validity (Megatron-LM argument checks; Narayanan et al. 2021 section 3):
- tp <= the scale-up domain; tp divides the heads, and kv_heads divides tp or tp divides
  kv_heads (KV heads replicated);
- tp * pp * cp * dp = N;  pp * vp <= layers; pp <= layers / 2; uneven stages are allowed
  only as Megatron-LM runs them (--decoder-first/last-pipeline-num-layers): every middle stage
  holds the same k layers and the first and last hold 1..k each (`stage_split_ok`), so 96
  layers go on 32 stages but not on 31, 80 layers not on 35; the heaviest stage is costed;
  interleaving (vp > 1) needs pp > 1 and a number of micro-batches that is a multiple of pp;
- cp splits the sequence into 2*cp load-balanced chunks (seq divisible by 2*cp);
- the global batch is dp * micro_batch * m for an integer m;
- ep divides the experts and dp * cp (EP is carved out of the data/context ranks);
- HSDP only matters for ZeRO-3 groups that leave a scale-up domain.
The cartesian product of the candidate values is built with numpy and filtered by masks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from chipswitch.errors import ChipswitchError
from chipswitch.model.shape import ModelShape
from chipswitch.parallel.plan import PlanArrays

ZERO_STAGES = (0, 1, 2, 3)
RECOMPUTE = (0, 1, 2)
MAX_MICRO_BATCH = 64
MAX_VP = 8
HSDP = (0, 1)

#: Largest job the search takes: about 20x the largest announced training clusters (~200k
#: accelerators in 2025), so every real job fits, while the plan arrays stay far from int64
#: overflow and the divisor search stays instant (a count like 2^62 would otherwise be
#: accepted and wrap around).
MAX_WORKERS = 4_194_304  # 2^22
MAX_GLOBAL_BATCH = 16_777_216  # 2^24 sequences
MAX_SEQ = 16_777_216  # 2^24 tokens


def check_job_size(workers: int, global_batch: int, seq: int) -> None:
    """Raise ChipswitchError for a count below 1 or above the stated maximum."""
    for name, value, top in (
        ("chips", workers, MAX_WORKERS),
        ("global batch", global_batch, MAX_GLOBAL_BATCH),
        ("sequence length", seq, MAX_SEQ),
    ):
        if not 1 <= value <= top:
            raise ChipswitchError(
                f"{name} {value:,} is outside what the plan search takes (1 to {top:,})"
            )


def divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def powers_of_two(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    return out


def stage_split_ok(layers: int, stages: np.ndarray) -> np.ndarray:
    """Whether `layers` split onto each count of (virtual) pipeline stages as a framework can:
    equal stages, or equal middle stages of k layers with first and last holding 1..k each
    (Megatron-LM --decoder-first/last-pipeline-num-layers), i.e. an integer k with
    ceil(layers / s) <= k <= (layers - 2) / (s - 2). Two stages can take any split."""
    s = np.asarray(stages, dtype=np.int64)
    k_min = -(-layers // np.maximum(s, 1))
    k_max = (layers - 2) // np.maximum(s - 2, 1)
    return np.asarray((s <= 2) | (layers % np.maximum(s, 1) == 0) | (k_min <= k_max), bool)


def candidate_values(
    model: ModelShape, workers: int, global_batch: int, seq: int, domain_workers: int | None = None
) -> dict[str, list[int]]:
    """Candidate degrees per axis. Tensor parallelism stays inside one scale-up domain
    (its traffic is on the critical path of every layer; Narayanan et al. 2021, 3.3)."""
    check_job_size(workers, global_batch, seq)
    tp_max = min(workers, 128, domain_workers or workers)
    tp = [
        t
        for t in powers_of_two(tp_max)
        if model.heads % t == 0
        and (model.kv_heads % t == 0 or t % model.kv_heads == 0 or model.mla is not None)
    ]
    pp = [p for p in divisors(workers) if p <= max(1, model.layers // 2) or p == 1]
    cp = [c for c in powers_of_two(workers) if seq % (2 * c) == 0 or c == 1]
    mb = [b for b in divisors(global_batch) if b <= MAX_MICRO_BATCH]
    vp = [v for v in powers_of_two(MAX_VP)]
    ep = [1]
    if model.moe is not None:
        ep = [e for e in divisors(model.moe.experts) if e <= workers]
    return {"tp": tp, "pp": pp, "cp": cp, "mb": mb, "vp": vp, "ep": ep}


def _grid_axes(cand: dict[str, list[int]]) -> tuple[Sequence[int], ...]:
    """The axes crossed for each tensor-parallel degree, in `enumerate_plans`' order."""
    return (
        cand["pp"],
        cand["cp"],
        cand["vp"],
        cand["mb"],
        cand["ep"],
        ZERO_STAGES,
        RECOMPUTE,
        HSDP,
    )


def grid_size(
    model: ModelShape, workers: int, global_batch: int, seq: int, domain_workers: int
) -> int:
    """Candidate plans `enumerate_plans` builds before its validity masks: an upper bound on
    the plans a search evaluates, cheap to compute (used to bound a request up front)."""
    cand = candidate_values(model, workers, global_batch, seq, domain_workers)
    return len(cand["tp"]) * math.prod(len(a) for a in _grid_axes(cand))


def enumerate_plans(
    model: ModelShape,
    workers: int,
    global_batch: int,
    seq: int,
    domain_workers: int,
    chunk: int = 250_000,
) -> Iterator[PlanArrays]:
    """Yield valid plans in chunks (each a PlanArrays), by tensor-parallel degree."""
    cand = candidate_values(model, workers, global_batch, seq, domain_workers)
    for tp in cand["tp"]:
        grids = np.meshgrid(*(np.array(a) for a in _grid_axes(cand)), indexing="ij")
        pp, cp, vp, mb, ep, zero, rc, hsdp = (g.ravel() for g in grids)
        denom = tp * pp * cp
        ok = workers % denom == 0
        dp = np.where(ok, workers // np.maximum(denom, 1), 0)
        ok &= dp > 0
        ok &= global_batch % np.maximum(dp * mb, 1) == 0
        m = np.where(ok, global_batch // np.maximum(dp * mb, 1), 0)
        ok &= pp * vp <= model.layers  # every virtual stage holds at least one layer
        ok &= stage_split_ok(model.layers, pp * vp)
        ok &= (vp == 1) | ((pp > 1) & (m % pp == 0))
        ok &= (dp * cp) % ep == 0
        spans = tp * dp * cp > domain_workers
        ok &= (hsdp == 0) | ((zero == 3) & spans)
        idx = np.nonzero(ok)[0]
        for start in range(0, idx.size, chunk):
            sel = idx[start : start + chunk]
            n = sel.size
            yield PlanArrays(
                tp=np.full(n, tp, dtype=np.int64),
                pp=pp[sel].astype(np.int64),
                dp=dp[sel].astype(np.int64),
                cp=cp[sel].astype(np.int64),
                ep=ep[sel].astype(np.int64),
                vp=vp[sel].astype(np.int64),
                micro_batch=mb[sel].astype(np.int64),
                zero=zero[sel].astype(np.int64),
                recompute=rc[sel].astype(np.int64),
                sequence_parallel=np.full(n, tp > 1, dtype=np.bool_),
                hsdp=hsdp[sel].astype(np.bool_),
            )
