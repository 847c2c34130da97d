"""Dates of sources and prices against the decision date (docs/decide.md 'Honest dates').

Catalog dates are free text ('2025-03-17', 'late 2024 (rates valid until 2025-01-01)',
'2024-12..2025-05 (undated catalog snapshot)'). `month_of` reads the first date a text
mentions as a month 'YYYY-MM': a source is only as early as its first observation. 'early',
'mid' and 'late' YYYY read as YYYY-01, YYYY-05 and YYYY-09 (the start of each third of the
year); a bare year reads as its January. A text with no date (or 'undated') gives None: such
a price cannot be shown to predate a decision.
"""

from __future__ import annotations

import re

_ISO = re.compile(r"(\d{4})-(\d{2})")
_WORD = re.compile(r"\b(early|mid|late)[\s-]+(\d{4})\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(\d{4})\b")
_THIRD = {"early": "01", "mid": "05", "late": "09"}


def month_of(text: str | None) -> str | None:
    """'YYYY-MM' of the first date mentioned in `text`, or None."""
    if not text or "undated" in text.lower():
        return None
    hits: list[tuple[int, str]] = []
    if m := _ISO.search(text):
        hits.append((m.start(), f"{m.group(1)}-{m.group(2)}"))
    if m := _WORD.search(text):
        hits.append((m.start(), f"{m.group(2)}-{_THIRD[m.group(1).lower()]}"))
    if not hits and (m := _YEAR.search(text)):
        hits.append((m.start(), f"{m.group(1)}-01"))
    return min(hits)[1] if hits else None


def after(date: str, decision_date: str) -> bool:
    """Whether `date` (YYYY-MM[-DD]) falls in a later month than `decision_date` (YYYY-MM)."""
    return date[:7] > decision_date[:7]
