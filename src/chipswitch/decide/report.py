"""One self-contained HTML report of a decision run (plotly.js embedded inline, no CDN).

The report is a presenter: it reads a `DecisionResult` and nothing else. `write_report`
writes atomically (temporary file in the same folder, then `os.replace`), so a failure leaves
no partial file behind.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chipswitch._io import atomic_write_text
from chipswitch._plotly import PLOTLY_CONFIG
from chipswitch.decide import charts
from chipswitch.decide.engine import OBJECTIVE_UNIT, DecisionResult
from chipswitch.decide.verdict import OBJECTIVE_LABEL, fmt_objective, fmt_usd

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#666;font-size:.9rem}.verdict{background:#f4f8fb;border-left:4px solid #1f77b4;
padding:.8rem 1rem;font-size:1.05rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0;width:100%}
th,td{border-bottom:1px solid #e5e5e5;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#fafafa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#666;font-size:.85rem}
"""


def write_report(res: DecisionResult, path: Path) -> Path:
    """Render and write `path` atomically; nothing is written if rendering fails."""
    return atomic_write_text(Path(path), render_html(res))


def render_html(res: DecisionResult) -> str:
    figures = [
        ("Outcome distributions", charts.distributions(res), _dist_note(res)),
        (
            "Tornado: one-at-a-time p10 / p90 swings",
            charts.tornado(res, res.pair, OBJECTIVE_UNIT[res.objective]),
            _tornado_note(res),
        ),
        ("Break-even curves", _break_even(res), _break_even_note(res)),
        ("Compute cost over time", _cost_over_time(res), "Mean per month, band p5 to p95."),
        ("Value of information", _voi(res), _voi_note(res)),
    ]
    body: list[str] = [_header(res)]
    body.append(_section("Options", _options_table(res)))
    body.append(_section("Pairs", _pairs_table(res)))
    first = True
    for title, fig, note in figures:
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=first,
            config=PLOTLY_CONFIG,
        )
        first = False
        body.append(_section(title, f'<p class="note">{html.escape(note)}</p>{div}'))
    body.append(_section("Break-even values", _break_even_table(res)))
    body.append(_section("Sobol' indices", _sobol_table(res)))
    body.append(_section("Hindcast: 2024 priors against what happened", _hindcast_table(res)))
    if res.decision_hindcast:
        body.append(_section("Decision hindcast", _decision_hindcast(res)))
    body.append(_section("Performance engine (best plans)", _throughput_table(res)))
    body.append(_section("Inputs and their sources", _inputs_table(res)))
    if res.hindsight:
        items = "".join(f"<li>{html.escape(h)}</li>" for h in res.hindsight)
        body.append(_section("Hindsight used (allow_hindsight)", f"<ul>{items}</ul>"))
    if res.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in res.notes)
        body.append(_section("Notes", f"<ul>{items}</ul>"))
    title = html.escape(f"chipswitch decide: {res.title}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# -- text blocks ---------------------------------------------------------------------------------


def _section(title: str, inner: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>\n{inner}\n</section>"


def _header(res: DecisionResult) -> str:
    meta = (
        f"Scenario <b>{html.escape(res.scenario)}</b> · decision date "
        f"{html.escape(res.decision_date)} · horizon {res.horizon_months} months · "
        f"{res.samples:,} samples · seed {res.seed} · objective "
        f"{html.escape(OBJECTIVE_LABEL[res.objective])}"
    )
    return (
        f'<h1>{html.escape(res.title)}</h1>\n<p class="meta">{meta}</p>\n'
        f'<p class="verdict">{html.escape(res.verdict.sentence)}</p>'
    )


def _table(
    head: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int] | None = None
) -> str:
    numeric = numeric or set()
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = []
    for r in rows:
        tds = "".join(
            f'<td class="num">{html.escape(str(c))}</td>'
            if i in numeric
            else f"<td>{html.escape(str(c))}</td>"
            for i, c in enumerate(r)
        )
        trs.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(trs)}</tbody></table>"


def _options_table(res: DecisionResult) -> str:
    rows = []
    for o in res.options:
        m = o.metrics
        npv = m["npv_usd"]
        rows.append(
            [
                o.id,
                o.label,
                f"{o.p_best:.0%}",
                f"{fmt_objective(res.objective, o.expected_objective)} ± "
                f"{fmt_objective(res.objective, o.objective_se)}",
                fmt_objective(res.objective, o.cvar_05),
                " / ".join(fmt_usd(x) for x in (npv.p5, npv.p50, npv.p95)),
                fmt_usd(m["cost_usd"].p50),
                f"{m['compute_delivered_flop'].p50:.3g}",
                f"{m['ownership_sold'].p50:.1%}",
                f"{m['runway_months'].p50:.1f}",
                f"{o.p_cash_out:.0%}",
                fmt_objective(res.objective, o.expected_regret),
            ]
        )
    head = [
        "option",
        "",
        "P(best)",
        "E[objective] ± se",
        "CVaR 5%",
        "value to holders p5 / p50 / p95",
        "cost p50",
        "FLOP delivered p50",
        "sold p50",
        "runway p50 (mo)",
        "P(cash out)",
        "E[regret]",
    ]
    return _table(head, rows, numeric=set(range(2, 12)))


def _pairs_table(res: DecisionResult) -> str:
    rows = [
        [
            f"{p.a} − {p.b}",
            fmt_objective(res.objective, p.difference.mean),
            fmt_objective(res.objective, p.difference.p5),
            fmt_objective(res.objective, p.difference.p95),
            f"{p.p_a_better:.0%}",
            fmt_objective(res.objective, p.difference_se),
            p.dominance or "—",
        ]
        for p in res.pairs
    ]
    return _table(
        ["difference", "mean", "p5", "p95", "P(first better)", "se of mean", "dominance"],
        rows,
        numeric={1, 2, 3, 4, 5},
    )


def _break_even_table(res: DecisionResult) -> str:
    a, b = res.pair
    rows = [
        [
            be.label,
            "—" if be.value is None else f"{be.value:.4g}",
            be.unit,
            f"{be.base:.4g}",
            be.note,
        ]
        for be in res.break_even
    ]
    note = (
        f'<p class="note">E[{html.escape(a)} − {html.escape(b)}] = 0, solved with scipy brentq.</p>'
    )
    return note + _table(["input", "break-even", "unit", "median", "note"], rows, numeric={1, 3})


def _sobol_table(res: DecisionResult) -> str:
    rows = [
        [s.input, f"{s.s1:.3f} ± {s.s1_conf:.3f}", f"{s.st:.3f} ± {s.st_conf:.3f}"]
        for s in res.sobol
    ]
    a, b = res.pair
    note = (
        f'<p class="note">Variance of {html.escape(a)} − {html.escape(b)} explained (SALib, '
        "Saltelli design); inputs outside this list at their medians; correlations ignored.</p>"
    )
    return note + _table(["input", "first order S1", "total ST"], rows, numeric={1, 2})


def _decision_hindcast(res: DecisionResult) -> str:
    dh = res.decision_hindcast
    values = ", ".join(f"{k} = {v:.4g}" for k, v in dh["values"].items())
    rows = [[k, fmt_objective(res.objective, v)] for k, v in dh["expected"].items()]
    lead = (
        f"With what happened plugged in ({values}), '{dh['winner']}' wins by "
        f"{fmt_objective(res.objective, dh['advantage'])} over '{dh['runner_up']}'."
    )
    table = _table(["option", "E[objective] in hindsight"], rows, numeric={1})
    return f'<p class="note">{html.escape(lead)}</p>{table}'


def _hindcast_table(res: DecisionResult) -> str:
    if not res.hindcast:
        return '<p class="note">No hindcast file for this scenario.</p>'
    rows = [[h.label, h.prior, h.actual_text, h.where, h.source, h.note] for h in res.hindcast]
    return _table(
        ["quantity", "2024 prior", "what happened", "where reality fell", "source", "note"], rows
    )


def _throughput_table(res: DecisionResult) -> str:
    rows = [
        [
            r.get("hardware"),
            r.get("model"),
            r.get("chip"),
            f"{float(r['tokens_per_s_per_chip']):.4g}",
            "{:.4g} to {:.4g}".format(*r["interval"]),
            "—" if r.get("mfu") is None else f"{float(r['mfu']):.1%}",
            r.get("plan") or "—",
        ]
        for r in res.throughput
    ]
    head = ["hardware", "model", "chip", "tokens/s/chip", "80% interval", "MFU", "plan"]
    return _table(head, rows, numeric={3, 5})


def _inputs_table(res: DecisionResult) -> str:
    rows = [[i["name"], i["group"], i["prior"], i["basis"]] for i in res.inputs]
    return _table(["input", "group", "prior", "basis"], rows)


def _dist_note(res: DecisionResult) -> str:
    return (
        f"{res.samples:,} samples per option, one row per option; tails beyond p0.5/p99.5 "
        "folded into the end bins, which are labelled ≤ / ≥ their edge."
    )


def _tornado_note(res: DecisionResult) -> str:
    a, b = res.pair
    return (
        f"E[{a} − {b}] on {OBJECTIVE_LABEL[res.objective]} with one input pinned at its p10 and "
        f"p90 (events: off / on); the line is the unpinned expectation "
        f"{fmt_objective(res.objective, res.sensitivity_base)}."
    )


def _break_even_note(res: DecisionResult) -> str:
    a, b = res.pair
    return f"E[{a} − {b}] as one input moves; it crosses zero at the break-even value (dot)."


def _voi_note(res: DecisionResult) -> str:
    pilots = "".join(
        f" A pilot benchmark of {k} is worth up to {fmt_objective(res.objective, v)}."
        for k, v in res.pilot_benchmark().items()
    )
    a, b = res.pair
    text = (
        f"EVPI on {a} vs {b} = {fmt_objective(res.objective, res.evpi)}: the most that perfect "
        f"information could be worth before signing. Bars: partial EVPI per input group.{pilots}"
    )
    pl = res.pilot
    if pl is not None:
        text += (
            f" Pilot first ({pl.chip}, {pl.months:g} months, then {pl.pair[0]} or {pl.pair[1]}): "
            f"EVSI {fmt_objective(res.objective, pl.evsi)} for {fmt_usd(pl.cost)}, net "
            f"{fmt_objective(res.objective, pl.net_value)}."
        )
    return text


# -- figures ---------------------------------------------------------------------------------


def _fig(**layout: Any) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(
        template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": 50}, **layout
    )
    return fig


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _break_even(res: DecisionResult) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    items = res.break_even
    cols = 2
    rows = max(1, (len(items) + cols - 1) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[b.label for b in items])
    for k, be in enumerate(items):
        r, c = k // cols + 1, k % cols + 1
        fig.add_trace(
            go.Scatter(
                x=be.curve_x,
                y=be.curve_y,
                mode="lines+markers",
                line={"color": "#1f77b4"},
                showlegend=False,
                name=be.label,
            ),
            row=r,
            col=c,
        )
        fig.add_hline(y=0, line_color="#000", line_width=1, row=r, col=c)
        if be.value is not None:
            fig.add_trace(
                go.Scatter(
                    x=[be.value],
                    y=[0.0],
                    mode="markers",
                    marker={"size": 11, "color": "#d62728"},
                    showlegend=False,
                    name=f"break-even {be.value:.3g}",
                ),
                row=r,
                col=c,
            )
        fig.update_xaxes(
            title_text=be.unit, type="log" if _is_log(be.curve_x) else "linear", row=r, col=c
        )
    fig.update_layout(template="plotly_white", height=300 * rows, margin={"t": 50})
    return fig


def _is_log(xs: Sequence[float]) -> bool:
    return len(xs) > 2 and xs[0] > 0 and abs((xs[1] / xs[0]) - (xs[2] / xs[1])) < 1e-9


def _cost_over_time(res: DecisionResult) -> Any:
    import plotly.graph_objects as go

    months = res.cost_over_time["month"]["index"]
    fig = _fig(height=420, xaxis_title="month after the decision", yaxis_title="USD per month")
    for j, o in enumerate(res.options):
        p = res.cost_over_time[o.id]
        color = _color(j)
        fig.add_trace(
            go.Scatter(
                x=months + months[::-1],
                y=p["p95"] + p["p5"][::-1],
                fill="toself",
                line={"width": 0},
                fillcolor=color,
                opacity=0.12,
                showlegend=False,
                hoverinfo="skip",
                name=f"{o.id} p5-p95",
            )
        )
        fig.add_trace(
            go.Scatter(x=months, y=p["mean"], mode="lines", line={"color": color}, name=o.id)
        )
    return fig


def _voi(res: DecisionResult) -> Any:
    import plotly.graph_objects as go

    groups = list(reversed(res.voi))
    fig = _fig(height=80 + 30 * len(groups), xaxis_title=f"EVPPI ({OBJECTIVE_UNIT[res.objective]})")
    fig.add_trace(
        go.Bar(
            y=[g.group for g in groups],
            x=[g.evppi for g in groups],
            orientation="h",
            marker_color="#2ca02c",
            text=[f"{g.share_of_evpi:.0%} of EVPI" for g in groups],
        )
    )
    return fig
