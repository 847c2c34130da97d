"""Hindcast: a scenario's priors set beside what happened later (decision_research.md 2.2,
6.4 'Hindcast panel', 6.5 item 9).

A hindcast file (`<scenario>.hindcast.yaml` next to the scenario) lists later-known values.
Each row checks either an input's prior (the percentile reality fell at, from the prior's CDF)
or an output of the simulation (the share of samples at or below reality), or, for an event,
the probability the prior gave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from chipswitch._schema import StrictModel
from chipswitch._yaml import load_model
from chipswitch.decide.montecarlo import (
    Compiled,
    FloatArray,
    Outcome,
    Override,
    clip,
    objective_values,
    simulate,
)
from chipswitch.decide.scenario import SCENARIO_DIR, canonical_name, iter_quantities

Output = Literal["committed_chip_fleet", "hedge_switch"]


class HindcastRow(StrictModel):
    id: str
    label: str
    input: str | None = Field(default=None, description="scenario input whose prior is checked")
    output: Output | None = Field(default=None, description="simulated quantity checked")
    option: str | None = None
    month: int | None = Field(default=None, ge=0, description="month after the decision date")
    actual: float | None = Field(default=None, description="what happened (None for events)")
    actual_text: str
    unit: str
    date: str
    source: str
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> HindcastRow:
        if (self.input is None) == (self.output is None):
            raise ValueError("give exactly one of input, output")
        if self.output is not None and self.option is None:
            raise ValueError("an output row needs the option it is read from")
        if self.output == "committed_chip_fleet" and (self.month is None or self.actual is None):
            raise ValueError("committed_chip_fleet needs month and actual")
        if self.input is not None and self.actual is None:
            raise ValueError("an input row needs the actual value")
        return self


class HindcastFile(StrictModel):
    scenario: str
    rows: list[HindcastRow]


@dataclass(frozen=True)
class HindcastResult:
    id: str
    label: str
    prior: str
    prior_p5: float | None
    prior_p50: float | None
    prior_p95: float | None
    actual: float | None
    actual_text: str
    unit: str
    date: str
    source: str
    note: str
    percentile: float | None
    where: str


def hindcast_path(scenario_name: str, scenario_file: Path | None = None) -> Path:
    """`<name>.hindcast.yaml` beside the scenario file, else the shipped one of that name."""
    name = f"{scenario_name}.hindcast.yaml"
    if scenario_file is not None and (scenario_file.parent / name).exists():
        return scenario_file.parent / name
    return SCENARIO_DIR / name


def load_hindcast(path: Path) -> HindcastFile | None:
    return load_model(path, HindcastFile) if path.exists() else None


def _where(pct: float) -> str:
    if pct < 5:
        return f"below the prior's 90% interval (p{pct:.0f})"
    if pct > 95:
        return f"above the prior's 90% interval (p{pct:.0f})"
    return f"inside the prior's 90% interval (p{pct:.0f})"


def evaluate(cm: Compiled, out: Outcome, hc: HindcastFile) -> list[HindcastResult]:
    """Where reality fell in each prior."""
    sc = cm.scenario
    quantities = dict(iter_quantities(sc))
    res = []
    for row in hc.rows:
        common = dict(
            id=row.id,
            label=row.label,
            actual=row.actual,
            actual_text=row.actual_text,
            unit=row.unit,
            date=row.date,
            source=row.source,
            note=row.note,
        )
        if row.input is not None:
            name = canonical_name(sc, row.input)
            q = quantities.get(name)
            if q is None:  # the scenario was edited (--set, a copy): nothing to compare
                continue
            assert row.actual is not None
            p5, p50, p95 = (float(v) for v in clip(q, q.value.ppf(np.array([0.05, 0.5, 0.95]))))
            pct = 100.0 * q.value.cdf(row.actual)
            res.append(
                HindcastResult(
                    prior=q.value.describe(),
                    prior_p5=p5,
                    prior_p50=p50,
                    prior_p95=p95,
                    percentile=pct,
                    where=_where(pct),
                    **common,  # type: ignore[arg-type]
                )
            )
            continue
        assert row.option is not None
        if row.option not in out.option_ids:
            continue
        j = out.option_ids.index(row.option)
        if row.output == "hedge_switch":
            p = float(out.metrics["hedge_switched"][:, j].mean())
            res.append(
                HindcastResult(
                    prior=f"P(switch) = {p:.2f}",
                    prior_p5=None,
                    prior_p50=p,
                    prior_p95=None,
                    percentile=None,
                    where=f"it happened; the prior gave it {p:.0%}",
                    **common,  # type: ignore[arg-type]
                )
            )
            continue
        fleet = out.fleet.get(row.option)
        if fleet is None:
            raise ValueError(f"hindcast row {row.id}: option {row.option} has no committed chip")
        assert row.month is not None and row.actual is not None
        col = fleet[:, min(row.month, fleet.shape[1] - 1)].astype(np.float64)
        p5, p50, p95 = (float(v) for v in np.percentile(col, [5, 50, 95]))
        pct = 100.0 * float(np.mean(col <= row.actual))
        res.append(
            HindcastResult(
                prior=f"{p5:.3g} to {p95:.3g} (simulated)",
                prior_p5=p5,
                prior_p50=p50,
                prior_p95=p95,
                percentile=pct,
                where=_where(pct),
                **common,  # type: ignore[arg-type]
            )
        )
    return res


def decide_in_hindsight(
    cm: Compiled, u: FloatArray, objective: str, hc: HindcastFile, rows_n: int
) -> dict[str, object]:
    """Which option wins with the values that happened plugged in (every input row of the
    hindcast pinned to its actual value; the inputs nobody observed keep their priors), and
    by how much (docs/decide.md 'Hindcast')."""
    sc = cm.scenario
    names = dict(iter_quantities(sc))
    pins: dict[str, Override] = {}
    for row in hc.rows:
        if row.input is None or row.actual is None:
            continue
        name = canonical_name(sc, row.input)
        if name in names:
            pins[name] = float(row.actual)
    rows = u[:rows_n]
    out = simulate(cm, rows, pins)
    vals = objective_values(out, objective)
    means = {oid: float(vals[:, j].mean()) for j, oid in enumerate(out.option_ids)}
    ranked = sorted(means, key=lambda k: (-means[k], k))
    return {
        "winner": ranked[0],
        "runner_up": ranked[1],
        "advantage": means[ranked[0]] - means[ranked[1]],
        "expected": means,
        "values": pins,
        "rows": int(rows.shape[0]),
    }


def skipped_rows(cm: Compiled, hc: HindcastFile) -> list[str]:
    """Hindcast rows whose input or option this scenario does not have."""
    names = dict(iter_quantities(cm.scenario))
    out = []
    for row in hc.rows:
        no_input = row.input is not None and canonical_name(cm.scenario, row.input) not in names
        if no_input or (row.option is not None and row.option not in cm.option_ids):
            out.append(row.id)
    return out
