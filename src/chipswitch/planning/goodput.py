"""Goodput: the share of a training run's wall time that trains, once failures, restarts and
checkpoints are counted.

A synchronous job on `n` chips stops whenever any chip (or its host, link, software) fails, so
interruptions arrive as a Poisson process of rate lambda = r x n, with r the failure rate per
chip-second of the chip family (Kokolis et al. 2024, arXiv:2410.21680, model a job the same
way: nodes in series, MTTF inversely proportional to the node count). The job writes a
checkpoint, taking delta seconds, after every tau seconds of training; an interruption costs the
restart time R (detection, relaunch, reload) plus the work done since the last checkpoint.

For exponential failures the expected wall time to do T seconds of work is (Daly 2006, "A
higher order estimate of the optimum checkpoint interval for restart dumps", Future Generation
Computer Systems 22(3), section 3, the complete restart-dump model):

    T_wall = M exp(R/M) (exp((tau + delta)/M) - 1) T / tau,      M = 1/lambda,

so goodput = T / T_wall does not depend on T. The interval that minimises T_wall is, to first
order, Young's tau = sqrt(2 delta M) (Young 1974, "A first order approximation to the optimum
checkpoint interval", CACM 17(9)); Daly's higher-order estimate (2006, eq. 37) is used here:

    tau = sqrt(2 delta M) (1 + sqrt(delta/(2M))/3 + (delta/(2M))/9) - delta   if delta < 2M,
    tau = M                                                                   otherwise.

Units: seconds, bytes, bytes/s; failure rates per chip-second. Failure rates and restart times
per chip family live in `data/reliability.yaml` with their sources; where no publication gives
one, the file holds a wide prior and says so (`Reliability.prior`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import Field

from chipswitch import units
from chipswitch._schema import StrictModel
from chipswitch._yaml import load_model
from chipswitch.errors import ChipswitchError
from chipswitch.perf.memory import OPTIMIZER_BYTES, WEIGHT_BYTES

RELIABILITY_FILE = Path(__file__).resolve().parent.parent / "data" / "reliability.yaml"
#: Bytes a checkpoint holds per parameter: bf16 weights + fp32 master weights and two Adam
#: moments (Megatron-LM distributed-optimizer layout; gradients are not saved).
CHECKPOINT_BYTES_PER_PARAM = WEIGHT_BYTES + OPTIMIZER_BYTES
#: Chip-seconds in 1,000 chip-days: the unit of `failures_per_1000_chip_days`.
PER_1000_CHIP_DAYS = 1000.0 * units.DAY

FloatArray = NDArray[np.float64]


# --- the data file ---------------------------------------------------------------------------


class _Range(StrictModel):
    median: float = Field(ge=0)
    low: float = Field(ge=0)
    high: float = Field(ge=0)


class _FamilyFile(StrictModel):
    failures_per_1000_chip_days: _Range
    restart_minutes: _Range
    prior: bool
    sources: list[str]
    derivation: str


class _StorageFile(StrictModel):
    bytes_per_s_per_chip: float = Field(gt=0)
    source: str


class _ReliabilityFile(StrictModel):
    default_family: str
    families: dict[str, _FamilyFile]
    storage: _StorageFile


@dataclass(frozen=True)
class Reliability:
    """How often a job on one chip family is interrupted and how long a restart takes.

    `failures_per_chip_s` (per chip-second) and `restart_s` (seconds) are the central values;
    the intervals are 80% intervals. `prior` is True where no publication gives the family's
    rate (the value is a wide prior); `derivation` says how the numbers were obtained.
    """

    family: str
    failures_per_chip_s: float
    failures_interval: tuple[float, float]
    restart_s: float
    restart_interval: tuple[float, float]
    prior: bool
    sources: tuple[str, ...]
    derivation: str

    def with_failure_rate(self, per_chip_s: float) -> Reliability:
        """The same family with a failure rate given by the user (no interval on it)."""
        if not per_chip_s >= 0 or not math.isfinite(per_chip_s):
            raise ChipswitchError(f"failure rate must be a finite number >= 0, not {per_chip_s}")
        return replace(
            self,
            failures_per_chip_s=per_chip_s,
            failures_interval=(per_chip_s, per_chip_s),
            prior=False,
            derivation=f"given: {per_chip_s * PER_1000_CHIP_DAYS:g} failures per 1,000 chip-days",
        )

    @property
    def failures_per_1000_chip_days(self) -> float:
        return self.failures_per_chip_s * PER_1000_CHIP_DAYS


@dataclass(frozen=True)
class ReliabilityTable:
    """Every family's reliability, the fallback for unknown families and the storage default."""

    families: dict[str, Reliability]
    default_family: str
    storage_bytes_per_s_per_chip: float

    def for_family(self, family: str) -> Reliability:
        """`family`'s reliability; a family the file lacks gets the default prior, renamed."""
        if family in self.families:
            return self.families[family]
        return replace(self.families[self.default_family], family=family, prior=True)


def _reliability(family: str, f: _FamilyFile) -> Reliability:
    r, m = f.failures_per_1000_chip_days, f.restart_minutes
    for name, rng in (("failures_per_1000_chip_days", r), ("restart_minutes", m)):
        if not rng.low <= rng.median <= rng.high:
            raise ChipswitchError(f"reliability {family}.{name}: need low <= median <= high")
    return Reliability(
        family=family,
        failures_per_chip_s=r.median / PER_1000_CHIP_DAYS,
        failures_interval=(r.low / PER_1000_CHIP_DAYS, r.high / PER_1000_CHIP_DAYS),
        restart_s=m.median * 60.0,
        restart_interval=(m.low * 60.0, m.high * 60.0),
        prior=f.prior,
        sources=tuple(f.sources),
        derivation=" ".join(f.derivation.split()),
    )


@lru_cache(maxsize=4)
def load_reliability(path: Path = RELIABILITY_FILE) -> ReliabilityTable:
    """The shipped reliability table (or the one at `path`), in SI units."""
    raw = load_model(path, _ReliabilityFile)
    if raw.default_family not in raw.families:
        raise ChipswitchError(f"{path}: default_family '{raw.default_family}' is not listed")
    fams = {k: _reliability(k, v) for k, v in raw.families.items()}
    return ReliabilityTable(fams, raw.default_family, raw.storage.bytes_per_s_per_chip)


# --- the model (vectorised) ------------------------------------------------------------------


def young_interval(write_s: ArrayLike, mtbf_s: ArrayLike) -> FloatArray:
    """Young (1974): tau = sqrt(2 delta M), seconds of training between checkpoints.

    Minimises the first-order lost time per unit of work, delta/tau + tau/(2M)."""
    return np.asarray(np.sqrt(2.0 * np.asarray(write_s, float) * np.asarray(mtbf_s, float)), float)


def daly_interval(write_s: ArrayLike, mtbf_s: ArrayLike) -> FloatArray:
    """Daly (2006, eq. 37): the higher-order optimum checkpoint interval, seconds.

    `mtbf_s` may be inf (no failures): the interval is then inf (no checkpoint is needed)."""
    d = np.asarray(write_s, float)
    m = np.asarray(mtbf_s, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = d / (2.0 * m)
        tau = np.sqrt(2.0 * d * m) * (1.0 + np.sqrt(x) / 3.0 + x / 9.0) - d
        out = np.where(d < 2.0 * m, tau, m)
        out = np.where(np.isinf(m), np.inf, out)
        out = np.where(d <= 0.0, np.where(np.isinf(m), np.inf, 0.0), out)
    return np.asarray(out, float)


def wall_factor(
    failures_per_s: ArrayLike, write_s: ArrayLike, restart_s: ArrayLike, interval_s: ArrayLike
) -> FloatArray:
    """T_wall / T from Daly (2006, section 3); 1/goodput. Arguments broadcast as numpy arrays.

    `failures_per_s` is the job's rate (per chip-second x chips). With no failures it is
    (tau + delta)/tau, which is 1 when tau is inf (no checkpoints)."""
    lam = np.asarray(failures_per_s, float)
    d = np.asarray(write_s, float)
    r = np.asarray(restart_s, float)
    tau = np.asarray(interval_s, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        failing = lam * np.exp(lam * r) * np.expm1(lam * (tau + d)) / (lam * lam * tau)
        failing = np.where(np.isinf(tau), np.inf, failing)
        no_fail = np.where(np.isinf(tau), 1.0, (tau + d) / tau)
        out = np.where(lam > 0.0, failing, no_fail)
    return np.asarray(np.where(np.isnan(out), np.inf, out), float)


def goodput_fraction(
    chips: ArrayLike,
    failures_per_chip_s: ArrayLike,
    restart_s: ArrayLike,
    write_s: ArrayLike,
    interval_s: ArrayLike | None = None,
) -> FloatArray:
    """Fraction of wall time that trains (0..1], vectorised over any broadcastable arrays.

    `interval_s` None: Daly's optimum for each element (the decision engine's use: arrays of
    sampled failure rates and restart times)."""
    lam = np.asarray(chips, float) * np.asarray(failures_per_chip_s, float)
    if interval_s is None:
        with np.errstate(divide="ignore"):
            mtbf = np.where(lam > 0, 1.0 / np.where(lam > 0, lam, 1.0), np.inf)
        interval_s = daly_interval(write_s, mtbf)
    # wall_factor >= 1 in exact arithmetic; clip the last-bit rounding of exp/expm1
    return np.asarray(np.minimum(1.0, 1.0 / wall_factor(lam, write_s, restart_s, interval_s)))


#: z of the 90th percentile of a standard normal: an 80% interval spans +/- this many sigmas.
Z90 = 1.2815515655446004


def _lognormal(
    rng: np.random.Generator, median: float, interval: tuple[float, float], n: int
) -> FloatArray:
    """`n` log-normal draws with `median` and its 80% `interval` at the 10th/90th percentiles
    (sigma from the mean log half-width; a point interval gives `median` every time)."""
    lo, hi = interval
    if median <= 0 or lo <= 0 or hi <= lo:
        return np.full(n, median, dtype=float)
    sigma = math.log(hi / lo) / (2.0 * Z90)
    return np.asarray(median * np.exp(sigma * rng.standard_normal(n)), float)


def sample_reliability(
    rel: Reliability, rng: np.random.Generator, n: int
) -> tuple[FloatArray, FloatArray]:
    """`n` draws of (failures per chip-second, restart seconds) for Monte Carlo: independent
    log-normals centred on the table's values with their 80% intervals at the 10th and 90th
    percentiles. A prior (Trainium, TPU, ...) is as wide as its interval says; a rate given by
    the user is drawn as that value. Feed them to `goodput_fraction`."""
    rates = _lognormal(rng, rel.failures_per_chip_s, rel.failures_interval, n)
    restarts = _lognormal(rng, rel.restart_s, rel.restart_interval, n)
    return rates, restarts


# --- one plan ----------------------------------------------------------------------------------


def checkpoint_bytes(params_total: float) -> float:
    """Bytes of one checkpoint: parameters x (2 B bf16 weights + 12 B fp32 master and moments)."""
    return params_total * CHECKPOINT_BYTES_PER_PARAM


@dataclass(frozen=True)
class GoodputResult:
    """Time a run of `work_s` ideal seconds takes once failures and checkpoints are counted.

    Fields (seconds unless named otherwise):
      goodput: work_s / wall_s, the fraction of wall time that trains; goodput_interval: 80%.
      wall_s: expected wall time; interruptions: expected failures during it (and interval).
      checkpoint_interval_s: training between checkpoints (Daly's optimum unless given);
      checkpoint_write_s: one checkpoint's blocking write (state_bytes / storage_bandwidth);
      restart_s: per interruption, before training resumes (detection, relaunch, reload).
      split_s: wall_s split into training, checkpointing, lost_work (recomputed since the last
        checkpoint) and restarts; the four sum to wall_s.
      mtbf_s: the job's mean time between failures (inf with no failures).
    """

    chips: int
    work_s: float
    wall_s: float
    goodput: float
    goodput_interval: tuple[float, float]
    interruptions: float
    interruptions_interval: tuple[float, float]
    mtbf_s: float
    checkpoint_interval_s: float
    checkpoint_interval_given: bool
    checkpoint_write_s: float
    checkpoints: float
    restart_s: float
    state_bytes: float
    storage_bandwidth: float
    storage_bandwidth_given: bool
    reliability: Reliability
    split_s: dict[str, float]

    @property
    def assumptions(self) -> tuple[str, ...]:
        """The assumptions behind the all-in figure, in words, for every presenter."""
        rel = self.reliability
        if rel.derivation.startswith("given"):
            origin = "given"
        elif rel.prior:
            origin = "PRIOR: no published rate at scale"
        else:
            origin = "sourced: " + ", ".join(rel.sources)
        rate = (
            f"failure rate {rel.failures_per_1000_chip_days:.3g} per 1,000 chip-days "
            f"({rel.family}, {origin})"
        )
        interval = "given" if self.checkpoint_interval_given else "Daly 2006 optimum"
        bw = "given" if self.storage_bandwidth_given else "Llama 3 Tectonic share per chip"
        return (
            rate,
            f"restart {self.restart_s / 60:.0f} min per interruption (detection, relaunch, "
            "reload; prior)",
            f"checkpoint {self.state_bytes / units.GB:,.0f} GB written at "
            f"{self.storage_bandwidth / units.GB:,.0f} GB/s ({bw}), blocking",
            f"checkpoint every {self.checkpoint_interval_s / 60:.1f} min of training ({interval})"
            if math.isfinite(self.checkpoint_interval_s)
            else "no checkpoint: with no failures there is nothing to recover",
        )


def _goodput_at(
    chips: int, rate: float, restart: float, write: float, interval: float | None
) -> tuple[float, float]:
    """(goodput, interval used) for one failure rate and restart time."""
    lam = chips * rate
    mtbf = math.inf if lam == 0 else 1.0 / lam
    tau = float(daly_interval(write, mtbf)) if interval is None else interval
    return min(1.0, float(1.0 / wall_factor(lam, write, restart, tau))), tau  # rounding


def _split(
    work_s: float, lam: float, write: float, restart: float, tau: float
) -> tuple[float, float, float]:
    """(checkpointing, lost work, restarts) seconds of Daly's wall time, which they sum to with
    the work. Per segment of s = tau + delta: x = exp(s/M) - 1 failed attempts, each losing on
    average M - s/x of work, and each followed by a restart that itself fails and starts over,
    taking M (exp(R/M) - 1) in expectation."""
    if lam == 0.0:
        return (work_s / tau * write if math.isfinite(tau) else 0.0), 0.0, 0.0
    if not math.isfinite(tau):
        return 0.0, math.inf, math.inf
    m, s, segments = 1.0 / lam, tau + write, work_s / tau
    try:
        x = math.expm1(s / m)
        return segments * write, segments * (m * x - s), segments * x * m * math.expm1(restart / m)
    except OverflowError:  # failures far more often than a segment or a restart: never finishes
        return segments * write, math.inf, math.inf


def goodput(
    work_s: float,
    chips: int,
    state_bytes: float,
    reliability: Reliability,
    *,
    storage_bandwidth: float | None = None,
    storage_bytes_per_s_per_chip: float | None = None,
    checkpoint_interval_s: float | None = None,
    step_time_s: float | None = None,
) -> GoodputResult:
    """Goodput of a run of `work_s` ideal seconds on `chips` chips.

    `state_bytes`: one checkpoint (see `checkpoint_bytes`). `storage_bandwidth` (bytes/s, the
    whole job's write bandwidth) defaults to `chips x storage_bytes_per_s_per_chip` (the
    table's default when that is None too). `checkpoint_interval_s` defaults to Daly's optimum,
    never shorter than one step (`step_time_s`). The 80% interval takes the failure rate and
    the restart time at their 80% bounds together (both high, both low).
    """
    if not (work_s > 0 and math.isfinite(work_s)):
        raise ChipswitchError("training time must be a positive finite number of seconds")
    if chips < 1:
        raise ChipswitchError("chips must be at least 1")
    if storage_bandwidth is not None and not storage_bandwidth > 0:
        raise ChipswitchError("storage bandwidth must be positive")
    if checkpoint_interval_s is not None and not checkpoint_interval_s > 0:
        raise ChipswitchError("checkpoint interval must be positive")
    bw_given = storage_bandwidth is not None
    if storage_bandwidth is None:
        per_chip = storage_bytes_per_s_per_chip or load_reliability().storage_bytes_per_s_per_chip
        storage_bandwidth = chips * per_chip
    write = state_bytes / storage_bandwidth
    given = checkpoint_interval_s

    def at(rate: float, restart: float) -> tuple[float, float]:
        g, tau = _goodput_at(chips, rate, restart, write, given)
        if given is None and step_time_s and tau < step_time_s:
            g, tau = _goodput_at(chips, rate, restart, write, step_time_s)
        return g, tau

    rel = reliability
    g, tau = at(rel.failures_per_chip_s, rel.restart_s)
    g_lo, _ = at(rel.failures_interval[1], rel.restart_interval[1])
    g_hi, _ = at(rel.failures_interval[0], rel.restart_interval[0])
    wall = work_s / g if g > 0 else math.inf
    lam = chips * rel.failures_per_chip_s
    n_fail = wall * lam
    n_ckpt = work_s / tau if math.isfinite(tau) else 0.0
    ckpt_s, lost, restarts_s = _split(work_s, lam, write, rel.restart_s, tau)
    lo_fail = (work_s / g_hi) * chips * rel.failures_interval[0] if g_hi > 0 else math.inf
    hi_fail = (work_s / g_lo) * chips * rel.failures_interval[1] if g_lo > 0 else math.inf
    return GoodputResult(
        chips=chips,
        work_s=work_s,
        wall_s=wall,
        goodput=g,
        goodput_interval=(g_lo, g_hi),
        interruptions=n_fail,
        interruptions_interval=(lo_fail, hi_fail),
        mtbf_s=math.inf if lam == 0 else 1.0 / lam,
        checkpoint_interval_s=tau,
        checkpoint_interval_given=given is not None,
        checkpoint_write_s=write,
        checkpoints=n_ckpt,
        restart_s=rel.restart_s,
        state_bytes=state_bytes,
        storage_bandwidth=storage_bandwidth,
        storage_bandwidth_given=bw_given,
        reliability=rel,
        split_s={
            "training": work_s,
            "checkpointing": ckpt_s,
            "lost_work": lost,
            "restarts": restarts_s,
        },
    )


def combine_intervals(
    central: float, a: tuple[float, float], b_factor: tuple[float, float]
) -> tuple[float, float]:
    """80% interval of central x (independent relative errors), combined in log space.

    `a` is an 80% interval on `central`; `b_factor` an 80% interval on a multiplicative factor
    of 1 (e.g. 1/goodput relative to its central value). The log half-widths add in
    quadrature, as for independent log-normal errors."""
    if central <= 0 or not math.isfinite(central):
        return (central, central)

    def logw(x: float) -> float:
        return abs(math.log(x)) if x > 0 and math.isfinite(x) else math.inf

    lo = math.hypot(logw(a[0] / central), logw(b_factor[0]))
    hi = math.hypot(logw(a[1] / central), logw(b_factor[1]))
    return central * math.exp(-lo), central * math.exp(hi)


def combine_goodput(parts: Sequence[GoodputResult]) -> GoodputResult:
    """The goodput of a run made of consecutive stages on the same chips (a long-context
    extension after pre-training): times, interruptions, checkpoints and the split add up;
    goodput is total work / total wall time. The checkpoint interval, write time and state size
    shown are those of the stage with the most work. Interval bounds add stage by stage (the
    stages share the failure model, so their errors move together)."""
    if not parts:
        raise ValueError("no stages to combine")
    if len(parts) == 1:
        return parts[0]
    main = max(parts, key=lambda p: p.work_s)
    work = sum(p.work_s for p in parts)
    wall = sum(p.wall_s for p in parts)

    def bound(i: int) -> float:
        total = sum(p.work_s / p.goodput_interval[i] if p.goodput_interval[i] > 0 else math.inf
                    for p in parts)  # fmt: skip
        return work / total if total > 0 else 0.0

    return replace(
        main,
        work_s=work,
        wall_s=wall,
        goodput=work / wall if wall > 0 else 0.0,
        goodput_interval=(bound(0), bound(1)),
        interruptions=sum(p.interruptions for p in parts),
        interruptions_interval=(
            sum(p.interruptions_interval[0] for p in parts),
            sum(p.interruptions_interval[1] for p in parts),
        ),
        checkpoints=sum(p.checkpoints for p in parts),
        split_s={k: sum(p.split_s[k] for p in parts) for k in main.split_s},
    )
