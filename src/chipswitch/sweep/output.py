"""The sweep's table: its columns, part files per finished chunk, and the final Parquet/CSV.

Every finished chunk is written at once as a part file (`<out>.parts/part-*.parquet`, each
written to a temporary name and renamed, so a part is whole or absent). `finalize` merges the
parts (and, on resume, the previous output) into the output file, again via a temporary file
and `os.replace`: an interrupted run leaves either the previous file or a complete new one.

Rows are sorted by grid order and carry no timings, so the same sweep gives the same file
whichever executor computed it.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from chipswitch import units
from chipswitch._io import atomic_write as _atomic_write
from chipswitch._io import check_writable as _check_writable
from chipswitch.api.presenters import BREAKDOWN_TIME
from chipswitch.errors import ChipswitchError
from chipswitch.sweep.grid import Point, Sweep

#: Step-time terms of the best plan kept as `time_<term>_s` columns (seconds per step): the
#: same terms, in the same order, as `chipswitch plan` shows.
TIME_TERMS = tuple(key for key, _ in BREAKDOWN_TIME)

_S, _I, _F, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()

#: Columns written by the workers: (name, type, meaning). Units are SI unless the name says.
COMPUTED: tuple[tuple[str, pa.DataType, str], ...] = (
    ("index", _I, "position in grid order (0-based)"),
    ("key", _S, "stable hash of the point's inputs (resume key)"),
    ("model", _S, "model id"),
    ("chip", _S, "chip id (a what-if chip's own id)"),
    ("chip_base", _S, "catalog chip it derives from (itself for catalog chips)"),
    ("chips", _I, "number of chips"),
    ("global_batch", _I, "sequences per optimizer step"),
    ("global_batch_tokens", _I, "tokens per optimizer step"),
    ("seq_len", _I, "tokens per sequence"),
    ("precision", _S, "GEMM precision (bf16 or fp8)"),
    ("tokens_to_train", _F, "tokens to train"),
    ("status", _S, "ok, infeasible (no plan fits or divides) or error"),
    ("reason", _S, "why the point is infeasible or failed (null when ok)"),
    ("plan", _S, "best plan, e.g. 'TP8 PP2 DP16 mb1 ZeRO-1 recompute=none'"),
    ("tp", _I, "tensor-parallel degree"),
    ("pp", _I, "pipeline-parallel degree"),
    ("dp", _I, "data-parallel degree"),
    ("cp", _I, "context-parallel degree"),
    ("ep", _I, "expert-parallel degree"),
    ("vp", _I, "virtual pipeline stages per rank"),
    ("micro_batch", _I, "sequences per micro-batch"),
    ("zero", _I, "ZeRO stage (3 = FSDP)"),
    ("recompute", _S, "activation recomputation: none, selective or full"),
    ("sequence_parallel", _B, "sequence parallelism with TP"),
    ("hsdp", _B, "ZeRO shards within a scale-up domain, replicas across"),
    ("step_time_s", _F, "predicted step time"),
    ("tokens_per_s_per_chip", _F, "predicted throughput per chip"),
    ("tokens_per_s_per_chip_lo", _F, "80% interval, low end"),
    ("tokens_per_s_per_chip_hi", _F, "80% interval, high end"),
    ("mfu", _F, "model FLOPs utilisation (PaLM convention)"),
    ("mfu_causal", _F, "MFU with the attention term halved (causal)"),
    ("memory_bytes", _F, "predicted memory per chip"),
    ("hbm_bytes", _F, "HBM capacity per chip"),
    *((f"time_{t}_s", _F, f"step-time term '{t}' of the best plan") for t in TIME_TERMS),
    ("train_seconds", _F, "wall time to train tokens_to_train"),
    ("train_seconds_lo", _F, "80% interval, low end (from the throughput interval)"),
    ("train_seconds_hi", _F, "80% interval, high end"),
    ("train_days", _F, "train_seconds in days"),
    ("chip_hours", _F, "chips x train time, in hours"),
    ("cost_usd", _F, "chip-seconds x price (null without a price)"),
    ("cost_usd_lo", _F, "80% interval, low end"),
    ("cost_usd_hi", _F, "80% interval, high end"),
    ("energy_joules", _F, "chips at TDP for the whole run (null without a TDP)"),
    ("energy_joules_lo", _F, "80% interval, low end"),
    ("energy_joules_hi", _F, "80% interval, high end"),
    ("goodput", _F, "fraction of wall time that trains (failures, restarts, checkpoints)"),
    ("all_in_train_seconds", _F, "train_seconds / goodput: wall time with failures counted"),
    ("all_in_train_seconds_lo", _F, "80% interval, low end (throughput and failure model)"),
    ("all_in_train_seconds_hi", _F, "80% interval, high end"),
    ("all_in_chip_hours", _F, "chips x all-in wall time, in hours"),
    ("all_in_cost_usd", _F, "all-in chip-seconds x price (null without a price)"),
    ("all_in_energy_joules", _F, "chips at TDP for the all-in wall time (null without a TDP)"),
    ("price_offering", _S, "offering the cost uses"),
    ("price_type", _S, "its price type (on_demand, capacity_block, ...)"),
    ("price_usd_per_chip_hour", _F, "the price, USD per chip-hour"),
    ("price_date", _S, "when the price was observed"),
    ("calibration_level", _S, "family, family-unmeasured-chip, vendor-newest/-nearest, default"),
    ("calibration_name", _S, "calibration entry used"),
    ("plans_evaluated", _I, "plans the search evaluated"),
    ("plans_feasible", _I, "plans that fit in memory"),
)

#: Columns derived from the computed ones and the sweep's objective and constraints; they are
#: recomputed for every row when the output is written (so a resume with new limits re-flags).
DERIVED: tuple[tuple[str, pa.DataType, str], ...] = (
    (
        "meets_deadline",
        _B,
        "all-in days (all_in_train_seconds) <= deadline_days (null: no deadline, or not ok)",
    ),
    ("meets_budget", _B, "all_in_cost_usd <= budget_usd (null: no budget, not ok, or no price)"),
    ("meets_max_chips", _B, "chips <= max_chips (null: no limit)"),
    ("satisfies_constraints", _B, "ok, and every constraint set is known and met"),
    ("objective", _S, "time, cost or energy"),
    ("objective_column", _S, "the all-in column objective_value copies (OBJECTIVE_COLUMN)"),
    (
        "objective_value",
        _F,
        "the objective all-in, failures, restarts and checkpoints counted: "
        "all_in_train_seconds, all_in_cost_usd or all_in_energy_joules (SI; null if unknown)",
    ),
)

COMPUTED_SCHEMA = pa.schema([(n, t) for n, t, _ in COMPUTED])
SCHEMA = pa.schema([(n, t) for n, t, _ in COMPUTED + DERIVED])
#: The column each objective ranks on: the all-in figure (planning.goodput), since a larger
#: fleet is interrupted more often; with failure_rate 0 it equals the ideal one (IDEAL_COLUMN).
OBJECTIVE_COLUMN = {
    "time": "all_in_train_seconds",
    "cost": "all_in_cost_usd",
    "energy": "all_in_energy_joules",
}
#: The ideal column (every chip-hour trains) of each objective, kept in the table beside it.
IDEAL_COLUMN = {"time": "train_seconds", "cost": "cost_usd", "energy": "energy_joules"}


def parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def csv_path(out: Path) -> Path:
    return out.with_suffix(".csv")


# -- atomic writes ------------------------------------------------------------------------------
def check_writable(out: Path) -> Path:
    """Raise ChipswitchError now, before any work, if `out` (and the part files beside it)
    cannot be written; a missing folder is created."""
    _check_writable(out, make_parents=True)
    if parts_dir(out).exists() and not parts_dir(out).is_dir():
        raise ChipswitchError(f"cannot write part files: {parts_dir(out)} is not a directory")
    return out


def atomic_write(path: Path, write: Callable[[str], None]) -> Path:
    """`chipswitch._io.atomic_write`, creating the output folder if needed."""
    return _atomic_write(path, write, make_parents=True)


def write_part(out: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """One finished chunk as a part file (whole or absent)."""
    folder = parts_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    first = min((int(r["index"]) for r in rows), default=0)
    path = folder / f"part-{first:09d}-{uuid.uuid4().hex[:8]}.parquet"
    table = pa.Table.from_pylist(list(rows), schema=COMPUTED_SCHEMA)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


# -- reading finished work -----------------------------------------------------------------------
def read_finished(out: Path, include_output: bool) -> dict[str, dict[str, Any]]:
    """Rows already computed, by key: the part files, and the output file if asked.

    A file that cannot be read (cut off by a crash, another program's file) is ignored: its
    points are computed again.
    """
    files: list[Path] = []
    if include_output and out.exists():
        files.append(out)
    if parts_dir(out).is_dir():
        files += sorted(parts_dir(out).glob("part-*.parquet"))
    rows: dict[str, dict[str, Any]] = {}
    names = set(COMPUTED_SCHEMA.names)
    for f in files:
        try:
            table = pq.read_table(f)
        except (OSError, pa.ArrowException):
            continue
        if not names <= set(table.column_names):
            continue
        for r in table.select(COMPUTED_SCHEMA.names).to_pylist():
            rows[str(r["key"])] = r
    return rows


def clear_parts(out: Path) -> None:
    folder = parts_dir(out)
    if not folder.is_dir():
        return
    for f in folder.glob("part-*.parquet"):
        f.unlink(missing_ok=True)
    for f in folder.glob(".part-*.tmp"):
        f.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # something else lives there: leave it
        folder.rmdir()


# -- the final table ----------------------------------------------------------------------------
def derive(row: dict[str, Any], sweep: Sweep) -> dict[str, Any]:
    """The constraint flags and objective value of one computed row, all on the all-in
    figures (failures, restarts and checkpoints counted)."""
    c = sweep.constraints
    ok = row["status"] == "ok"

    def flag(limit: float | None, value: float | None) -> bool | None:
        if limit is None or not ok or value is None:
            return None
        return bool(value <= limit)

    secs = row["all_in_train_seconds"]  # limits hold the run with failures counted
    flags = {
        "meets_deadline": flag(c.deadline_days, None if secs is None else secs / units.DAY),
        "meets_budget": flag(c.budget_usd, row["all_in_cost_usd"]),
        "meets_max_chips": None if c.max_chips is None else bool(row["chips"] <= c.max_chips),
    }
    limits = (c.deadline_days, c.budget_usd, c.max_chips)
    satisfied = ok and all(
        flags[name] is True for name, lim in zip(flags, limits, strict=True) if lim is not None
    )
    column = OBJECTIVE_COLUMN[sweep.objective]
    return (
        row
        | flags
        | {
            "satisfies_constraints": satisfied,
            "objective": sweep.objective,
            "objective_column": column,
            "objective_value": row[column] if ok else None,
        }
    )


def final_table(
    points: Sequence[Point], finished: dict[str, dict[str, Any]], sweep: Sweep
) -> pa.Table:
    """Rows of the finished points of this grid, in grid order, with the derived columns."""
    rows = [
        derive(finished[p.key] | {"index": p.index}, sweep) for p in points if p.key in finished
    ]
    meta = {b"chipswitch.sweep": json.dumps(sweep.meta, sort_keys=True).encode()}
    return pa.Table.from_pylist(rows, schema=SCHEMA.with_metadata(meta))


def write_output(table: pa.Table, out: Path, csv: bool) -> list[Path]:
    """The Parquet file (and the CSV beside it with `csv`), each written atomically."""
    written = [atomic_write(out, lambda tmp: pq.write_table(table, tmp))]
    if csv:
        written.append(atomic_write(csv_path(out), lambda tmp: pa_csv.write_csv(table, tmp)))
    return written


def read_results(path: Path) -> pa.Table:
    """A sweep output file; a file without the sweep columns is a user error."""
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise ChipswitchError(f"{path}: no such file") from None
    except (OSError, pa.ArrowException) as exc:
        raise ChipswitchError(f"{path}: not a readable Parquet file ({exc})") from None
    missing = [n for n in SCHEMA.names if n not in table.column_names]
    if missing:
        raise ChipswitchError(
            f"{path}: not a chipswitch sweep output (missing columns {', '.join(missing[:5])})"
        )
    return table
