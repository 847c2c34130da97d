"""Predict published training runs with their own parallel layout and report the errors.

Input rows follow `data/validation/README.md` (documented in docs/validation.md): the full
model shape, the accelerator id and count, the layout that was run (tp/pp/dp/cp/ep/vp,
ZeRO stage, micro-batch, global batch, precision, recomputation) and the measured
`tokens_per_s_per_chip`. Each usable row is predicted with exactly that layout; rows that
cannot be modelled are returned with the reason, never dropped silently.

Blank fields, as the README allows, are read as: cp/pp/ep/vp = 1; ZeRO stage = 1
(distributed optimizer); micro-batch = 1; precision = bf16; recompute = the cheapest of
none/selective/full whose memory fits the chip (what a practitioner would have run);
software = the chip vendor's reference stack (data/software.yaml); sp = true when tp > 1.
Trainium rows give the layout in NeuronCores; they are modelled with one worker per core.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from chipswitch._io import read_text
from chipswitch.catalog import Catalog
from chipswitch.errors import ChipswitchError, UnknownNameError
from chipswitch.model.shape import MLASpec, ModelShape, MoESpec
from chipswitch.parallel.plan import Plan, PlanArrays, Recompute
from chipswitch.perf import memory
from chipswitch.perf.efficiency import (
    CV_FILE,
    CalibrationTable,
    Efficiency,
    interval,
    load_calibration,
)
from chipswitch.perf.estimate import estimate
from chipswitch.perf.software import load_software
from chipswitch.perf.system import build_system
from chipswitch.perf.workload import Workload

REQUIRED_COLUMNS = (
    "id",
    "layers",
    "hidden",
    "ffn_hidden",
    "heads",
    "vocab",
    "seq_len",
    "accelerator_id",
    "n_chips",
    "tp",
    "dp",
    "global_batch",
    "tokens_per_s_per_chip",
)


@dataclass(frozen=True)
class RowCase:
    """One row turned into engine inputs."""

    id: str
    source: str
    accelerator: str
    family: str
    vendor: str
    model: ModelShape
    workload: Workload
    chip_id: str
    n_chips: int
    workers_per_chip: int
    plans: tuple[Plan, ...]  # candidates (several when recompute is blank)
    measured: float
    software: str | None = None
    megacore: bool = False  # the chip splits each operation over TensorCores (Efficiency)


@dataclass(frozen=True)
class RowResult:
    id: str
    source: str
    accelerator: str
    family: str
    predicted: float
    measured: float
    interval: tuple[float, float]
    plan: str
    mfu: float
    memory_bytes: float
    memory_capacity: float
    calibration_level: str

    @property
    def error(self) -> float:
        return self.predicted / self.measured - 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "accelerator": self.accelerator,
            "predicted_tokens_per_s_per_chip": self.predicted,
            "measured_tokens_per_s_per_chip": self.measured,
            "error": self.error,
            "interval": list(self.interval),
            "plan": self.plan,
            "mfu": self.mfu,
            "memory_bytes": self.memory_bytes,
            "memory_capacity_bytes": self.memory_capacity,
            "calibration_level": self.calibration_level,
        }


@dataclass(frozen=True)
class CrossValidated:
    """A row's leave-one-source-out prediction, stored by scripts/fit_calibration.py."""

    measured: float
    predicted: float
    lo: float
    hi: float
    level: str


@lru_cache(maxsize=2)
def load_cv(path: str | None = None) -> dict[str, CrossValidated]:
    """Leave-one-source-out predictions of the rows the shipped calibration was fitted on."""
    p = Path(path) if path else CV_FILE
    if not p.exists():
        return {}
    with p.open(newline="", encoding="utf-8") as fh:
        return {
            r["id"]: CrossValidated(
                float(r["measured"]),
                float(r["cv_predicted"]),
                float(r["cv_lo"]),
                float(r["cv_hi"]),
                r["level"],
            )
            for r in csv.DictReader(fh)
        }


@dataclass
class ValidationReport:
    results: list[RowResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    cv_results: list[RowResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Error statistics. `cv` (same fields as `all`) scores the leave-one-source-out
        predictions of the rows that the shipped calibration was fitted on: each predicted by
        the calibration fitted without its source (`cv_by_source` per source)."""
        return {
            "all": _stats(self.results),
            "cv": _stats(self.cv_results),
            "cv_by_source": {k: _stats(v) for k, v in _group(self.cv_results, "source").items()},
            "by_source": {k: _stats(v) for k, v in _group(self.results, "source").items()},
            "by_accelerator": {
                k: _stats(v) for k, v in _group(self.results, "accelerator").items()
            },
            "rows_predicted": len(self.results),
            "rows_skipped": len(self.skipped),
        }


def _group(results: Iterable[RowResult], attr: str) -> dict[str, list[RowResult]]:
    out: dict[str, list[RowResult]] = {}
    for r in results:
        out.setdefault(getattr(r, attr), []).append(r)
    return dict(sorted(out.items()))


def _stats(results: Sequence[RowResult]) -> dict[str, float | int | None]:
    if not results:
        return {"n": 0, "median_abs_error": None, "p90_abs_error": None, "mean_signed_error": None}
    e = np.array([r.error for r in results])
    inside = [r.interval[0] <= r.measured <= r.interval[1] for r in results]
    return {
        "n": len(results),
        "median_abs_error": float(np.median(np.abs(e))),
        "p90_abs_error": float(np.quantile(np.abs(e), 0.9)),
        "mean_abs_error": float(np.mean(np.abs(e))),
        "median_signed_error": float(np.median(e)),
        "mean_signed_error": float(np.mean(e)),
        "interval_coverage": float(np.mean(inside)),
    }


# ---------------------------------------------------------------------------------------------
def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a validation CSV as column -> text.

    UTF-8 with or without the byte-order mark Excel writes; a quote left open (which would
    swallow the following rows into one field) and a row with more fields than the header are
    errors naming the line, not rows read wrongly.
    """
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ChipswitchError(f"{path}: missing columns: {', '.join(missing)}")
        rows = []
        for row in reader:
            if None in row:  # DictReader files surplus fields under the key None
                raise ChipswitchError(
                    f"{path}: line {reader.line_num}: {len(row) - 1 + len(row[None])} fields, "
                    f"the header has {len(reader.fieldnames or [])}"
                )
            rows.append(row)
        return rows
    except csv.Error as exc:
        raise ChipswitchError(
            f"{path}: line {reader.reader.line_num}: malformed CSV ({exc}); is a quote left open?"
        ) from None


def _int(row: dict[str, str], key: str, default: int | None = None) -> int | None:
    v = (row.get(key) or "").strip()
    if not v:
        return default
    return int(float(v))


def _window(note: str) -> tuple[int | None, float]:
    m = re.search(r"(\d+):(\d+)\s+local-(\d+)", note)
    if m:
        a, b, w = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return w, a / (a + b)
    m = re.search(r"alternating\s+(\d+)-window", note)
    if m:
        return int(m.group(1)), 0.5
    return None, 0.0


def _match_catalog(cat: Catalog, **dims: int) -> ModelShape | None:
    for m in cat.models.values():
        if all(getattr(m, k) == v for k, v in dims.items()):
            return m
    return None


def _note_int(note: str, *patterns: str) -> int | None:
    for pat in patterns:
        m = re.search(pat, note)
        if m:
            return int(m.group(1))
    return None


def _row_moe(row: dict[str, str], layers: int, note: str) -> MoESpec | None:
    """MoE block from the columns, with shared experts and dense layers read from the note
    (the validation README puts them there)."""
    experts = _int(row, "moe_experts")
    if not experts or experts < 2:
        return None
    width = _int(row, "moe_ffn_hidden") or _int(row, "ffn_hidden") or 1
    shared = _note_int(note, r"(\d+)\s*shared\s*experts?", r"shared[_ ]experts?\s*[=:]\s*(\d+)")
    if shared is None and "shared expert" in note:
        shared = 1
    first_dense = _note_int(
        note,
        r"first\s+(\d+)\s+(?:layers\s+)?(?:are\s+)?dense",
        r"(\d+)\s+dense\s+layers?\s+first",
        r"first_k_dense\w*\s*[=:]\s*(\d+)",
    )
    freq = 1
    if "interleav" in note:
        freq, first_dense = 2, 0
    return MoESpec(
        experts=experts,
        top_k=_int(row, "moe_topk", 2) or 2,
        expert_ffn_hidden=width,
        shared_experts=shared or 0,
        shared_expert_ffn_hidden=width if shared else None,
        first_dense_layers=min(first_dense or 0, layers),
        layer_freq=freq,
    )


def _row_mla(note: str) -> MLASpec:
    """MLA ranks from the note, else DeepSeek-V2/V3's (arXiv:2412.19437 section 4.2)."""
    q = _note_int(note, r"q_lora(?:_rank)?\s*[=:]?\s*(\d+)")
    return MLASpec(
        q_lora_rank=q if q is not None else 1536,
        kv_lora_rank=_note_int(note, r"kv_lora(?:_rank)?\s*[=:]?\s*(\d+)") or 512,
        qk_nope_head_dim=_note_int(note, r"qk_nope(?:_head_dim)?\s*[=:]?\s*(\d+)") or 128,
        qk_rope_head_dim=_note_int(note, r"qk_rope(?:_head_dim)?\s*[=:]?\s*(\d+)") or 64,
        v_head_dim=_note_int(note, r"v_head(?:_dim)?\s*[=:]?\s*(\d+)") or 128,
    )


def row_model(row: dict[str, str], cat: Catalog) -> ModelShape:
    """The row's model shape; features the columns cannot express (MLA, shared experts,
    dense-first layers) are taken from a catalog model with the same dimensions."""
    layers, hidden, heads = _int(row, "layers"), _int(row, "hidden"), _int(row, "heads")
    vocab = _int(row, "vocab")
    if not (layers and hidden and heads and vocab):
        raise ChipswitchError("model shape incomplete (layers, hidden, heads and vocab are needed)")
    kv = _int(row, "kv_heads", heads) or heads
    head_dim = _int(row, "head_dim", hidden // heads) or hidden // heads
    note = row.get("note", "")
    shape_note = note.lower()
    known = _match_catalog(cat, layers=layers, hidden=hidden, heads=heads, vocab=vocab)
    if known is not None and (known.mla is not None or known.moe is not None):
        return known
    moe = _row_moe(row, layers, shape_note)
    mla = _row_mla(shape_note) if "mla" in shape_note.replace("mlas", "") else None
    window, frac = _window(note)
    gated = (row.get("glu") or "").strip().lower() == "true"
    return ModelShape(
        id=re.sub(r"[^a-z0-9.\-]+", "-", row["id"].lower()).strip("-") or "row",
        name=row.get("model_name") or row["id"],
        kind="encoder" if row.get("arch") == "encoder" else "decoder",
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=kv if heads % kv == 0 else heads,
        head_dim=head_dim,
        ffn_hidden=_int(row, "ffn_hidden") or 4 * hidden,
        vocab=vocab,
        gated_mlp=gated,
        activation="swiglu" if gated else "gelu",
        norm="rmsnorm" if gated else "layernorm",
        position="alibi" if "alibi" in shape_note else "rope",
        tied_embeddings="tied embeddings" in shape_note,
        parallel_block="parallel" in shape_note and "attention+mlp" in shape_note,
        sliding_window=window,
        sliding_window_fraction=frac,
        moe=moe,
        mla=mla,
    )


def row_case(row: dict[str, str], cat: Catalog) -> RowCase:
    """Engine inputs for a row, or ChipswitchError with the reason it cannot be modelled."""
    if (row.get("usable") or "true").strip().lower() == "false":
        reason = (row.get("note") or "").split(";")[0]
        raise ChipswitchError(f"marked usable=false ({reason[:120]})")
    measured = float(row.get("tokens_per_s_per_chip") or "nan")
    if not math.isfinite(measured) or measured <= 0:
        raise ChipswitchError("no measured tokens_per_s_per_chip")
    try:
        chip = cat.chip(row["accelerator_id"])
    except UnknownNameError as exc:
        raise ChipswitchError(str(exc)) from None
    n = _int(row, "n_chips")
    tp, dp = _int(row, "tp"), _int(row, "dp")
    if not n or not tp or not dp:
        raise ChipswitchError("layout incomplete (n_chips, tp and dp are needed)")
    pp, cp = _int(row, "pp", 1) or 1, _int(row, "cp", 1) or 1
    ep, vp = _int(row, "ep", 1) or 1, _int(row, "vp", 1) or 1
    workers = tp * pp * dp * cp
    wpc = workers // n if workers % n == 0 else 0
    cores = chip.neuroncores_per_chip or 1  # Trainium layouts count (logical) NeuronCores
    if wpc < 1 or cores % wpc:
        raise ChipswitchError(f"layout tp*pp*dp*cp = {workers} does not match {n} chips")
    gb = _int(row, "global_batch")
    seq = _int(row, "seq_len")
    if not gb or not seq:
        raise ChipswitchError("global_batch and seq_len are needed")
    mb = _int(row, "micro_batch", 1) or 1
    if gb % (dp * mb):
        mb = 1
    zs = (row.get("zero_stage") or "").strip().lower()
    zero = 3 if zs == "fsdp" else int(zs) if zs.isdigit() else 1
    prec = (row.get("precision") or "bf16").strip().lower() or "bf16"
    if prec not in ("bf16", "fp16", "fp8"):
        raise ChipswitchError(f"precision {prec} is not modelled")
    software = (row.get("software") or "").strip().lower() or None
    if software is not None:
        load_software().get(software)  # unknown stack: ChipswitchError naming the known ones
    sp_raw = (row.get("sp") or "").strip().lower()
    if sp_raw not in ("", "true", "false"):
        raise ChipswitchError(f"sp must be true or false, not '{sp_raw}'")
    rc = (row.get("recompute") or "").strip().lower()
    all_modes: tuple[Recompute, ...] = ("none", "selective", "full")
    modes = [m for m in all_modes if m == rc] or list(all_modes)
    # A ZeRO-3/FSDP row may have run fully sharded or hybrid-sharded (MaxText fsdp x data
    # axes, HSDP): both are candidates.
    shardings = (False, True) if zero == 3 else (False,)
    plans = tuple(
        Plan(
            tp=tp,
            pp=pp,
            dp=dp,
            cp=cp,
            ep=ep,
            vp=vp,
            micro_batch=mb,
            zero=zero,
            recompute=r,
            hsdp=hs,
            sequence_parallel=sp_raw != "false",
        )
        for r in modes
        for hs in shardings
    )
    model = row_model(row, cat)
    return RowCase(
        id=row["id"],
        source=re.split(r" \(|, ", row.get("source") or "")[0].strip(),
        accelerator=row["accelerator_id"],
        family=chip.family,
        vendor=chip.vendor,
        model=model,
        workload=Workload(model, gb, seq, "fp8" if prec == "fp8" else "bf16", software),
        chip_id=chip.id,
        n_chips=n,
        workers_per_chip=wpc,
        plans=plans,
        measured=measured,
        software=software,
        megacore=chip.megacore > 1,
    )


def predict_case(case: RowCase, cat: Catalog, eff: Efficiency) -> RowResult:
    chip = cat.chip(case.chip_id)
    sys = build_system(
        chip,
        case.n_chips,
        peers=cat.chips.values(),
        workers_per_chip=case.workers_per_chip,
        eff=eff,
    )
    arrays = PlanArrays.from_plans(list(case.plans))
    b = estimate(case.workload, sys, arrays)
    fits = b.mem_total <= sys.hbm_bytes * memory.USABLE_FRACTION
    # recompute: the cheapest mode that fits; sharding: the faster of the candidates
    score = np.where(fits, b.tokens_per_s_per_chip, -1.0)
    rc_order = np.array([p.recompute != "none" for p in case.plans]) * 1 + np.array(
        [p.recompute == "full" for p in case.plans]
    )
    if fits.any():
        first_rc = rc_order[fits].min()
        score = np.where(rc_order == first_rc, score, -1.0)
        i = int(np.argmax(score))
    else:
        i = len(case.plans) - 1
    pred = float(b.tokens_per_s_per_chip[i])
    lo, hi = interval(pred, eff, len(sys.assumptions))
    return RowResult(
        id=case.id,
        source=case.source,
        accelerator=case.accelerator,
        family=case.family,
        predicted=pred,
        measured=case.measured,
        interval=(lo, hi),
        plan=case.plans[i].describe(),
        mfu=float(b.mfu[i]),
        memory_bytes=float(b.mem_total[i]),
        memory_capacity=sys.hbm_bytes,
        calibration_level=eff.level,
    )


def validate_rows(
    rows: Iterable[dict[str, str]],
    cat: Catalog,
    table: CalibrationTable,
    cv: dict[str, CrossValidated] | None = None,
) -> ValidationReport:
    """Predict every usable row. `cv`: stored leave-one-source-out predictions to score as
    well (default: the shipped ones when `table` is the shipped calibration); a stored
    prediction counts only when its measured value matches the row's."""
    if cv is None and table is load_calibration():
        cv = load_cv()
    report = ValidationReport()
    for row in rows:
        try:
            case = row_case(row, cat)
        except (ChipswitchError, ValueError) as exc:
            report.skipped.append((row.get("id", "?"), str(exc)))
            continue
        year = cat.chips[case.chip_id].release_year if case.chip_id in cat.chips else None
        eff = table.for_chip(case.family, case.vendor, case.chip_id, year)
        result = predict_case(case, cat, eff)
        report.results.append(result)
        held_out = (cv or {}).get(case.id)
        if held_out is not None and math.isclose(held_out.measured, case.measured, rel_tol=1e-4):
            report.cv_results.append(
                replace(
                    result,
                    predicted=held_out.predicted,
                    interval=(held_out.lo, held_out.hi),
                    calibration_level=f"leave-one-source-out ({held_out.level})",
                )
            )
    return report
