"""Calibration parameters: the few physically meaningful efficiencies of a chip family.

Vendor peaks are facts (catalog); these are measurements with a date, a software stack and the
script that produced them (`scripts/fit_calibration.py`, stored in
`chipswitch/data/calibration.yaml`). Lookup order for a chip: its family, then its vendor,
then the all-family default; the interval widens at each fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "data" / "calibration.yaml"


@dataclass(frozen=True)
class Efficiency:
    """Achievable fractions of datasheet rates, and fixed overheads (seconds).

    matmul: fraction of dense peak FLOP/s a large GEMM sustains (roofline compute ceiling).
    attention: fraction of dense peak a fused (flash) attention kernel sustains.
    memory: fraction of HBM bandwidth that elementwise/normalisation kernels sustain.
    fp8_matmul: fraction of the fp8 peak an fp8 GEMM sustains.
    collective_up / collective_out: bus bandwidth as a fraction of the scale-up link
        bandwidth per direction / of the scale-out NIC bandwidth per worker.
    latency_up / latency_out: per-step latency of a collective on each tier (s).
    kernel_overhead: fixed time per GEMM launch (s); makes small GEMMs inefficient.
    layer_overhead: fixed host/framework time per layer per micro-batch (fwd+bwd) (s).
    dp_overlap: fraction of the overlap window during which data-parallel traffic hides.
    tp_exposed: fraction of tensor-parallel traffic that is not hidden behind compute.
    interval_log_lo / interval_log_hi: 10th and 90th percentiles of log(predicted/measured)
        in cross-validation; an 80% interval on throughput is pred*exp(-hi)..pred*exp(-lo).
    """

    matmul: float = 0.75
    attention: float = 0.45
    memory: float = 0.7
    fp8_matmul: float = 0.6
    collective_up: float = 0.75
    collective_out: float = 0.8
    latency_up: float = 10e-6
    latency_out: float = 30e-6
    kernel_overhead: float = 4e-6
    layer_overhead: float = 0.0
    dp_overlap: float = 0.8
    tp_exposed: float = 1.0
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

    def for_chip(self, family: str, vendor: str) -> Efficiency:
        if family in self.families:
            return self.families[family]
        if vendor in self.vendors:
            return self.vendors[vendor]
        return self.default


def _eff(d: dict[str, Any], level: str, name: str) -> Efficiency:
    known = set(Efficiency.__dataclass_fields__)
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"calibration {name}: unknown keys {sorted(unknown)}")
    return Efficiency(**{**d, "level": level, "name": name})


def parse_table(raw: dict[str, Any]) -> CalibrationTable:
    fams = {k: _eff(v, "family", k) for k, v in (raw.get("families") or {}).items()}
    vens = {k: _eff(v, "vendor", k) for k, v in (raw.get("vendors") or {}).items()}
    default = _eff(raw.get("default") or {}, "default", "default")
    return CalibrationTable(fams, vens, default, dict(raw.get("meta") or {}))


@lru_cache(maxsize=4)
def load_calibration(path: str | None = None) -> CalibrationTable:
    """The shipped calibration table (or the one at `path`)."""
    p = Path(path) if path else CALIBRATION_FILE
    if not p.exists():
        return CalibrationTable({}, {}, Efficiency(), {"note": "no calibration file"})
    with p.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    return parse_table(raw)
