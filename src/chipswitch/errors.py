"""Typed, actionable exceptions. Shells turn these into one-line messages, never tracebacks."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ChipswitchError(Exception):
    """Base class for every error caused by the user's input or environment."""


class UnknownNameError(ChipswitchError, KeyError):
    """A chip, model or offering id that the catalog does not know."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = closest(name, known)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown {kind} '{name}'{hint}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class CatalogFileError(ChipswitchError):
    """A catalog file that cannot be parsed or does not match its schema."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class InfeasibleError(ChipswitchError):
    """No parallel plan fits the request; the message says what is short."""


def closest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` known names closest to `name` (substring matches first, then fuzzy)."""
    known = sorted(set(known))
    low = name.lower()
    subs = [k for k in known if low and (low in k.lower() or k.lower() in low)]
    fuzzy = difflib.get_close_matches(low, known, n=n, cutoff=0.5)
    out: list[str] = []
    for k in subs + fuzzy:
        if k not in out:
            out.append(k)
    return out[:n]
