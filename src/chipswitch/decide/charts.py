"""Charts of the decision report: outcome distributions as small multiples, and the tornado.

Presenters over a `DecisionResult` (plotly figures; plotly is imported when a chart is drawn).
Each option gets its own row of histograms on axes shared down each column, instead of
translucent histograms overlaid into one block; the end bins, which also hold the tails
beyond the 0.5th and 99.5th percentiles, say so ("≤ -$109B"). Tornado bars carry the inputs'
names as words (`format.human_label`), and every axis its unit through `chipswitch.format`,
as the dashboard does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from chipswitch import format as fmt

if TYPE_CHECKING:
    from chipswitch.decide.engine import DecisionResult

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
TORNADO_BARS = 15
#: metric -> (column title with its unit, how its values read)
METRICS: dict[str, tuple[str, Callable[[float | None], str]]] = {
    "npv_usd": ("value to existing holders (USD)", fmt.money),
    "cost_usd": ("compute + switching cost (USD)", fmt.money),
    "compute_delivered_flop": (
        "compute delivered (FLOP)",
        lambda x: fmt.flop(x).removesuffix(" FLOP"),
    ),
    "runway_months": ("runway (months)", lambda x: f"{fmt.sig(x)} mo"),
}


def nice_ticks(
    lo: float, hi: float, show: Callable[[float | None], str], n: int = 4
) -> dict[str, Any]:
    """About `n` round tick values over [lo, hi] with their text from `show` (plotly axis keys).

    Steps are 1, 2, 2.5 or 5 times a power of ten; the same rule as the dashboard's `ticks`.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return {}
    raw = (hi - lo) / n
    p = 10.0 ** math.floor(math.log10(raw))
    step = next(m * p for m in (1, 2, 2.5, 5, 10) if m * p >= raw)
    first = math.ceil(lo / step)
    vals = [k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)]
    return {"tickmode": "array", "tickvals": vals, "ticktext": [show(v) for v in vals]}


def _end_labels(edges: Sequence[float], show: Callable[[float | None], str]) -> tuple[str, str]:
    return f"≤{show(edges[0])}", f"≥{show(edges[-1])}"


def distributions(res: DecisionResult) -> Any:
    """One row per option, one column per metric: filled step outlines, overflow bins labelled."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    metrics = [m for m in METRICS if m in res.distributions]
    options = list(res.distributions[metrics[0]]["counts"]) if metrics else []
    fig = make_subplots(
        rows=max(1, len(options)),
        cols=max(1, len(metrics)),
        shared_xaxes="columns",
        column_titles=[METRICS[m][0] for m in metrics],
        row_titles=options,
        vertical_spacing=0.03,
        horizontal_spacing=0.05,
    )
    for c, metric in enumerate(metrics, start=1):
        show = METRICS[metric][1]
        hist = res.distributions[metric]
        edges = [float(e) for e in hist["edges"]]
        mids = [(edges[i] + edges[i + 1]) / 2 for i in range(len(edges) - 1)]
        low_label, high_label = _end_labels(edges, show)
        for r, oid in enumerate(options, start=1):
            counts = hist["counts"][oid]
            colour = PALETTE[(r - 1) % len(PALETTE)]
            fig.add_trace(
                go.Scatter(
                    x=mids,
                    y=counts,
                    mode="lines",
                    line={"shape": "hvh", "color": colour, "width": 1.5},
                    fill="tozeroy",
                    fillcolor=_tint(colour),
                    name=oid,
                    showlegend=False,
                    customdata=[show(m) for m in mids],
                    hovertemplate=f"{oid}: %{{y}} samples near %{{customdata}}<extra></extra>",
                ),
                row=r,
                col=c,
            )
            for k, text, anchor in ((0, low_label, "left"), (-1, high_label, "right")):
                if counts[k] > 0:
                    fig.add_annotation(
                        x=edges[k],
                        y=counts[k],
                        text=text,
                        xanchor=anchor,
                        yanchor="bottom",
                        showarrow=False,
                        font={"size": 9, "color": "#555"},
                        row=r,
                        col=c,
                    )
            fig.update_yaxes(showticklabels=False, rangemode="tozero", row=r, col=c)
        fig.update_xaxes(**nice_ticks(edges[0], edges[-1], show), row=len(options), col=c)
    fig.update_layout(
        template="plotly_white",
        height=120 + 150 * max(1, len(options)),
        margin={"l": 20, "r": 60, "t": 60, "b": 40},
    )
    return fig


def _tint(hex_colour: str, alpha: float = 0.18) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def input_value(path: str, x: float) -> str:
    """An input's value as read: money for a `_usd` field, else three figures with a suffix."""
    return fmt.money(x) if "_usd" in path else fmt.count(x)


def tornado(res: DecisionResult, pair: tuple[str, str], unit: str) -> Any:
    """Expected difference of `pair` with one input at its p10 and p90, inputs named in words."""
    import plotly.graph_objects as go

    money = unit.startswith("USD")
    show: Callable[[float | None], str] = fmt.money if money else fmt.flop
    bars = list(reversed(res.tornado[:TORNADO_BARS]))
    labels = [fmt.human_label(e.label) for e in bars]
    base = res.sensitivity_base
    fig = go.Figure()
    for side, name, colour in (
        ("low", "input at its p10 (event off)", "#6baed6"),
        ("high", "input at its p90 (event on)", "#fd8d3c"),
    ):
        values = [getattr(e, side) for e in bars]
        inputs = [
            input_value(e.input, getattr(e, f"{side}_value")) if e.kind == "dist"
            else ("no" if side == "low" else "yes")
            for e in bars
        ]  # fmt: skip
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[v - base for v in values],
                base=base,
                orientation="h",
                name=name,
                marker_color=colour,
                text=inputs,
                customdata=[show(v) for v in values],
                hovertemplate="%{y} at %{text}: %{customdata}<extra></extra>",
            )
        )
    ends = [base, 0.0] + [v for e in bars for v in (e.low, e.high)]
    a, b = pair
    fig.add_vline(x=base, line_dash="dot", line_color="#444")
    fig.add_vline(x=0, line_color="#000", line_width=1)
    fig.update_layout(
        template="plotly_white",
        barmode="overlay",
        height=80 + 28 * len(bars),
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        xaxis={
            "title": f"E[{a} − {b}] ({'USD' if money else unit})",
            **nice_ticks(min(ends), max(ends), show, 5),
        },
        yaxis={"automargin": True},
    )
    return fig
