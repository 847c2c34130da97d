"""A parallel training plan, and the struct-of-arrays form the vectorised engine evaluates.

Worker layout follows Megatron-LM's rank order (tensor innermost, then context, then data,
then pipeline; Narayanan et al. 2021 section 3.3): tensor and context groups are kept inside a
scale-up domain when they fit, data-parallel groups next, pipeline stages outermost.
Expert parallelism is carved out of data x context (Megatron and MaxText convention), so
`ep` divides `dp * cp` and adds no workers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Recompute = Literal["none", "selective", "full"]
RECOMPUTE_CODES: dict[str, int] = {"none": 0, "selective": 1, "full": 2}
RECOMPUTE_NAMES = {v: k for k, v in RECOMPUTE_CODES.items()}
ZERO_NAMES = {0: "0", 1: "1", 2: "2", 3: "3 (FSDP)"}


@dataclass(frozen=True)
class Plan:
    """One parallel plan. `zero` is the ZeRO stage (3 = FSDP full sharding)."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    ep: int = 1
    vp: int = 1
    micro_batch: int = 1
    zero: int = 1
    recompute: Recompute = "none"
    sequence_parallel: bool = True
    hsdp: bool = False  # ZeRO shards within a scale-up domain, replicas across domains

    @property
    def workers(self) -> int:
        return self.tp * self.pp * self.dp * self.cp

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """One line, e.g. `TP8 PP2 DP4 mb1 ZeRO-1 recompute=selective`; `parse_plan` reads it."""
        parts = [f"TP{self.tp}", f"PP{self.pp}"]
        if self.vp > 1:
            parts.append(f"VP{self.vp}")
        parts.append(f"DP{self.dp}")
        if self.cp > 1:
            parts.append(f"CP{self.cp}")
        if self.ep > 1:
            parts.append(f"EP{self.ep}")
        parts += [
            f"mb{self.micro_batch}",
            f"ZeRO-{ZERO_NAMES[self.zero]}",
            f"recompute={self.recompute}",
        ]
        if self.tp > 1 and not self.sequence_parallel:
            parts.append("no-SP")
        if self.hsdp:
            parts.append("HSDP")
        return " ".join(parts)

    def to_arrays(self) -> PlanArrays:
        return PlanArrays.from_plans([self])


@dataclass(frozen=True)
class PlanArrays:
    """Many plans as parallel integer arrays (one row per plan)."""

    tp: NDArray[np.int64]
    pp: NDArray[np.int64]
    dp: NDArray[np.int64]
    cp: NDArray[np.int64]
    ep: NDArray[np.int64]
    vp: NDArray[np.int64]
    micro_batch: NDArray[np.int64]
    zero: NDArray[np.int64]
    recompute: NDArray[np.int64]
    sequence_parallel: NDArray[np.bool_]
    hsdp: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.tp.shape[0])

    @classmethod
    def from_plans(cls, plans: list[Plan]) -> PlanArrays:
        cols: dict[str, list[int | bool]] = {f.name: [] for f in fields(cls)}
        for p in plans:
            for f in fields(cls):
                v = getattr(p, f.name)
                cols[f.name].append(RECOMPUTE_CODES[v] if f.name == "recompute" else v)
        arrays: dict[str, Any] = {
            k: np.asarray(v, dtype=np.bool_ if k in ("sequence_parallel", "hsdp") else np.int64)
            for k, v in cols.items()
        }
        return cls(**arrays)

    def take(self, idx: NDArray[np.int64] | NDArray[np.bool_]) -> PlanArrays:
        return PlanArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def plan(self, i: int) -> Plan:
        return Plan(
            tp=int(self.tp[i]),
            pp=int(self.pp[i]),
            dp=int(self.dp[i]),
            cp=int(self.cp[i]),
            ep=int(self.ep[i]),
            vp=int(self.vp[i]),
            micro_batch=int(self.micro_batch[i]),
            zero=int(self.zero[i]),
            recompute=RECOMPUTE_NAMES[int(self.recompute[i])],  # type: ignore[arg-type]
            sequence_parallel=bool(self.sequence_parallel[i]),
            hsdp=bool(self.hsdp[i]),
        )


_PLAN_DEGREES = {"TP": "tp", "PP": "pp", "VP": "vp", "DP": "dp", "CP": "cp", "EP": "ep"}


def parse_plan(text: str) -> Plan:
    """The inverse of `Plan.describe`: `"TP8 PP4 DP32 mb1 ZeRO-1 recompute=selective"`.

    Terms may come in any order and any case; omitted ones take `Plan`'s defaults. An unknown
    term raises ValueError naming it.
    """
    values: dict[str, Any] = {}
    for raw in text.replace(",", " ").split():
        term = raw.strip()
        up = term.upper()
        if up[:2] in _PLAN_DEGREES and up[2:].isdigit():
            values[_PLAN_DEGREES[up[:2]]] = int(up[2:])
        elif up.startswith("MB") and up[2:].isdigit():
            values["micro_batch"] = int(up[2:])
        elif up.startswith("ZERO-") and up[5:6].isdigit():
            values["zero"] = int(up[5])
        elif up in ("(FSDP)", "FSDP"):
            values["zero"] = 3
        elif up.startswith("RECOMPUTE="):
            mode = term.split("=", 1)[1].lower()
            if mode not in RECOMPUTE_CODES:
                raise ValueError(f"recompute must be one of none, selective, full, not '{mode}'")
            values["recompute"] = mode
        elif up == "NO-SP":
            values["sequence_parallel"] = False
        elif up == "HSDP":
            values["hsdp"] = True
        else:
            raise ValueError(
                f"unknown plan term '{term}' (expected TPn PPn VPn DPn CPn EPn mbN ZeRO-k "
                "recompute=none|selective|full no-SP HSDP)"
            )
    for key, v in values.items():
        if isinstance(v, int) and not isinstance(v, bool) and v < (0 if key == "zero" else 1):
            raise ValueError(f"plan term {key} must be at least 1, not {v}")
    if values.get("zero", 1) > 3:
        raise ValueError(f"ZeRO stage must be 0-3, not {values['zero']}")
    return Plan(**values)
