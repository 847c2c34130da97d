"""Calibration parameters: the few physically meaningful efficiencies of a chip family.

Vendor peaks are facts (catalog); these are measurements with a date, a software stack and the
script that produced them (`scripts/fit_calibration.py`, stored in
`chipswitch/data/calibration.yaml`). Lookup order for a chip: its family, then its vendor,
then the all-family default; the interval widens at each fallback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from chipswitch.perf.defaults import EFFICIENCY

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "data" / "calibration.yaml"
# leave-one-source-out predictions written with the calibration (scripts/fit_calibration.py)
CV_FILE = CALIBRATION_FILE.with_name("calibration_cv.csv")


@dataclass(frozen=True)
class Efficiency:
    """Achievable fractions of datasheet rates, and fixed overheads (seconds).

    Defaults of the fields that no fit sets come from data/engine_defaults.yaml (with notes).

    matmul: fraction of dense peak FLOP/s a large GEMM sustains (roofline compute ceiling).
    attention: fraction of dense peak a fused (flash) attention kernel sustains.
    memory: fraction of HBM bandwidth that elementwise/normalisation kernels sustain.
    megacore: fraction of the matmul and attention rates kept on a chip whose runtime drives
        two TensorCores as one device and splits every operation across them (TPU v4 and
        v5p "megacore", catalog `megacore: 2`). The halves meet at each operation's end and
        share the chip's HBM, the likely causes; the data give the size of the loss, not its
        cause. 1 = no loss; no effect on single-core chips. Fitted where a level has rows on
        both kinds of chip (the TPU v4 against the v5e rows).
    fp8_matmul: fraction of the fp8 peak an fp8 GEMM sustains.
    collective_up / collective_out: bus bandwidth as a fraction of the scale-up link
        bandwidth per direction / of the scale-out NIC bandwidth per worker.
    latency_up / latency_out: latency of one ring step inside a scale-up domain / of one tree
        step between domains (s); perf/comm.py. Not fitted: fitting latency_up drove it to
        its bound (0) on A100 and to 65 us on H100 (three rows), so it keeps its default.
    kernel_overhead: fixed time per GEMM launch (s); makes small GEMMs inefficient.
    launch_overhead: host time to dispatch and launch one kernel or collective from eager
        PyTorch on this family's hosts (s); scaled by the software stack's `host_launch`
        (perf/host.py). Fitted per family.
    layer_overhead: fixed time per layer per micro-batch (fwd+bwd) (s) of compiled stacks
        (XLA, Neuron: program and collective scheduling); fitted only for families whose
        rows run such stacks (eager stacks pay `launch_overhead` instead).
    dp_overlap: fraction of the overlap window during which data-parallel traffic hides.
    tp_exposed: fraction of tensor-parallel traffic left exposed by stacks that overlap it
        (software.yaml `blocking_collectives: false`; blocking stacks expose all of it).
        0 = fully hidden. Not fitted: the fit drove it to 0 in every family with such rows
        (H100 NeMo/Megatron-Core, TPU MaxText, Trainium), so 0 is the default.
    overlap_slowdown: fraction by which compute slows while hidden communication runs beside
        it (Lee et al. 2025, arXiv:2507.03114: 18.9% on average on A100/H100/MI250/MI210);
        each second of TP, CP or DP traffic hidden behind compute adds this many seconds.
        Not fitted.
    moe_imbalance: tokens on the busiest expert-parallel rank over the mean (routers trained
        with a balancing loss run ~1.0-1.25: Switch Transformer capacity factors, Fedus et al.
        2022 section 2.2); scales expert GEMM rows and all-to-all volume. Not fitted: the public
        set has no MoE rows.
    moe_capacity_factor: expert capacity over the mean tokens per expert in token-dropping
        setups (GShard, Switch); 0 = dropless (Megatron-Core's default), where the busiest
        rank's load is `moe_imbalance`. Not fitted.
    interval_log_lo / interval_log_hi: 10th and 90th percentiles of log(predicted/measured)
        in cross-validation; an 80% interval on throughput is pred*exp(-hi)..pred*exp(-lo).
    """

    matmul: float = 0.75
    attention: float = 0.45
    memory: float = 0.7
    fp8_matmul: float = 0.6
    megacore: float = 1.0
    collective_up: float = EFFICIENCY["collective_up"]
    collective_out: float = EFFICIENCY["collective_out"]
    latency_up: float = EFFICIENCY["latency_up"]
    latency_out: float = EFFICIENCY["latency_out"]
    kernel_overhead: float = EFFICIENCY["kernel_overhead"]
    launch_overhead: float = EFFICIENCY["launch_overhead"]
    layer_overhead: float = 0.0
    dp_overlap: float = EFFICIENCY["dp_overlap"]
    tp_exposed: float = EFFICIENCY["tp_exposed"]
    overlap_slowdown: float = EFFICIENCY["overlap_slowdown"]
    moe_imbalance: float = EFFICIENCY["moe_imbalance"]
    moe_capacity_factor: float = EFFICIENCY["moe_capacity_factor"]

    @property
    def moe_load(self) -> float:
        """Rows on the busiest expert rank over the mean: the capacity factor when tokens are
        dropped beyond it (buffers padded to it: GShard, Lepikhin et al. 2021 section 2.2;
        Switch Transformer, Fedus et al. 2022 eq. 3), else (dropless) the imbalance."""
        return self.moe_capacity_factor if self.moe_capacity_factor > 0 else self.moe_imbalance

    interval_log_lo: float = -0.25
    interval_log_hi: float = 0.25
    level: str = "default"
    name: str = "default"

    def with_(self, **kw: Any) -> Efficiency:
        return replace(self, **kw)


@dataclass(frozen=True)
class CalibrationTable:
    families: dict[str, Efficiency]
    vendors: dict[str, Efficiency]
    default: Efficiency
    meta: dict[str, Any]
    newest_family: dict[str, str] = field(default_factory=dict)  # vendor -> family
    family_years: dict[str, tuple[str, int]] = field(default_factory=dict)  # -> (vendor, year)

    def for_chip(
        self, family: str, vendor: str, chip_id: str | None = None, year: int | None = None
    ) -> Efficiency:
        """Efficiencies for a chip, and how far they had to be carried:

        - "family": the chip itself was measured (or no chip id given);
        - "family-unmeasured-chip": a new generation of a measured family (same software
          lineage); interval widened to the vendor's leave-one-family-out one;
        - "vendor-newest": an unmeasured family: the parameters of the vendor's newest
          measured family, with the vendor's leave-one-family-out interval;
        - "vendor-nearest": an unmeasured family released (`year`) before the vendor's newest
          measured one: the measured family nearest in time instead (a 2017 V100 takes the
          A100's efficiencies, not the H100's: an older generation does not inherit newer
          kernels and interconnect), with the vendor's interval;
        - "default": an unmeasured vendor: the all-data fit, leave-one-vendor-out interval.
        """
        measured = set(self.meta.get("measured_chips") or ())
        vend = self.vendors.get(vendor)
        if family in self.families:
            eff = self.families[family]
            if chip_id is None or not measured or chip_id in measured:
                return eff
            return _widen(eff, vend or self.default, "family-unmeasured-chip")
        newest = self.newest_family.get(vendor)
        if newest in self.families and vend is not None:
            near = self._nearest(vendor, year)
            if near is not None and near != newest:
                return _widen(self.families[near], vend, "vendor-nearest")
            return _widen(self.families[newest], vend, "vendor-newest")
        if vend is not None:
            return vend
        return self.default

    def _nearest(self, vendor: str, year: int | None) -> str | None:
        """The vendor's measured family whose newest measured chip is nearest to `year`."""
        years = [(y, f) for f, (v, y) in self.family_years.items() if v == vendor and y]
        if year is None or not years:
            return None
        return min(years, key=lambda yf: (abs(yf[0] - year), yf[0]))[1]


def _widen(eff: Efficiency, wider: Efficiency, level: str) -> Efficiency:
    return eff.with_(
        interval_log_lo=min(eff.interval_log_lo, wider.interval_log_lo),
        interval_log_hi=max(eff.interval_log_hi, wider.interval_log_hi),
        level=level,
    )


def _eff(d: dict[str, Any], level: str, name: str) -> Efficiency:
    known = set(Efficiency.__dataclass_fields__)
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"calibration {name}: unknown keys {sorted(unknown)}")
    return Efficiency(**{**d, "level": level, "name": name})


def parse_table(raw: dict[str, Any]) -> CalibrationTable:
    fam_raw = {k: dict(v) for k, v in (raw.get("families") or {}).items()}
    newest: dict[str, tuple[int, str]] = {}
    years: dict[str, tuple[str, int]] = {}
    for k, v in fam_raw.items():
        vendor, year = v.pop("vendor", None), v.pop("newest_measured_year", 0)
        if vendor:
            years[k] = (vendor, year)
        if vendor and year >= newest.get(vendor, (-1, ""))[0]:
            newest[vendor] = (year, k)
    fams = {k: _eff(v, "family", k) for k, v in fam_raw.items()}
    vens = {k: _eff(v, "vendor", k) for k, v in (raw.get("vendors") or {}).items()}
    default = _eff(raw.get("default") or {}, "default", "default")
    meta = dict(raw.get("meta") or {})
    return CalibrationTable(
        fams, vens, default, meta, {v: k for v, (_, k) in newest.items()}, years
    )


@lru_cache(maxsize=4)
def load_calibration(path: str | None = None) -> CalibrationTable:
    """The shipped calibration table (or the one at `path`)."""
    p = Path(path) if path else CALIBRATION_FILE
    if not p.exists():
        return CalibrationTable({}, {}, Efficiency(), {"note": "no calibration file"})
    with p.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    return parse_table(raw)


def interval(pred: float, eff: Efficiency, n_assumptions: int = 0) -> tuple[float, float]:
    """80% interval on a throughput prediction from cross-validated log residuals
    (10th/90th percentiles of log(pred/measured)); each spec fallback widens it by 10%."""
    widen = 0.10 * n_assumptions
    return pred * math.exp(-eff.interval_log_hi - widen), pred * math.exp(
        -eff.interval_log_lo + widen
    )
