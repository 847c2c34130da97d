#!/usr/bin/env python3
"""Predicted all-in accelerator-hours against what model developers report for whole runs.

For each run of src/chipswitch/data/validation/reported_hours.yaml, plan it as
`chipswitch plan --tokens ... [--stage ...]` would (best plan, default failure model) and
compare the all-in chip-hours (ideal / goodput) and their 80% interval with the reported
figure. Prints a Markdown table and the summary figures used in docs/goodput.md: median ratio
predicted/reported (target 0.9-1.1) and how many reported figures fall inside the 80% interval
(target >= 70%), for all runs and for developer-published figures only, beside the ideal
figure's median ratio. Asserts nothing.

Run: python benchmarks/bench_goodput_hours.py [--md]
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chipswitch._yaml import read_yaml
from chipswitch.catalog import DATA_DIR, load_catalog
from chipswitch.errors import InfeasibleError
from chipswitch.perf.workload import Workload
from chipswitch.planning.compare import Stage, nearest_chip_counts, plan_training

RUNS = DATA_DIR / "validation" / "reported_hours.yaml"


@dataclass(frozen=True)
class Row:
    run: dict[str, Any]
    chips: int
    plan: str
    ideal_h: float
    all_in_h: float
    interval_h: tuple[float, float]
    goodput: float

    @property
    def ratio(self) -> float:
        return self.all_in_h / float(self.run["reported_hours"])

    @property
    def ideal_ratio(self) -> float:
        return self.ideal_h / float(self.run["reported_hours"])

    @property
    def inside(self) -> bool:
        return self.interval_h[0] <= float(self.run["reported_hours"]) <= self.interval_h[1]


def predict(run: dict[str, Any]) -> Row:
    cat = load_catalog()
    prec = run.get("precision", "bf16")
    w = Workload(cat.model(run["model"]), int(run["global_batch"]), int(run["seq"]), prec)
    chip = cat.chip(run["hardware"])
    n = int(run["chips"])
    stages = [Stage(float(s["tokens"]), int(s["seq"]), int(s["global_batch"]))
              for s in run.get("stages", [])]  # fmt: skip
    try:
        out = plan_training(w, chip, n, catalog=cat, tokens=float(run["tokens"]), top=1,
                            pareto_front=False, stages=stages)  # fmt: skip
    except InfeasibleError:  # e.g. 10,000 V100 for a batch of 1,536: the nearest count
        below, above = nearest_chip_counts(w, chip, n, catalog=cat)
        n = min((m for m in (below, above) if m), key=lambda m: abs(m - n))
        out = plan_training(w, chip, n, catalog=cat, tokens=float(run["tokens"]), top=1,
                            pareto_front=False, stages=stages)  # fmt: skip
    c = out.cost
    if c is None or c.all_in is None or c.goodput is None:
        raise RuntimeError(f"{run['id']}: no all-in cost")
    a = c.all_in
    return Row(
        run,
        n,
        out.result.best.plan.describe(),
        c.chip_seconds / 3600.0,
        a.chip_seconds / 3600.0,
        (a.seconds_interval[0] * n / 3600.0, a.seconds_interval[1] * n / 3600.0),
        c.goodput.goodput,
    )


def _m(x: float) -> str:
    return f"{x / 1e6:,.3f}M" if x >= 1e6 else f"{x / 1e3:,.0f}k"


def table(rows: list[Row]) -> str:
    head = (
        "| run | chip | chips | reported h | ideal h | goodput | all-in h | 80% interval "
        "| all-in / reported | inside |\n|---|---|---:|---:|---:|---:|---:|---:|---:|:---:|"
    )
    lines = [head]
    for r in rows:
        run = r.run
        chips = f"{r.chips:,}" + ("" if run.get("chips_stated") else "*")
        if r.chips != int(run["chips"]):
            chips = f"{r.chips:,} (of {int(run['chips']):,})"
        who = "" if run["published_by"] == "developer" else " (3rd party)"
        reported = _m(float(run["reported_hours"]))
        lines.append(
            f"| {run['id']}{who} | {run['hardware']} | {chips} | {reported} "
            f"| {_m(r.ideal_h)} | {r.goodput:.1%} | {_m(r.all_in_h)} "
            f"| {_m(r.interval_h[0])}-{_m(r.interval_h[1])} | {r.ratio:.2f} "
            f"| {'yes' if r.inside else 'no'} |"
        )
    return "\n".join(lines)


def summary(rows: list[Row], label: str) -> str:
    if not rows:
        return f"{label}: no runs"
    inside = sum(r.inside for r in rows)
    ratio = statistics.median(r.ratio for r in rows)
    ideal = statistics.median(r.ideal_ratio for r in rows)
    return (
        f"{label}: {len(rows)} runs; median all-in/reported {ratio:.2f} "
        f"(ideal/reported {ideal:.2f}); "
        f"reported inside the 80% interval: {inside}/{len(rows)} ({inside / len(rows):.0%})"
    )


def main() -> None:
    t0 = time.perf_counter()
    runs = read_yaml(Path(RUNS))["runs"]
    rows = [predict(r) for r in runs]
    print(table(rows))
    print()
    print("\\* chip count not published; the run is planned on the count in reported_hours.yaml")
    print()
    print(summary(rows, "all"))
    print(summary([r for r in rows if r.run["published_by"] == "developer"], "developer"))
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
