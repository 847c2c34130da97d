"""The catalog: chips, priced offerings, model shapes and the source registry.

Sources of entries, later ones overriding earlier ones by id:
1. the files shipped in `chipswitch/data/`;
2. each directory in the `CHIPSWITCH_CATALOG` environment variable (os.pathsep-separated);
3. each directory passed explicitly (the CLI's `--catalog DIR`).

A directory may hold `chips/*.yaml`, `offerings/*.yaml`, `models/*.yaml` and `sources.yaml`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from chipswitch._yaml import format_validation_error, load_model, read_yaml
from chipswitch.catalog import ENV_VAR
from chipswitch.catalog.files import ChipFile, OfferingFile, SourceFile
from chipswitch.errors import CatalogFileError, UnknownNameError
from chipswitch.hardware.spec import Chip, Offering
from chipswitch.model.shape import ModelShape

T = TypeVar("T")
F = TypeVar("F", bound=BaseModel)
E = TypeVar("E")

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass
class Catalog:
    chips: dict[str, Chip] = field(default_factory=dict)
    offerings: dict[str, Offering] = field(default_factory=dict)
    models: dict[str, ModelShape] = field(default_factory=dict)
    sources: dict[str, SourceFile] = field(default_factory=dict)
    origin: dict[str, Path] = field(default_factory=dict)

    # -- lookups ---------------------------------------------------------------------------
    def chip(self, name: str) -> Chip:
        """Chip by id or alias (case-insensitive); unknown names raise with suggestions."""
        return _lookup("chip", name, self.chips, lambda c: c.aliases)

    def model(self, name: str) -> ModelShape:
        return _lookup("model", name, self.models, lambda m: tuple(m.aliases))

    def offering(self, name: str) -> Offering:
        return _lookup("offering", name, self.offerings, lambda o: ())

    def offerings_for(self, chip_id: str) -> list[Offering]:
        return [o for o in self.offerings.values() if o.chip == chip_id]

    # -- loading ---------------------------------------------------------------------------
    def add_dir(self, root: Path) -> None:
        """Load every catalog file under `root`, overriding entries with the same id."""
        if not root.is_dir():
            raise CatalogFileError(str(root), ["catalog directory does not exist"])
        src = root / "sources.yaml"
        if src.exists():
            raw = read_yaml(src) or {}
            if not isinstance(raw, dict):
                raise CatalogFileError(str(src), ["expected a mapping of source id -> entry"])
            for key, entry in raw.items():
                try:
                    self.sources[str(key)] = SourceFile.model_validate(entry)
                except ValidationError as exc:
                    problems = [f"{key}.{p}" for p in format_validation_error(exc)]
                    raise CatalogFileError(str(src), problems) from None
        self._load_entries(root / "chips", ChipFile, Chip.from_file, self.chips, "chip")
        self._load_entries(
            root / "offerings", OfferingFile, Offering.from_file, self.offerings, "offering"
        )
        self._load_entries(root / "models", ModelShape, lambda m: m, self.models, "model")

    def _load_entries(
        self,
        folder: Path,
        schema: type[F],
        build: Callable[[F], E],
        table: dict[str, E],
        kind: str,
    ) -> None:
        """Validate each `folder/*.yaml` as `schema`, convert it with `build` (to SI units) and
        store it under its id; a conversion error names the file."""
        for path in sorted(folder.glob("*.yaml")):
            raw = load_model(path, schema)
            try:
                entry = build(raw)
            except ValueError as exc:
                raise CatalogFileError(str(path), [str(exc)]) from None
            entry_id = entry.id  # type: ignore[attr-defined]
            table[entry_id] = entry
            self.origin[f"{kind}:{entry_id}"] = path

    def check_references(self) -> None:
        """Every source id cited exists; every offering names a known chip."""
        for chip in self.chips.values():
            missing = [s for s in chip.sources if s not in self.sources]
            if missing:
                path = self.origin.get(f"chip:{chip.id}", chip.id)
                raise CatalogFileError(str(path), [f"unknown source ids: {', '.join(missing)}"])
        for off in self.offerings.values():
            path = self.origin.get(f"offering:{off.id}", off.id)
            if off.chip not in self.chips:
                err = UnknownNameError("chip", off.chip, self.chips)
                raise CatalogFileError(str(path), [f"chip: {err}"])
            missing = sorted({s for p in off.prices for s in p.sources if s not in self.sources})
            if missing:
                raise CatalogFileError(str(path), [f"unknown source ids: {', '.join(missing)}"])


def _lookup(
    kind: str, name: str, table: Mapping[str, T], aliases: Callable[[T], Iterable[str]]
) -> T:
    key = name.strip().lower()
    if key in table:
        return table[key]
    for item in table.values():
        if key in (a.lower() for a in aliases(item)):
            return item
    names: list[str] = list(table)
    for item in table.values():
        names.extend(aliases(item))
    raise UnknownNameError(kind, name, names)


def catalog_dirs(extra: Iterable[str | Path] = ()) -> list[Path]:
    dirs = [DATA_DIR]
    env = os.environ.get(ENV_VAR, "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += [Path(p) for p in extra]
    return dirs


def load_catalog(extra_dirs: Sequence[str | Path] = ()) -> Catalog:
    """Load the shipped catalog, then `CHIPSWITCH_CATALOG` dirs, then `extra_dirs`."""
    return _load(tuple(str(p) for p in catalog_dirs(extra_dirs)))


@lru_cache(maxsize=8)
def _load(dirs: tuple[str, ...]) -> Catalog:
    cat = Catalog()
    for d in dirs:
        cat.add_dir(Path(d))
    cat.check_references()
    return cat
