"""Engine constants read from `chipswitch/data/engine_defaults.yaml` (each with its note).

Loaded once at import: the documented defaults of the efficiencies that are not fitted, the
fallbacks for unset catalog values and the memory reserve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "data" / "engine_defaults.yaml"


def _load() -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    raw: dict[str, Any] = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))
    gemm = {k: v["value"] for k, v in raw.pop("gemm").items()}
    numbers = {
        section: {k: float(v["value"]) for k, v in entries.items()}
        for section, entries in raw.items()
    }
    return numbers, gemm


DEFAULTS, GEMM = _load()
EFFICIENCY = DEFAULTS["efficiency"]
FALLBACKS = DEFAULTS["fallbacks"]
MEMORY = DEFAULTS["memory"]
