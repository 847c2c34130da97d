"""chipswitch.format: three significant figures, suffixes, money, percent; and its JS twin.

The dashboard formats numbers with `web/static/format.js`; the twin test runs that file in
Node (skipped when `node` is absent; the browser tests run it in Chromium as well) and checks
that it writes the same text as the Python module for the same numbers.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipswitch import format as fmt

FORMAT_JS = Path(fmt.__file__).parent / "web" / "static" / "format.js"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (25_727_981, "$25.7M"),
        (131.34e9, "$131B"),
        (-3.54e9, "-$3.54B"),
        (999_600, "$1M"),
        (3.4949, "$3.49"),
        (950, "$950"),
        (0, "$0"),
        (None, "—"),
        (math.nan, "—"),
        (math.inf, "—"),
    ],
)
def test_money(value: float | None, text: str) -> None:
    assert fmt.money(value) == text


def test_the_issue_examples() -> None:
    assert fmt.money_interval(25_727_981, 19_021_676, 35_751_033) == "$25.7M (19.0-35.8)"
    assert f"{fmt.count(1.5e13)} tokens" == "15T tokens"
    assert fmt.money(1.3134e11) == "$131B"
    assert fmt.percent(0.0868327) == "8.68%"


def test_significant_figures() -> None:
    assert fmt.sig(1059.86) == "1,060"
    assert fmt.sig(123_456) == "123,000"
    assert fmt.sig(0.000123456) == "0.000123"
    assert fmt.sig(999.7) == "1,000"
    assert fmt.sig(25.0) == "25"
    assert fmt.count(999.7) == "1K"
    assert fmt.count(6.74e9) == "6.74B"
    assert fmt.percent(0.5157) == "51.6%"
    assert fmt.signed_percent(0.123) == "+12.3%" and fmt.signed_percent(-0.041) == "-4.1%"
    assert fmt.flop(7.382e27) == "7.38×10²⁷ FLOP"
    assert fmt.flop(9.996e27) == "1×10²⁸ FLOP"
    assert fmt.days(13_821_114) == "160 days"
    assert fmt.integer(2048) == "2,048"


def test_plain_interval() -> None:
    assert fmt.sig_interval(1114.2, 802.3, 1507.0) == "1,110 (802-1,510)"
    assert fmt.sig_interval(-1.0, -2.0, 3.0) == "-1 (-2.00 to 3.00)"
    assert fmt.sig_interval(53.9, 30.02, 91.0) == "53.9 (30.0-91.0)"
    assert fmt.sig_interval(5.0, None, 6.0) == "5"


def test_interval_bounds_take_the_centre_unit() -> None:
    assert fmt.money_interval(131e9, 95.3e9, 180.2e9) == "$131B (95-180)"
    assert fmt.money_interval(-2.16e9, -5e9, 3e9) == "-$2.16B (-5.00 to 3.00)"
    assert fmt.money_interval(5e6, None, 6e6) == "$5M"


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-1e30, max_value=1e30).filter(lambda x: x == 0 or abs(x) > 1e-12))
def test_three_significant_figures_at_most(x: float) -> None:
    """The digits shown, leading zeros aside, never exceed three (a round trip within 0.5%)."""
    text = fmt.count(x)
    size = {"T": 1e12, "B": 1e9, "M": 1e6, "K": 1e3}.get(text[-1], 1.0)
    shown = float(text.rstrip("TBMK").replace(",", "")) * size
    assert abs(shown - x) <= 0.0051 * abs(x) + 1e-300
    digits = text.rstrip("TBMK").replace(",", "").replace("-", "").replace(".", "").lstrip("0")
    assert len(digits.rstrip("0")) <= 3


# no exact ties (0.125 rounds half-even in Python, half-up in JS); plain decimals below 1e15
SAMPLES = [
    0.0,
    1.0,
    -1.0,
    0.4,
    0.000123456,
    3.4949,
    25.0,
    99.96,
    999.7,
    1059.86,
    123_456.0,
    999_600.0,
    25_727_981.0,
    -3.54e9,
    1.3134e11,
    1.5e13,
    0.0868327,
    0.5157,
    -0.041,
    13_821_114.0,
    2048.0,
    6.74e9,
    412.6e6,
]
HUGE = [7.382e27, 9.996e27, -1.2e20]
INTERVALS = [
    (25_727_981, 19_021_676, 35_751_033),
    (131e9, 95.3e9, 180.2e9),
    (-2.16e9, -5e9, 3e9),
    (53.9, 30.02, 91.0),
    (1114.2, 802.3, 1507.0),
]


LABELS = [
    "gpu.price_usd_per_chip_hour",
    "trainium.ramp.r_inf",
    "trainium.ramp.tau_months",
    "decline.financing.p_close",
    "hedge.hedge.switch_cost_usd",
    "company.revenue_growth_per_year",
    "migration.loaded_cost_usd_per_engineer_year",
    "trainium throughput (engine)",
    "GPU shortfall",
]


def test_human_labels() -> None:
    assert fmt.human_label("gpu.price_usd_per_chip_hour") == "gpu price ($/chip-hour)"
    assert fmt.human_label("trainium.ramp.r_inf") == "trainium ramp long-run efficiency"
    assert fmt.human_label("hedge.hedge.switch_cost_usd") == "hedge switch cost ($)"
    assert fmt.human_label("trainium throughput (engine)") == "trainium throughput (engine)"
    assert all("_" not in fmt.human_label(x) and "." not in fmt.human_label(x) for x in LABELS)


def _python_texts() -> dict[str, list[str]]:
    return {
        "humanLabel": [fmt.human_label(x) for x in LABELS],
        "sig": [fmt.sig(x) for x in SAMPLES],
        "count": [fmt.count(x) for x in SAMPLES],
        "money": [fmt.money(x) for x in SAMPLES],
        "percent": [fmt.percent(x) for x in SAMPLES],
        "signedPercent": [fmt.signed_percent(x) for x in SAMPLES],
        "flop": [fmt.flop(x) for x in SAMPLES + HUGE],
        "moneyHuge": [fmt.money(x) for x in HUGE],
        "days": [fmt.days(x) for x in SAMPLES],
        "integer": [fmt.integer(x) for x in SAMPLES],
        "moneyInterval": [fmt.money_interval(*iv) for iv in INTERVALS],
        "sigInterval": [fmt.sig_interval(*iv) for iv in INTERVALS],
    }


JS_DRIVER = """
const samples = %s, intervals = %s, huge = %s, labels = %s;
const out = {humanLabel: labels.map((x) => fmt.humanLabel(x))};
for (const f of ["sig", "count", "money", "percent", "signedPercent", "days", "integer"])
  out[f] = samples.map((x) => fmt[f](x));
out.flop = samples.concat(huge).map((x) => fmt.flop(x));
out.moneyHuge = huge.map((x) => fmt.money(x));
out.moneyInterval = intervals.map((iv) => fmt.moneyInterval(...iv));
out.sigInterval = intervals.map((iv) => fmt.sigInterval(...iv));
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is absent")
def test_the_javascript_twin_writes_the_same_text() -> None:
    script = FORMAT_JS.read_text() + JS_DRIVER % tuple(
        map(json.dumps, (SAMPLES, INTERVALS, HUGE, LABELS))
    )
    node = shutil.which("node")
    assert node
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == _python_texts()
