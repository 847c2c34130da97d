"""The decision report's charts: small multiples with labelled overflow bins, a worded tornado.

`chipswitch.decide.charts` draws them from a `DecisionResult`; the figures are inspected as
plotly dictionaries (what the report embeds), not as pixels.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from chipswitch import format as fmt
from chipswitch.decide.charts import METRICS, distributions, nice_ticks, tornado
from chipswitch.decide.engine import OBJECTIVE_UNIT, DecisionResult, decide
from chipswitch.decide.report import render_html


@pytest.fixture(scope="module")
def res() -> DecisionResult:
    return decide(samples=500, seed=2)


def _pair(res: DecisionResult) -> tuple[str, str]:
    pair: tuple[str, str] = getattr(res, "pair", None) or res.sensitivity_pair
    return pair


@pytest.mark.slow
def test_one_row_per_option_and_overflow_bins_labelled(res: DecisionResult) -> None:
    fig: Any = distributions(res)
    metrics = [m for m in METRICS if m in res.distributions]
    options = list(res.distributions[metrics[0]]["counts"])
    assert len(fig.data) == len(metrics) * len(options)
    # each option has its own y axis in every column: nothing is overlaid
    assert len({(t.xaxis, t.yaxis) for t in fig.data}) == len(fig.data)
    notes = [a.text for a in fig.layout.annotations]
    for metric in metrics:
        hist = res.distributions[metric]
        show = METRICS[metric][1]
        for counts in hist["counts"].values():
            if counts[0] > 0:
                assert f"≤{show(hist['edges'][0])}" in notes
            if counts[-1] > 0:
                assert f"≥{show(hist['edges'][-1])}" in notes
    money_ticks = [
        t for ax in fig.layout if ax.startswith("xaxis") for t in (fig.layout[ax].ticktext or ())
    ]
    assert any(t.startswith(("$", "-$")) for t in money_ticks)


@pytest.mark.slow
def test_tornado_names_inputs_in_words_with_money_axis(res: DecisionResult) -> None:
    fig: Any = tornado(res, _pair(res), OBJECTIVE_UNIT[res.objective])
    labels = list(fig.data[0].y)
    assert labels and not [x for x in labels if re.search(r"\w\.\w|_", x)], labels
    ticks = list(fig.layout.xaxis.ticktext)
    assert ticks and all(t == "$0" or t.startswith(("$", "-$")) for t in ticks), ticks
    assert "e+" not in " ".join(str(t) for t in fig.data[0].text)


def test_nice_ticks() -> None:
    got = nice_ticks(-1.04e11, -1.07e10, fmt.money)
    assert got["tickvals"] == [-1e11, -7.5e10, -5e10, -2.5e10]
    assert got["ticktext"] == ["-$100B", "-$75B", "-$50B", "-$25B"]
    assert nice_ticks(1.0, 1.0, fmt.money) == {}


@pytest.mark.slow
def test_report_embeds_the_charts_without_a_cloud_button(res: DecisionResult) -> None:
    text = render_html(res)
    assert '"showSendToCloud": false' in text
    assert "≤" in text or "≥" in text  # overflow bins labelled
