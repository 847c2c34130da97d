"""Summaries of a sweep output: chips ranked per model, and cost-vs-time frontiers in HTML.

A presenter over the Parquet table that `run_sweep` writes; it reads nothing else. Ranks and
frontiers use the all-in figures (`all_in_train_seconds`, `all_in_cost_usd`: failures,
restarts and checkpoints counted, as the sweep's objective does); the ideal ones are shown
beside them. Only `ok` rows whose all-in run finishes take part: ranked by cost, those that
satisfy every constraint; ranked by time, those that fail none that can be checked (a chip
without a price cannot be held to a budget, and is ranked by time only). The HTML is one
self-contained file: plotly.js is embedded inline, nothing is fetched.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from chipswitch import format as fmt
from chipswitch import units
from chipswitch._plotly import PLOTLY_CONFIG
from chipswitch.sweep.output import atomic_write

PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2",
    "#7f7f7f", "#bcbd22",
)  # fmt: skip

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}.meta,.note{color:#666;font-size:.9rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0;width:100%}
th,td{border-bottom:1px solid #e5e5e5;padding:.25rem .5rem;text-align:left}
th{background:#fafafa}td.num{text-align:right;font-variant-numeric:tabular-nums}
"""


@dataclass(frozen=True)
class Best:
    """One point of a sweep: where a chip is cheapest or fastest (all-in).

    `days` and `cost_usd` are the ideal figures; `all_in_days` and `all_in_cost_usd` count
    failures, restarts and checkpoints (`goodput` is their ratio to the ideal time)."""

    chips: int
    global_batch: int
    seq_len: int
    plan: str
    days: float
    cost_usd: float | None
    price: str | None
    all_in_days: float
    all_in_cost_usd: float | None
    goodput: float


@dataclass(frozen=True)
class ChipRank:
    chip: str
    points: int  # grid points of this chip for the model
    ok: int  # points with a plan
    eligible: int  # ok points that no constraint is known to fail
    cheapest: Best | None
    fastest: Best | None
    cost_rank: int | None = None
    time_rank: int | None = None


@dataclass(frozen=True)
class ModelRanking:
    model: str
    tokens: float
    chips: list[ChipRank] = field(default_factory=list)  # by cost, then time


@dataclass(frozen=True)
class FrontPoint:
    chip: str
    chips: int
    days: float
    cost_usd: float
    label: str


FLAGS = ("meets_deadline", "meets_budget", "meets_max_chips")


def sweep_meta(table: pa.Table) -> dict[str, Any]:
    raw = (table.schema.metadata or {}).get(b"chipswitch.sweep")
    return dict(json.loads(raw)) if raw else {}


def _best(r: dict[str, Any]) -> Best:
    price = f"{r['price_offering']}:{r['price_type']}" if r["price_offering"] else None
    return Best(
        r["chips"],
        r["global_batch"],
        r["seq_len"],
        r["plan"],
        r["train_seconds"] / units.DAY,
        r["cost_usd"],
        price,
        r["all_in_train_seconds"] / units.DAY,
        r["all_in_cost_usd"],
        r["goodput"],
    )


def _finishes(r: dict[str, Any]) -> bool:
    """An `ok` point whose all-in run ends (failures do not outpace its checkpoints)."""
    secs = r["all_in_train_seconds"]
    return r["status"] == "ok" and secs is not None and math.isfinite(secs)


def rank(table: pa.Table) -> list[ModelRanking]:
    """Chips ranked per model (and per tokens-to-train value) by all-in cost, and by all-in
    time."""
    rows = table.to_pylist()
    groups: dict[tuple[str, float], dict[str, list[dict[str, Any]]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["tokens_to_train"]), {}).setdefault(r["chip"], []).append(
            r
        )
    out: list[ModelRanking] = []
    for (model, tokens), by_chip in groups.items():
        ranks = []
        for chip, rs in by_chip.items():
            ok = [r for r in rs if r["status"] == "ok"]
            # Time ranks points that fail no constraint that can be checked (an unpriced
            # chip cannot be held to a budget); cost ranks points that satisfy them all.
            good = [r for r in ok if _finishes(r) and not any(r[f] is False for f in FLAGS)]
            priced = [
                r for r in good if r["satisfies_constraints"] and r["all_in_cost_usd"] is not None
            ]
            cheap = min(priced, key=_by_cost, default=None)
            fast = min(good, key=_by_time, default=None)
            ranks.append(
                ChipRank(
                    chip,
                    len(rs),
                    len(ok),
                    len(good),
                    None if cheap is None else _best(cheap),
                    None if fast is None else _best(fast),
                )
            )
        out.append(ModelRanking(model, tokens, _ordered(ranks)))
    return out


def _by_cost(r: dict[str, Any]) -> tuple[float, float]:
    return r["all_in_cost_usd"], r["all_in_train_seconds"]


def _by_time(r: dict[str, Any]) -> tuple[float, float]:
    return r["all_in_train_seconds"], r["all_in_cost_usd"] or 0.0


def _ordered(ranks: list[ChipRank]) -> list[ChipRank]:
    """Rank numbers by all-in cost and by all-in time; order by cost rank, then time rank
    (unpriced last)."""
    inf = float("inf")
    costs = {c.chip: c.cheapest.all_in_cost_usd for c in ranks if c.cheapest is not None}
    times = {c.chip: c.fastest.all_in_days for c in ranks if c.fastest is not None}
    cost_rank = {chip: i + 1 for i, chip in enumerate(sorted(costs, key=lambda k: costs[k] or inf))}
    time_rank = {chip: i + 1 for i, chip in enumerate(sorted(times, key=times.__getitem__))}
    ranked = [
        replace(c, cost_rank=cost_rank.get(c.chip), time_rank=time_rank.get(c.chip)) for c in ranks
    ]
    return sorted(ranked, key=lambda c: (c.cost_rank or inf, c.time_rank or inf, c.chip))


def pareto_front(points: Sequence[FrontPoint]) -> list[FrontPoint]:
    """Points no other point beats on both cost and time (ties kept once), by time."""
    front: list[FrontPoint] = []
    for p in sorted(points, key=lambda p: (p.days, p.cost_usd)):
        if not front or p.cost_usd < front[-1].cost_usd:
            front.append(p)
    return front


def _front_points(table: pa.Table, model: str, tokens: float) -> list[FrontPoint]:
    """The priced points that meet every constraint, at their all-in days and cost."""
    cols = ["model", "tokens_to_train", "chip", "chips", "global_batch", "seq_len", "plan"]
    cols += ["train_seconds", "cost_usd", "all_in_train_seconds", "all_in_cost_usd", "goodput"]
    cols += ["status", "satisfies_constraints", "price_type"]
    out = []
    for r in table.select(cols).to_pylist():
        if r["model"] != model or r["tokens_to_train"] != tokens:
            continue
        if not _finishes(r) or not r["satisfies_constraints"] or r["all_in_cost_usd"] is None:
            continue
        days = r["train_seconds"] / units.DAY
        label = (
            f"{r['chip']} x {r['chips']:,} ({r['price_type']})<br>batch {r['global_batch']} x "
            f"{r['seq_len']}<br>{r['plan']}<br>ideal {fmt.money(r['cost_usd'])}, "
            f"{fmt.sig(days)} days; goodput {fmt.percent(r['goodput'])}"
        )
        all_in_days = r["all_in_train_seconds"] / units.DAY
        out.append(FrontPoint(r["chip"], r["chips"], all_in_days, r["all_in_cost_usd"], label))
    return out


# -- HTML ------------------------------------------------------------------------------------
def write_html(table: pa.Table, path: Path, title: str | None = None) -> Path:
    """Render and write `path` atomically; nothing is written if rendering fails."""
    text = render_html(table, title)

    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    return atomic_write(Path(path), write)


def render_html(table: pa.Table, title: str | None = None) -> str:
    meta = sweep_meta(table)
    name = title or meta.get("name") or "sweep"
    rankings = rank(table)
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(_chip_order(table))}
    body = [_header(name, meta, table)]
    first = True
    for mr in rankings:
        pts = _front_points(table, mr.model, mr.tokens)
        inner = _ranking_table(mr)
        if pts:
            fig = _frontier_figure(mr, pts, colours, meta)
            inner += fig.to_html(
                full_html=False,
                include_plotlyjs=first,
                config=PLOTLY_CONFIG,
            )
            first = False
        else:
            inner += '<p class="note">No priced point meets the constraints: no frontier.</p>'
        unpriced = [c.chip for c in mr.chips if c.fastest is not None and c.cheapest is None]
        if unpriced:
            inner += (
                f'<p class="note">Without a price in the sweep (time only): '
                f"{html.escape(', '.join(unpriced))}.</p>"
            )
        heading = f"{mr.model}: {fmt.count(mr.tokens)} tokens"
        body.append(f"<section><h2>{html.escape(heading)}</h2>\n{inner}\n</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape('chipswitch sweep: ' + name)}</title>\n<style>{CSS}</style>\n"
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _chip_order(table: pa.Table) -> list[str]:
    seen: dict[str, None] = {}
    for c in table.column("chip").to_pylist():
        seen.setdefault(c, None)
    return list(seen)


def _header(name: str, meta: dict[str, Any], table: pa.Table) -> str:
    cons = meta.get("constraints") or {}
    parts = []
    if cons.get("deadline_days") is not None:
        parts.append(f"deadline {cons['deadline_days']:,g} days")
    if cons.get("budget_usd") is not None:
        parts.append(f"budget ${cons['budget_usd']:,.0f}")
    if cons.get("max_chips") is not None:
        parts.append(f"at most {cons['max_chips']:,} chips")
    limits = ", ".join(parts) or "none"
    statuses = table.column("status").to_pylist()
    counts = ", ".join(f"{statuses.count(s):,} {s}" for s in sorted(set(statuses)))
    return (
        f'<h1>{html.escape("Sweep: " + name)}</h1>\n<p class="meta">{table.num_rows:,} grid '
        f"points ({html.escape(counts)}); objective {html.escape(str(meta.get('objective')))}; "
        f"constraints: {html.escape(limits)}. Cost and time are all-in: the ideal time (tokens "
        f"/ predicted throughput) and cost (chip-hours x the sweep's price) divided by goodput, "
        f"the share of wall time left once failures, restarts and checkpoints are counted; "
        f"the ideal figures show on hover. Cost ranks and the plots use the points that meet every "
        f"constraint; time ranks the points that fail none that can be checked (a chip without "
        f"a price is held to no budget). The Pareto front (no point both cheaper and faster) "
        f"is ringed.</p>"
    )


def _money(x: float | None) -> str:
    return fmt.money(x)


def _ranking_table(mr: ModelRanking) -> str:
    head = ["cost rank", "chip", "cheapest (all-in)", "days", "chips", "time rank"]
    head += ["fastest days (all-in)", "cost at fastest", "chips ", "points ok / meet limits / all"]
    rows = []
    for c in mr.chips:
        ch, fa = c.cheapest, c.fastest
        rows.append(
            [
                c.cost_rank or "—",
                c.chip,
                _money(ch.all_in_cost_usd) if ch else "—",
                fmt.sig(ch.all_in_days) if ch else "—",
                f"{ch.chips:,}" if ch else "—",
                c.time_rank or "—",
                fmt.sig(fa.all_in_days) if fa else "—",
                _money(fa.all_in_cost_usd) if fa else "—",
                f"{fa.chips:,}" if fa else "—",
                f"{c.ok} / {c.eligible} / {c.points}",
            ]
        )
    th = "".join(f"<th>{html.escape(h.strip())}</th>" for h in head)
    num = ' class="num"'
    trs = "".join(
        "<tr>"
        + "".join(f"<td{'' if i == 1 else num}>{html.escape(str(v))}</td>" for i, v in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _frontier_figure(
    mr: ModelRanking, pts: list[FrontPoint], colours: dict[str, str], meta: dict[str, Any]
) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for chip in dict.fromkeys(p.chip for p in pts):
        mine = [p for p in pts if p.chip == chip]
        fig.add_trace(
            go.Scatter(
                x=[p.cost_usd for p in mine],
                y=[p.days for p in mine],
                mode="markers",
                name=chip,
                marker={"color": colours.get(chip, "#444"), "size": 8, "opacity": 0.75},
                text=[p.label for p in mine],
                customdata=[[fmt.money(p.cost_usd), fmt.sig(p.days)] for p in mine],
                hovertemplate="%{text}<br>%{customdata[0]}, %{customdata[1]} days<extra></extra>",
            )
        )
    front = pareto_front(pts)
    fig.add_trace(
        go.Scatter(
            x=[p.cost_usd for p in front],
            y=[p.days for p in front],
            mode="lines+markers",
            name="Pareto front",
            line={"color": "#222", "width": 1, "dash": "dot", "shape": "hv"},
            marker={"size": 15, "color": "rgba(0,0,0,0)", "line": {"color": "#222", "width": 2}},
            text=[p.label for p in front],
            customdata=[[fmt.money(p.cost_usd), fmt.sig(p.days)] for p in front],
            hovertemplate="Pareto: %{text}<br>%{customdata[0]}, %{customdata[1]} days"
            "<extra></extra>",
        )
    )
    # Axes span the data (a budget far above every point would squash them); the deadline and
    # budget lines show where they fall inside it.
    xr, yr = _log_range([p.cost_usd for p in pts]), _log_range([p.days for p in pts])
    cons = meta.get("constraints") or {}
    if cons.get("deadline_days"):
        fig.add_hline(y=cons["deadline_days"], line_dash="dash", line_color="#999")
    if cons.get("budget_usd"):
        fig.add_vline(x=cons["budget_usd"], line_dash="dash", line_color="#999")
    fig.update_layout(
        title=f"{mr.model}: cost vs time to train {fmt.count(mr.tokens)} tokens, all-in",
        xaxis={"title": "cost, all-in (USD)", "type": "log", "range": xr, "tickprefix": "$"},
        yaxis={
            "title": "time to train, all-in (days)",
            "type": "log",
            "range": yr,
            "ticksuffix": " d",
        },
        template="plotly_white",
        height=480,
        legend={"title": "chip"},
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


def _log_range(values: Sequence[float], pad: float = 0.08) -> list[float]:
    """A log10 axis range around `values`, padded by `pad` decades each side (at least)."""
    lo, hi = math.log10(min(values)), math.log10(max(values))
    extra = max(pad, (hi - lo) * 0.05)
    return [lo - extra, hi + extra]
