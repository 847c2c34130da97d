"""chipswitch: LLM training performance across accelerators, and the decision on top of it.

The front door is `chipswitch.Session` (see docs/api.md):

    import chipswitch
    s = chipswitch.Session()
    r = s.search("llama3.1-8b", "h100-sxm", chips=64, global_batch=256, seq=8192)

The library never prints or reads argv; `chipswitch.cli` and `chipswitch.web` are shells over
the session's methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from chipswitch.api.results import ComparisonReport as ComparisonReport
    from chipswitch.api.results import DecisionReport as DecisionReport
    from chipswitch.api.results import Estimate as Estimate
    from chipswitch.api.results import PlanEstimate as PlanEstimate
    from chipswitch.api.results import PlanReport as PlanReport
    from chipswitch.api.results import SweepReport as SweepReport
    from chipswitch.api.results import ValidationResult as ValidationResult
    from chipswitch.api.session import Session as Session
    from chipswitch.errors import ChipswitchError as ChipswitchError
    from chipswitch.errors import InfeasibleError as InfeasibleError
    from chipswitch.errors import UnknownNameError as UnknownNameError

_EXPORTS = {
    "Session": "chipswitch.api.session",
    "ComparisonReport": "chipswitch.api.results",
    "DecisionReport": "chipswitch.api.results",
    "Estimate": "chipswitch.api.results",
    "PlanEstimate": "chipswitch.api.results",
    "PlanReport": "chipswitch.api.results",
    "SweepReport": "chipswitch.api.results",
    "ValidationResult": "chipswitch.api.results",
    "ChipswitchError": "chipswitch.errors",
    "InfeasibleError": "chipswitch.errors",
    "UnknownNameError": "chipswitch.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import the public names on first use, so `import chipswitch` (and the CLI's start-up)
    does not load the engine."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'chipswitch' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
