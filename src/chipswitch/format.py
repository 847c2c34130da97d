"""Numbers as people read them: one formatting style for CLI tables, reports and the dashboard.

Three significant figures, a short suffix for large quantities (K, M, B, T: thousand, million,
billion, trillion), money with a leading "$", shares in percent, an interval after its centre in
the centre's unit: `money_interval(25.7e6, 19.02e6, 35.75e6) == "$25.7M (19.0-35.8)"`.

The dashboard has a twin of these functions in `web/static/format.js`; tests/test_format.py
runs it in Node and checks that both give the same text for the same numbers. Inputs are SI
values (USD, seconds, FLOP, fractions); None, NaN and infinities are shown as "—".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

DASH = "—"
DIGITS = 3
#: Suffix thresholds, largest first: thousand, million, billion, trillion.
SUFFIXES: tuple[tuple[float, str], ...] = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def decimals_for(x: float, digits: int = DIGITS) -> int:
    """Digits after the point that show `x` to `digits` significant figures (0 for large x)."""
    if x == 0:
        return digits - 1
    magnitude = math.floor(math.log10(abs(x)))
    # rounding can carry into the next power of ten (999.7 -> 1000)
    if _round_to(abs(x), magnitude - digits + 1) >= 10 ** (magnitude + 1):
        magnitude += 1
    return max(0, digits - 1 - magnitude)


def _round_to(x: float, exponent: int) -> float:
    """`x` rounded to a multiple of 10**exponent, half away from zero (format.js does the same)."""
    step = 10.0**exponent
    if step == 0.0:
        return x
    return math.floor(abs(x) / step + 0.5) * step * (1 if x >= 0 else -1)


def fixed(x: float, decimals: int) -> str:
    """`x` with `decimals` digits after the point and thousands separators: 1,234.5."""
    text = f"{x:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def _trim(text: str) -> str:
    """Drop trailing zeros after a decimal point: 15.0 -> 15, 2.50 -> 2.5."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def sig(x: float | None, digits: int = DIGITS) -> str:
    """`x` to `digits` significant figures, trailing zeros dropped: 1,060, 25.7, 0.819."""
    if x is None or not _finite(x):
        return DASH
    if x == 0:
        return "0"
    d = decimals_for(x, digits)
    magnitude = math.floor(math.log10(abs(x)))
    shown = _round_to(x, magnitude - digits + 1) if d == 0 else x  # 123,456 -> 123,000
    return _trim(fixed(shown, d))


def scale_of(x: float) -> tuple[float, str]:
    """The (divisor, suffix) under which `x` reads as 1 to 999: 2.5e10 -> (1e9, "B").

    Chosen on the rounded value, so 999,600 is "1M", not "1,000K".
    """
    if not math.isfinite(x) or x == 0:
        return 1.0, ""
    a = abs(x)
    magnitude = math.floor(math.log10(a))
    rounded = _round_to(a, magnitude - DIGITS + 1)
    for size, suffix in SUFFIXES:
        if rounded >= size:
            return size, suffix
    return 1.0, ""


def count(x: float | None) -> str:
    """A quantity with a suffix: 15T, 6.74B, 405M, 32K, 512, 0.5."""
    if x is None or not _finite(x):
        return DASH
    size, suffix = scale_of(x)
    return f"{sig(x / size)}{suffix}"


def money(x: float | None) -> str:
    """US dollars: $25.7M, $131B, -$3.54B, $950, $3.49."""
    if x is None or not _finite(x):
        return DASH
    sign = "-" if x < 0 else ""
    return f"{sign}${count(abs(x))}"


def interval(
    x: float | None, lo: float | None, hi: float | None, show: Callable[[float | None], str]
) -> str:
    """`show(x)` followed by the interval in the same unit and decimals: "$25.7M (19.0-35.8)".

    The bounds use the centre's suffix and number of decimals, so they line up with it; they
    are joined by " to " when one is negative: "-$2.16B (-5.00 to 3.00)".
    """
    head = show(x)
    if x is None or lo is None or hi is None or not (_finite(x) and _finite(lo) and _finite(hi)):
        return head
    size, _ = scale_of(abs(x))
    d = decimals_for(abs(x) / size) if x != 0 else DIGITS - 1
    sep = " to " if lo < 0 or hi < 0 else "-"
    return f"{head} ({fixed(lo / size, d)}{sep}{fixed(hi / size, d)})"


def sig_interval(x: float | None, lo: float | None, hi: float | None) -> str:
    """A number with its interval: "1,110 (802-1,510)", "53.9 (30.0-91.0)".

    Bounds take the centre's decimals; a centre with none (>= 100) rounds them to three
    significant figures too.
    """
    if x is None or lo is None or hi is None or not (_finite(x) and _finite(lo) and _finite(hi)):
        return sig(x)
    d = decimals_for(abs(x)) if x != 0 else DIGITS - 1
    lo_text, hi_text = (sig(lo), sig(hi)) if d == 0 else (fixed(lo, d), fixed(hi, d))
    sep = " to " if lo < 0 or hi < 0 else "-"
    return f"{sig(x)} ({lo_text}{sep}{hi_text})"


def money_interval(x: float | None, lo: float | None, hi: float | None) -> str:
    """Money with its interval: "$25.7M (19.0-35.8)"."""
    return interval(x, lo, hi, money)


def percent(x: float | None, digits: int = DIGITS) -> str:
    """A fraction in percent to `digits` significant figures: 0.5157 -> "51.6%"."""
    if x is None or not _finite(x):
        return DASH
    return f"{sig(100 * x, digits)}%"


def signed_percent(x: float | None, digits: int = DIGITS) -> str:
    """A signed fraction in percent: "+12.3%", "-4.1%"."""
    if x is None or not _finite(x):
        return DASH
    return ("+" if x > 0 else "") + percent(x, digits)


def flop(x: float | None) -> str:
    """A FLOP count in scientific notation with a superscript exponent: "7.38×10²⁷ FLOP"."""
    if x is None or not _finite(x):
        return DASH
    if x == 0:
        return "0 FLOP"
    exp = math.floor(math.log10(abs(x)))
    mant = x / 10**exp
    if abs(float(sig(mant).replace(",", ""))) >= 10:
        exp += 1
        mant = x / 10**exp
    return f"{sig(mant)}×10{str(exp).translate(SUPERSCRIPT)} FLOP"


#: Scenario path words -> plain words (suffixes carry units; a few names are terms of art).
PATH_WORDS: tuple[tuple[str, str], ...] = (
    (r"_usd_per_chip_hour$", " ($/chip-hour)"),
    (r"_usd_per_engineer_year$", " ($/engineer-year)"),
    (r"_usd_per_year$", " ($/year)"),
    (r"_usd_per_month$", " ($/month)"),
    (r"_usd$", " ($)"),
    (r"_per_year$", " per year"),
    (r"^r_inf$", "long-run efficiency"),
    (r"^r0$", "starting efficiency"),
    (r"^tau_months$", "time constant (months)"),
    (r"_months$", " (months)"),
    (r"_month$", " (month)"),
    (r"^p_close$", "chance it closes"),
    (r"^p_abandon$", "chance the port is abandoned"),
    (r"^take_or_pay_fraction$", "take-or-pay share"),
)


def human_label(label: str) -> str:
    """A scenario path as words: "gpu.price_usd_per_chip_hour" -> "gpu price ($/chip-hour)".

    Labels that already read as words (they contain a space, or no "." or "_") are kept.
    """
    if " " in label or not re.search(r"[._]", label):
        return label
    words: list[str] = []
    for part in label.split("."):
        for pattern, plain in PATH_WORDS:
            part = re.sub(pattern, plain, part)
        part = part.replace("_", " ")
        if not words or words[-1] != part:
            words.append(part)
    return " ".join(words)


def integer(x: float | None) -> str:
    """A whole number with thousands separators: 2,048."""
    if x is None or not _finite(x):
        return DASH
    return fixed(x, 0)


def days(seconds: float | None) -> str:
    """A duration in seconds as days: "160 days", "1.5 days"."""
    if seconds is None or not _finite(seconds):
        return DASH
    d = seconds / 86400.0
    return f"{sig(d)} day" if sig(d) == "1" else f"{sig(d)} days"
