"""A sweep resolved against the catalog, and its expansion into grid points.

Resolution turns ids into typed specs once (models, chips, what-if chips in SI units, the
calibration each chip uses, prices), so every point of the grid refers to the same objects and
a worker on another machine needs nothing but the `Context`. Each point carries a stable key:
a hash of every input that changes its numbers, so a resumed run can recognise finished work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chipswitch import __version__, units
from chipswitch._yaml import load_model
from chipswitch.catalog import Catalog
from chipswitch.errors import CatalogFileError, UnknownNameError
from chipswitch.hardware.spec import Chip, Price
from chipswitch.model.shape import ModelShape
from chipswitch.perf.efficiency import CalibrationTable, Efficiency, load_calibration
from chipswitch.planning.compare import FailureOptions
from chipswitch.sweep.schema import (
    Constraints,
    DerivedChip,
    Objective,
    PrecisionName,
    SweepFile,
    axis_values,
)


class SweepFileError(CatalogFileError):
    """A sweep file that names something the catalog lacks, or asks for an impossible grid."""


def load_sweep_file(path: Path) -> SweepFile:
    """Parse and validate a sweep file; errors name the file and the field."""
    return load_model(Path(path), SweepFile)


@dataclass(frozen=True)
class PriceRef:
    """The price a point is costed at: an offering, its price type and the price itself."""

    offering: str
    price: Price

    @property
    def label(self) -> str:
        return f"{self.offering}:{self.price.type}"


@dataclass(frozen=True)
class Point:
    """One grid point: everything a search and its costing need, by id into the `Context`."""

    index: int
    key: str
    model: str
    chip: str
    n_chips: int
    global_batch: int  # sequences per step
    seq_len: int
    precision: PrecisionName
    tokens: float
    price: PriceRef | None

    @property
    def search_key(self) -> tuple[str, str, int, int, int, str]:
        """Points that share this key share one plan search (tokens and price only rescale)."""
        return (
            self.model,
            self.chip,
            self.n_chips,
            self.global_batch,
            self.seq_len,
            self.precision,
        )


@dataclass(frozen=True)
class Context:
    """What a worker needs besides the points: typed specs by id (picklable, no file access)."""

    models: dict[str, ModelShape]
    chips: dict[str, Chip]
    bases: dict[str, str]  # chip id -> catalog chip it derives from (itself for catalog chips)
    effs: dict[str, Efficiency]
    peers: tuple[Chip, ...]  # catalog chips, for family fallbacks of unset values
    failures: FailureOptions = dataclasses.field(default_factory=FailureOptions)  # all-in


@dataclass(frozen=True)
class Sweep:
    """A resolved sweep: the context, the axes in grid order, the objective and constraints."""

    name: str
    path: str
    context: Context
    models: tuple[str, ...]
    chips: tuple[str, ...]
    seq_lens: tuple[int, ...]
    batches: tuple[tuple[int, int], ...]  # (global batch in sequences or tokens, is_tokens)
    chip_counts: tuple[int, ...]
    precisions: tuple[PrecisionName, ...]
    tokens: tuple[float, ...]
    prices: dict[str, tuple[PriceRef | None, ...]]
    objective: Objective
    constraints: Constraints
    failure_rate: float | None = None  # per 1,000 chip-days; None: each family's sourced rate

    def points(self) -> list[Point]:
        """Every grid point, in grid order (models x chips x seq x batch x counts x precision
        x tokens x prices)."""
        digests = _digests(self.context)
        out: list[Point] = []
        axes = itertools.product(
            self.models, self.chips, self.seq_lens, self.batches, self.chip_counts,
            self.precisions, self.tokens,
        )  # fmt: skip
        for model, chip, seq, (batch, is_tokens), n, prec, tok in axes:
            gb = batch // seq if is_tokens else batch
            for price in self.prices[chip]:
                key = point_key(digests[model], digests[chip], n, gb, seq, prec, tok, price)
                out.append(Point(len(out), key, model, chip, n, gb, seq, prec, tok, price))
        return out

    def size(self) -> int:
        per_chip = sum(len(self.prices[c]) for c in self.chips)
        rest = len(self.seq_lens) * len(self.batches) * len(self.chip_counts)
        return len(self.models) * per_chip * rest * len(self.precisions) * len(self.tokens)

    @property
    def meta(self) -> dict[str, Any]:
        """Settings that shape the derived columns (stored in the output's metadata)."""
        return {
            "name": self.name,
            "objective": self.objective,
            "constraints": self.constraints.model_dump(),
            "failure_rate": self.failure_rate,
            "chipswitch": __version__,
        }


# -- keys ---------------------------------------------------------------------------------------
def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _digests(ctx: Context) -> dict[str, str]:
    """One digest per model and per chip (its SI spec, calibration and failure options),
    computed once."""
    out = {m: _digest(s.model_dump(mode="json")) for m, s in ctx.models.items()}
    for c, chip in ctx.chips.items():
        spec = dataclasses.asdict(chip) | {
            "_eff": dataclasses.asdict(ctx.effs[c]),
            "_failures": dataclasses.asdict(ctx.failures),
        }
        out[c] = _digest(spec)
    return out


def point_key(
    model_digest: str,
    chip_digest: str,
    n: int,
    gb: int,
    seq: int,
    precision: str,
    tokens: float,
    price: PriceRef | None,
) -> str:
    """Stable 20-hex-digit hash of a point's inputs (engine version included)."""
    p = None if price is None else [price.offering, dataclasses.asdict(price.price)]
    return _digest([__version__, model_digest, chip_digest, n, gb, seq, precision, tokens, p])[:20]


# -- resolution ---------------------------------------------------------------------------------
def resolve(
    sf: SweepFile,
    catalog: Catalog,
    path: Path | str = "<sweep>",
    *,
    table: CalibrationTable | None = None,
) -> Sweep:
    """Look every id up in the catalog; unknown ids raise SweepFileError with suggestions.
    `table` replaces the shipped calibration (e.g. with a profile's family)."""
    where = str(path)
    models = _resolve_models(sf.models, catalog, where)
    chips, bases = _resolve_chips(sf, catalog, where)
    cal = table if table is not None else load_calibration()
    effs = {
        cid: cal.for_chip(
            catalog.chips[b].family, catalog.chips[b].vendor, b, catalog.chips[b].release_year
        )
        for cid, b in bases.items()
    }
    failures = FailureOptions.from_user_units(sf.failure_rate)
    ctx = Context(models, chips, bases, effs, tuple(catalog.chips.values()), failures)
    seqs = tuple(axis_values(sf.seq_len))
    batches = _batches(sf, seqs, where)
    return Sweep(
        name=sf.name or Path(where).stem,
        path=where,
        context=ctx,
        models=tuple(models),
        chips=tuple(chips),
        seq_lens=seqs,
        batches=batches,
        chip_counts=tuple(axis_values(sf.chip_counts)),
        precisions=tuple(sf.precisions()),
        tokens=tuple(sf.token_values()),
        prices=_resolve_prices(sf, catalog, chips, bases, where),
        objective=sf.objective,
        constraints=sf.constraints,
        failure_rate=sf.failure_rate,
    )


def _unique(kind: str, ids: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise SweepFileError(where, [f"{kind}.{i}: {x} is listed twice"])
        seen.add(x)


def _resolve_models(names: Sequence[str], cat: Catalog, where: str) -> dict[str, ModelShape]:
    out: list[ModelShape] = []
    for i, name in enumerate(names):
        try:
            out.append(cat.model(name))
        except UnknownNameError as exc:
            raise SweepFileError(where, [f"models.{i}: {exc}"]) from None
    _unique("models", [m.id for m in out], where)
    return {m.id: m for m in out}


def _resolve_chips(
    sf: SweepFile, cat: Catalog, where: str
) -> tuple[dict[str, Chip], dict[str, str]]:
    chips: list[Chip] = []
    bases: dict[str, str] = {}
    for i, entry in enumerate(sf.chips):
        name = entry.base if isinstance(entry, DerivedChip) else entry
        field = f"chips.{i}.base" if isinstance(entry, DerivedChip) else f"chips.{i}"
        try:
            base = cat.chip(name)
        except UnknownNameError as exc:
            raise SweepFileError(where, [f"{field}: {exc}"]) from None
        if isinstance(entry, DerivedChip):
            if entry.id in cat.chips:
                raise SweepFileError(
                    where, [f"chips.{i}.id: {entry.id} is a catalog chip; name the what-if apart"]
                )
            try:
                chip = derive_chip(base, entry)
            except ValueError as exc:
                raise SweepFileError(where, [f"chips.{i}: {exc}"]) from None
        else:
            chip = base
        chips.append(chip)
        bases[chip.id] = base.id
    _unique("chips", [c.id for c in chips], where)
    return {c.id: c for c in chips}, bases


def _batches(sf: SweepFile, seqs: Sequence[int], where: str) -> tuple[tuple[int, int], ...]:
    if sf.global_batch is not None:
        return tuple((b, 0) for b in axis_values(sf.global_batch))
    if sf.global_batch_tokens is None:  # SweepFile requires one of the two
        raise SweepFileError(where, ["give global_batch or global_batch_tokens"])
    toks = axis_values(sf.global_batch_tokens)
    for t in toks:
        for s in seqs:
            if t % s:
                raise SweepFileError(
                    where,
                    [
                        f"global_batch_tokens: {t:,} tokens per step is not a whole number of "
                        f"{s:,}-token sequences; use multiples of every seq_len"
                    ],
                )
    return tuple((t, 1) for t in toks)


def _resolve_prices(
    sf: SweepFile, cat: Catalog, chips: dict[str, Chip], bases: dict[str, str], where: str
) -> dict[str, tuple[PriceRef | None, ...]]:
    out: dict[str, tuple[PriceRef | None, ...]] = {c: (None,) for c in chips}
    by_name = {c: c for c in chips} | {a.lower(): c.id for c in chips.values() for a in c.aliases}
    for name, specs in sf.prices.items():
        cid = by_name.get(name.strip().lower())
        if cid is None:
            err = UnknownNameError("chip", name, chips)
            raise SweepFileError(where, [f"prices.{name}: {err} (price keys are sweep chips)"])
        refs: list[PriceRef | None] = []
        for spec in [specs] if isinstance(specs, str) else specs:
            refs.append(_price_ref(spec, cat, cid, bases[cid], f"prices.{name}", where))
        if refs:
            out[cid] = tuple(refs)
    return out


def _price_ref(spec: str, cat: Catalog, chip: str, base: str, field: str, where: str) -> PriceRef:
    off_id, _, ptype = spec.partition(":")
    try:
        off = cat.offering(off_id)
    except UnknownNameError as exc:
        raise SweepFileError(where, [f"{field}: {exc}"]) from None
    if off.chip not in (chip, base):
        raise SweepFileError(where, [f"{field}: offering {off.id} rents {off.chip}, not {base}"])
    try:
        price = off.price(ptype or None)
    except ValueError as exc:
        raise SweepFileError(where, [f"{field}: {exc}"]) from None
    return PriceRef(off.id, price)


# -- what-if chips ------------------------------------------------------------------------------
#: Override key -> precision of `Chip.peak_flops` it sets.
_PEAKS = {
    "peak_bf16_dense_tflops": "bf16",
    "peak_fp16_dense_tflops": "fp16",
    "peak_fp8_dense_tflops": "fp8",
    "peak_fp32_tflops": "fp32",
}
#: Override key -> `Chip` attribute (SI) it sets.
_ATTRS = {
    "hbm_capacity_gb": "hbm_bytes",
    "hbm_capacity_gib": "hbm_bytes",
    "hbm_bandwidth_tb_per_s": "hbm_bandwidth",
    "tdp_w": "tdp_watts",
    "scale_up_gb_per_s_per_direction": "scale_up_bandwidth",
    "scale_up_domain_chips": "scale_up_domain",
    "chips_per_node": "chips_per_node",
    "scale_out_per_node_gbit_per_s": "scale_out_bandwidth_per_node",
}
_INTEGER_ATTRS = {"scale_up_domain", "chips_per_node"}
#: Size of each override key's file unit in SI (keys not listed are already SI: W, counts).
_UNIT = {
    "hbm_capacity_gb": units.GB,
    "hbm_capacity_gib": units.GIB,
    "hbm_bandwidth_tb_per_s": units.TB,
    "scale_up_gb_per_s_per_direction": units.GB,
    "scale_out_per_node_gbit_per_s": units.GBIT,
} | dict.fromkeys(_PEAKS, units.TFLOP)
#: Override key -> its entry in `Chip.unset`, where the file key differs.
_UNSET = {"scale_up_gb_per_s_per_direction": "scale_up.bandwidth_gb_per_s"}


def _current(chip: Chip, key: str) -> float | None:
    if key in _PEAKS:
        return chip.peak_flops.get(_PEAKS[key])
    value: float | None = getattr(chip, _ATTRS[key])
    return value


def derive_chip(base: Chip, d: DerivedChip) -> Chip:
    """`base` with `d.overrides` (file units, converted to SI) and `d.scale` (factors)."""
    si: dict[str, float] = {k: v * _UNIT.get(k, 1.0) for k, v in d.overrides.given().items()}
    for key, factor in d.scale.given().items():
        current = _current(base, key)
        if current is None:
            raise ValueError(f"scale.{key}: {base.id} has no value to scale; use overrides")
        si[key] = current * factor
    peaks = dict(base.peak_flops)
    changes: dict[str, Any] = {}
    for key, value in si.items():
        if key in _PEAKS:
            peaks[_PEAKS[key]] = value
            continue
        attr = _ATTRS[key]
        changes[attr] = round(value) if attr in _INTEGER_ATTRS else value
        if attr == "scale_up_bandwidth":
            changes["scale_up_direction_assumed"] = False
    filled = {_UNSET.get(k, k) for k in si}
    return dataclasses.replace(
        base,
        **changes,
        id=d.id,
        name=d.name or f"{base.name} (what-if {d.id})",
        aliases=(),
        peak_flops=peaks,
        unset=tuple(u for u in base.unset if u not in filled),
    )
