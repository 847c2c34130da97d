"""Training software stacks and what they change in the step: host launch cost per kernel,
kernel fusion, flash attention and blocking tensor-parallel collectives.

The traits are data (`chipswitch/data/software.yaml`, one entry per stack with its note);
the names are the `software` vocabulary of the validation CSVs and of `plan --software`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from chipswitch.errors import ChipswitchError

SOFTWARE_FILE = Path(__file__).resolve().parent.parent / "data" / "software.yaml"


@dataclass(frozen=True)
class Software:
    """One stack's traits (see software.yaml for the meaning of each)."""

    name: str
    host_launch: float
    fused_elementwise: bool
    flash_attention: bool
    blocking_collectives: bool
    epilogue_fusion: bool
    legacy_attention_kernel: bool = False
    selective_gemm_recompute: float = 0.0
    ep_overlap: bool = False


@dataclass(frozen=True)
class SoftwareTable:
    stacks: dict[str, Software]
    by_vendor: dict[str, str]
    default: str

    def get(self, name: str | None, vendor: str | None = None) -> Software:
        """The named stack, or the vendor's reference stack when `name` is None."""
        if name is None:
            name = self.by_vendor.get(vendor or "", self.default)
        try:
            return self.stacks[name]
        except KeyError:
            known = ", ".join(sorted(self.stacks))
            raise ChipswitchError(f"unknown software '{name}'; known: {known}") from None


@lru_cache(maxsize=1)
def load_software() -> SoftwareTable:
    raw = yaml.safe_load(SOFTWARE_FILE.read_text(encoding="utf-8"))
    stacks = {
        k: Software(
            name=k,
            host_launch=float(v["host_launch"]),
            fused_elementwise=bool(v["fused_elementwise"]),
            flash_attention=bool(v["flash_attention"]),
            blocking_collectives=bool(v["blocking_collectives"]),
            epilogue_fusion=bool(v["epilogue_fusion"]),
            legacy_attention_kernel=bool(v.get("legacy_attention_kernel", False)),
            selective_gemm_recompute=float(v.get("selective_gemm_recompute", 0.0)),
            ep_overlap=bool(v.get("ep_overlap", False)),
        )
        for k, v in raw["stacks"].items()
    }
    return SoftwareTable(stacks, dict(raw["defaults_by_vendor"]), str(raw["default"]))


def software_names() -> tuple[str, ...]:
    return tuple(sorted(load_software().stacks))
