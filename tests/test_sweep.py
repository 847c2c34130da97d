"""`chipswitch sweep`: the sweep file, grid expansion, the local executor, resume, the report."""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from chipswitch import units
from chipswitch.catalog import load_catalog
from chipswitch.cli.app import app
from chipswitch.errors import CatalogFileError
from chipswitch.perf.efficiency import load_calibration
from chipswitch.sweep import LocalExecutor, load_sweep_file, output, resolve, run_sweep
from chipswitch.sweep import work as sweep_work
from chipswitch.sweep.grid import Sweep
from chipswitch.sweep.output import (
    COMPUTED_SCHEMA,
    IDEAL_COLUMN,
    OBJECTIVE_COLUMN,
    SCHEMA,
    parts_dir,
)
from chipswitch.sweep.report import pareto_front, rank, render_html
from chipswitch.sweep.schema import IntRange
from chipswitch.sweep.work import make_chunks

runner = CliRunner()

#: 2 models x 3 chips (one what-if) x 3 counts; h100 has two prices: 2*(2+1+1)*3 = 24 points.
SMALL: dict[str, Any] = {
    "name": "small",
    "models": ["llama3.1-8b", "llama3.1-70b"],
    "chips": [
        "h100-sxm",
        "trn2",
        {"id": "trn2-hbm+30", "base": "trn2", "overrides": {"hbm_bandwidth_tb_per_s": 3.77}},
    ],
    "chip_counts": {"start": 16, "stop": 64, "factor": 2},
    "seq_len": 4096,
    "global_batch": 256,
    "tokens": 2e11,
    "prices": {"h100-sxm": ["aws-p5", "aws-p5:capacity_block"], "trn2": "aws-trn2"},
    "objective": "cost",
    "constraints": {"deadline_days": 40, "max_chips": 32},
}


def write_sweep(tmp_path: Path, data: dict[str, Any], name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def resolved(tmp_path: Path, data: dict[str, Any] | None = None) -> Sweep:
    path = write_sweep(tmp_path, data or SMALL)
    return resolve(load_sweep_file(path), load_catalog(), path)


def error_of(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(CatalogFileError) as exc:
        resolved(tmp_path, data)
    return str(exc.value)


# -- the sweep file -----------------------------------------------------------------------------
def test_misspelt_key_is_an_error(tmp_path: Path) -> None:
    data = {**SMALL, "chip_count": [8]}
    msg = error_of(tmp_path, data)
    assert "chip_count: unknown key (misspelt?)" in msg
    assert "sweep.yaml" in msg


def test_misspelt_key_in_a_derived_chip(tmp_path: Path) -> None:
    chips = ["h100-sxm", {"id": "x", "base": "trn2", "overides": {"tdp_w": 500}}]
    assert "overides: unknown key" in error_of(tmp_path, {**SMALL, "chips": chips})


def test_unknown_chip_suggests_the_closest(tmp_path: Path) -> None:
    msg = error_of(tmp_path, {**SMALL, "chips": ["h100-sxmm"], "prices": {}})
    assert "chips.0: unknown chip 'h100-sxmm'" in msg
    assert "h100-sxm" in msg.split("did you mean")[1]


def test_unknown_model_and_base_and_offering(tmp_path: Path) -> None:
    assert "did you mean" in error_of(tmp_path, {**SMALL, "models": ["llama3.1-8c"]})
    chips = [{"id": "what-if", "base": "trn22", "scale": {"tdp_w": 1.1}}]
    msg = error_of(tmp_path, {**SMALL, "chips": chips, "prices": {}})
    assert "chips.0.base: unknown chip 'trn22'" in msg
    msg = error_of(tmp_path, {**SMALL, "prices": {"h100-sxm": "aws-p55"}})
    assert "prices.h100-sxm: unknown offering 'aws-p55'" in msg


def test_price_must_rent_the_chip_and_name_a_sweep_chip(tmp_path: Path) -> None:
    msg = error_of(tmp_path, {**SMALL, "prices": {"trn2": "aws-p5"}})
    assert "offering aws-p5 rents h100-sxm, not trn2" in msg
    msg = error_of(tmp_path, {**SMALL, "prices": {"h200": "aws-p5en"}})
    assert "prices.h200: unknown chip 'h200'" in msg


@pytest.mark.parametrize(
    ("axis", "needle"),
    [
        ({"start": 64, "stop": 8, "factor": 2}, "stop (8) is below start (64)"),
        ({"start": 8, "stop": 64}, "exactly one of factor (geometric) or step (linear)"),
        ({"start": 8, "stop": 64, "factor": 2, "step": 8}, "exactly one of factor"),
        ({"start": 8, "stop": 64, "factor": 1}, "greater than 1"),
        ({"start": 1, "stop": 10**9, "factor": 1.0001}, "at most 4096"),
        ([8, 0], "positive integers"),
    ],
)
def test_bad_ranges(tmp_path: Path, axis: Any, needle: str) -> None:
    msg = error_of(tmp_path, {**SMALL, "chip_counts": axis})
    assert "chip_counts" in msg and needle in msg


def test_batch_needs_exactly_one_form_and_whole_sequences(tmp_path: Path) -> None:
    both = {**SMALL, "global_batch_tokens": 1048576}
    assert "exactly one of global_batch" in error_of(tmp_path, both)
    data = {k: v for k, v in SMALL.items() if k != "global_batch"}
    bad = {**data, "global_batch_tokens": 1_000_000}
    assert "not a whole number of 4,096-token sequences" in error_of(tmp_path, bad)


def test_derived_chip_rules(tmp_path: Path) -> None:
    clash = [{"id": "h200", "base": "h100-sxm", "scale": {"hbm_capacity_gb": 1.75}}]
    assert "is a catalog chip" in error_of(tmp_path, {**SMALL, "chips": clash, "prices": {}})
    empty = [{"id": "same", "base": "h100-sxm"}]
    assert "needs overrides or scale" in error_of(tmp_path, {**SMALL, "chips": empty})
    twice = ["h100-sxm", "H100-SXM5"]
    assert "listed twice" in error_of(tmp_path, {**SMALL, "chips": twice, "prices": {}})


def test_cli_reports_a_bad_file_in_one_line(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, {**SMALL, "chips": ["h100-sxmm"], "prices": {}})
    res = runner.invoke(app, ["sweep", str(path), "-o", str(tmp_path / "o.parquet")])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "did you mean" in lines[0]


# -- the grid -----------------------------------------------------------------------------------
def test_ranges_expand() -> None:
    assert IntRange(start=64, stop=8192, factor=2).values() == [64 * 2**i for i in range(8)]
    assert IntRange(start=1024, stop=4096, step=1024).values() == [1024, 2048, 3072, 4096]
    assert IntRange(start=100, stop=1000, factor=3).values() == [100, 300, 900]


def test_grid_expansion_order_and_keys(tmp_path: Path) -> None:
    sw = resolved(tmp_path)
    pts = sw.points()
    assert len(pts) == sw.size() == 2 * (2 + 1 + 1) * 3
    assert [p.index for p in pts] == list(range(len(pts)))
    first = [(p.model, p.chip, p.n_chips, p.price.label if p.price else None) for p in pts[:7]]
    assert first == [
        ("llama3.1-8b", "h100-sxm", 16, "aws-p5:on_demand"),
        ("llama3.1-8b", "h100-sxm", 16, "aws-p5:capacity_block"),
        ("llama3.1-8b", "h100-sxm", 32, "aws-p5:on_demand"),
        ("llama3.1-8b", "h100-sxm", 32, "aws-p5:capacity_block"),
        ("llama3.1-8b", "h100-sxm", 64, "aws-p5:on_demand"),
        ("llama3.1-8b", "h100-sxm", 64, "aws-p5:capacity_block"),
        ("llama3.1-8b", "trn2", 16, "aws-trn2:on_demand"),
    ]
    whatif = [p for p in pts if p.chip == "trn2-hbm+30"]
    assert whatif and all(p.price is None for p in whatif)  # no price given for it
    assert len({p.key for p in pts}) == len(pts)
    assert [p.key for p in resolved(tmp_path).points()] == [p.key for p in pts]  # stable


def test_key_follows_the_inputs(tmp_path: Path) -> None:
    base = {p.index: p.key for p in resolved(tmp_path).points()}
    chips = [*SMALL["chips"][:2], {**SMALL["chips"][2], "overrides": {"hbm_bandwidth_tb_per_s": 4}}]
    changed = resolved(tmp_path, {**SMALL, "chips": chips}).points()
    same = [p.index for p in changed if p.key == base[p.index]]
    moved = {p.chip for p in changed if p.key != base[p.index]}
    assert moved == {"trn2-hbm+30"} and len(same) == len(base) - 6


def test_batch_in_tokens_and_what_if_units(tmp_path: Path) -> None:
    data = {k: v for k, v in SMALL.items() if k != "global_batch"}
    chips = [
        "trn2",
        {"id": "trn2-hbm+30", "base": "trn2", "scale": {"hbm_bandwidth_tb_per_s": 1.3}},
        {
            "id": "trn2-big",
            "base": "trn2",
            "overrides": {
                "hbm_capacity_gib": 128,
                "peak_bf16_dense_tflops": 1000,
                "scale_up_gb_per_s_per_direction": 640,
                "scale_out_per_node_gbit_per_s": 3200,
            },
        },
    ]
    sw = resolved(
        tmp_path,
        {**data, "chips": chips, "global_batch_tokens": [1048576], "prices": {}},
    )
    assert {p.global_batch for p in sw.points()} == {256}
    ctx = sw.context
    trn2 = ctx.chips["trn2"]
    assert ctx.chips["trn2-hbm+30"].hbm_bandwidth == pytest.approx(trn2.hbm_bandwidth * 1.3)
    big = ctx.chips["trn2-big"]
    assert big.hbm_bytes == 128 * units.GIB
    assert big.peak_flops["bf16"] == pytest.approx(1000 * units.TFLOP)
    assert big.scale_up_bandwidth == pytest.approx(640 * units.GB)
    assert big.scale_out_bandwidth_per_node == pytest.approx(3200 * units.GBIT)
    assert big.hbm_bandwidth == trn2.hbm_bandwidth and big.tdp_watts == trn2.tdp_watts
    base_eff = load_calibration().for_chip(trn2.family, trn2.vendor, trn2.id)
    assert ctx.effs["trn2-big"] == base_eff == ctx.effs["trn2"]  # what-ifs keep the base's


def test_chunks_never_split_a_shared_search(tmp_path: Path) -> None:
    pts = resolved(tmp_path).points()
    chunks = make_chunks(pts, 3)
    assert [p for c in chunks for p in c.points] == pts
    for a, b in itertools.pairwise(chunks):
        assert a.points[-1].search_key != b.points[0].search_key
        assert len(a.points) >= 3


# -- the local executor ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Sweep, pa.Table, Path]:
    tmp = tmp_path_factory.mktemp("full")
    sw = resolved(tmp)
    out = tmp / "full.parquet"
    with LocalExecutor() as ex:
        run = run_sweep(sw, out, ex, chunk_size=4, csv=True)
    assert run.complete and run.points_computed == sw.size() and run.points_reused == 0
    assert run.searches < run.points_computed  # two prices share the h100 searches
    return sw, pq.read_table(out), out


def test_local_run_writes_one_row_per_point(full_run: tuple[Sweep, pa.Table, Path]) -> None:
    sw, table, out = full_run
    assert table.schema.names == SCHEMA.names
    assert table.num_rows == sw.size()
    assert table.column("index").to_pylist() == list(range(sw.size()))
    assert table.column("key").to_pylist() == [p.key for p in sw.points()]
    assert not parts_dir(out).exists()
    assert out.with_suffix(".csv").read_text().count("\n") == sw.size() + 1
    meta = json.loads(table.schema.metadata[b"chipswitch.sweep"])
    assert meta["objective"] == "cost" and meta["constraints"]["max_chips"] == 32


def test_local_rows_are_consistent(full_run: tuple[Sweep, pa.Table, Path]) -> None:
    _, table, _ = full_run
    rows = table.to_pylist()
    statuses = [(r["model"], r["chip"], r["chips"], r["status"]) for r in rows]
    # 70B weights, gradients and Adam states do not fit on 16 H100s under any plan
    assert [s for s in statuses if s[3] != "ok"] == [
        ("llama3.1-70b", "h100-sxm", 16, "infeasible")
    ] * 2
    for r in rows:
        if r["status"] != "ok":
            assert r["satisfies_constraints"] is False and r["objective_value"] is None
            assert "GB per chip" in r["reason"] and r["train_seconds"] is None
            continue
        assert r["tp"] * r["pp"] * r["dp"] * r["cp"] == r["chips"]
        assert r["memory_bytes"] <= r["hbm_bytes"]
        rate = r["tokens_per_s_per_chip"] * r["chips"]
        assert r["train_seconds"] == pytest.approx(r["tokens_to_train"] / rate)
        assert r["train_seconds_lo"] <= r["train_seconds"] <= r["train_seconds_hi"]
        assert r["meets_max_chips"] == (r["chips"] <= 32)
        assert r["meets_deadline"] == (r["all_in_train_seconds"] / units.DAY <= 40)
        assert r["meets_budget"] is None  # no budget set
        assert r["satisfies_constraints"] == (r["meets_max_chips"] and r["meets_deadline"])
        if r["price_offering"] is None:
            assert r["cost_usd"] is None and r["objective_value"] is None
        else:
            usd = r["chip_hours"] * r["price_usd_per_chip_hour"]
            assert r["cost_usd"] == pytest.approx(usd)
            # the objective is the all-in cost: failures and checkpoints counted, above ideal
            assert r["objective_column"] == "all_in_cost_usd"
            assert r["objective_value"] == r["all_in_cost_usd"] > r["cost_usd"]
        assert r["all_in_train_seconds"] == pytest.approx(r["train_seconds"] / r["goodput"])
        if r["energy_joules"] is None:  # no published TDP
            assert r["all_in_energy_joules"] is None
        else:
            watts = r["energy_joules"] / (r["chip_hours"] * 3600)  # per chip, at TDP
            assert r["all_in_energy_joules"] == pytest.approx(
                r["all_in_train_seconds"] * r["chips"] * watts
            )
    by_key = {(r["model"], r["chip"], r["chips"], r["price_type"]): r for r in rows}
    od = by_key[("llama3.1-8b", "h100-sxm", 16, "on_demand")]
    cb = by_key[("llama3.1-8b", "h100-sxm", 16, "capacity_block")]
    assert od["plan"] == cb["plan"] and od["train_seconds"] == cb["train_seconds"]
    assert od["cost_usd"] > cb["cost_usd"]


#: One model on priced H100s at two sizes: enough to compare objectives, two searches a run.
TINY: dict[str, Any] = {
    **SMALL,
    "models": ["llama3.1-8b"],
    "chips": ["h100-sxm"],
    "chip_counts": [16, 64],
    "prices": {"h100-sxm": "aws-p5"},
    "constraints": {},
}


def _tiny_rows(tmp_path: Path, **extra: Any) -> tuple[Sweep, list[dict[str, Any]]]:
    sw = resolved(tmp_path, {**TINY, **extra})
    out = tmp_path / f"tiny-{len(list(tmp_path.glob('tiny-*.parquet')))}.parquet"
    with LocalExecutor() as ex:
        run_sweep(sw, out, ex)
    return sw, pq.read_table(out).to_pylist()


@pytest.mark.parametrize("objective", ["time", "cost", "energy"])
def test_objective_is_the_all_in_figure_and_ideal_without_failures(
    tmp_path: Path, objective: str
) -> None:
    _, rows = _tiny_rows(tmp_path, objective=objective)
    _, off = _tiny_rows(tmp_path, objective=objective, failure_rate=0)
    column, ideal = OBJECTIVE_COLUMN[objective], IDEAL_COLUMN[objective]
    assert column.startswith("all_in_") and len(rows) == len(off) == 2
    for r, o in zip(rows, off, strict=True):
        assert r["status"] == o["status"] == "ok"
        assert r["objective_column"] == o["objective_column"] == column
        assert r["objective_value"] == r[column] > r[ideal]  # failures cost time and money
        assert 0 < r["goodput"] < 1
        assert o["goodput"] == 1.0 and o["objective_value"] == o[ideal] == r[ideal]
    # a larger fleet is interrupted more often
    assert rows[1]["goodput"] < rows[0]["goodput"]


def test_limits_hold_the_all_in_run(tmp_path: Path) -> None:
    """A deadline or budget between the ideal and the all-in figure is missed: the run with
    failures counted is what has to fit."""
    _, rows = _tiny_rows(tmp_path)
    r = rows[1]
    days = (r["train_days"] + r["all_in_train_seconds"] / units.DAY) / 2
    usd = (r["cost_usd"] + r["all_in_cost_usd"]) / 2
    tight = resolved(tmp_path, {**TINY, "constraints": {"deadline_days": days, "budget_usd": usd}})
    got = output.derive({k: r[k] for k in COMPUTED_SCHEMA.names}, tight)
    assert got["meets_deadline"] is False and got["meets_budget"] is False
    assert got["satisfies_constraints"] is False
    off = resolved(
        tmp_path, {**TINY, "failure_rate": 0, "constraints": tight.constraints.model_dump()}
    )
    _, ideal_rows = _tiny_rows(tmp_path, failure_rate=0)
    same = output.derive({k: ideal_rows[1][k] for k in COMPUTED_SCHEMA.names}, off)
    assert same["meets_deadline"] is True and same["meets_budget"] is True


def test_report_ranks_and_draws_the_all_in_figures(tmp_path: Path) -> None:
    """Where the all-in order differs from the ideal one, the ranking and the frontier follow
    the all-in figures; a point whose all-in run never ends takes no part."""
    sw, rows = _tiny_rows(tmp_path)
    small, large = ({**r} for r in rows)  # 16 and 64 chips
    small |= {"cost_usd": 100.0, "all_in_cost_usd": 130.0}  # ideal cheaper, all-in dearer
    large |= {"cost_usd": 110.0, "all_in_cost_usd": 120.0}
    table = output.final_table(
        sw.points(),
        {r["key"]: {k: r[k] for k in COMPUTED_SCHEMA.names} for r in (small, large)},
        sw,
    )
    (chip,) = rank(table)[0].chips
    assert chip.cheapest is not None and chip.fastest is not None
    assert chip.cheapest.chips == 64 and chip.cheapest.all_in_cost_usd == 120.0
    assert chip.cheapest.cost_usd == 110.0  # the ideal figure kept beside it
    assert chip.fastest.chips == 64  # and faster all-in
    assert chip.fastest.all_in_days == large["all_in_train_seconds"] / units.DAY
    text = render_html(table)
    assert "all-in" in text and "130" not in _frontier_xs(text)
    never = output.final_table(
        sw.points(),
        {
            r["key"]: {k: r[k] for k in COMPUTED_SCHEMA.names}
            for r in (small, large | {"all_in_train_seconds": math.inf})
        },
        sw,
    )
    (chip,) = rank(never)[0].chips
    assert chip.cheapest is not None and chip.cheapest.chips == 16
    assert chip.fastest is not None and chip.fastest.chips == 16


def _frontier_xs(text: str) -> str:
    """The x values (all-in cost) of the ringed Pareto trace in a rendered report."""
    m = re.search(r'"name":"Pareto front".*?"x":\[([^\]]*)\]', text) or re.search(
        r'"x":\[([^\]]*)\][^{}]*"name":"Pareto front"', text
    )
    assert m, "the report draws a Pareto front"
    return m.group(1)


def test_failure_rate_is_in_the_key_and_must_be_a_rate(tmp_path: Path) -> None:
    base = [p.key for p in resolved(tmp_path, TINY).points()]
    assert [p.key for p in resolved(tmp_path, {**TINY, "failure_rate": 0}).points()] != base
    assert resolved(tmp_path, {**TINY, "failure_rate": 2.5}).meta["failure_rate"] == 2.5
    assert "failure_rate" in error_of(tmp_path, {**TINY, "failure_rate": -1})


def test_infeasible_points_get_a_reason(tmp_path: Path) -> None:
    data = {**SMALL, "models": ["llama3.1-405b"], "chips": ["h100-sxm"], "chip_counts": [8]}
    sw = resolved(tmp_path, {**data, "prices": {}})
    with LocalExecutor() as ex:
        run = run_sweep(sw, tmp_path / "inf.parquet", ex)
    row = pq.read_table(tmp_path / "inf.parquet").to_pylist()[0]
    assert run.status_counts == {"infeasible": 1}
    assert row["status"] == "infeasible" and "GB" in row["reason"]
    assert row["plan"] is None and row["satisfies_constraints"] is False


# -- resume -------------------------------------------------------------------------------------
class Counting:
    """Wraps `run_chunk` to count the points actually computed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: list[str] = []
        real = sweep_work.run_chunk

        def counted(chunk: sweep_work.Chunk, ctx: Any) -> sweep_work.ChunkResult:
            self.keys += [p.key for p in chunk.points]
            return real(chunk, ctx)

        monkeypatch.setattr("chipswitch.sweep.executors.run_chunk", counted)


def test_resume_after_a_partial_run_computes_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_run: tuple[Sweep, pa.Table, Path]
) -> None:
    sw, full, _ = full_run
    out = tmp_path / "part.parquet"
    with LocalExecutor() as ex:
        first = run_sweep(sw, out, ex, chunk_size=4, limit_chunks=2)
    partial = pq.read_table(out)
    assert not first.complete and partial.num_rows == first.points_computed >= 8
    assert partial.column("index").to_pylist() == list(range(partial.num_rows))

    count = Counting(monkeypatch)
    with LocalExecutor() as ex:
        second = run_sweep(sw, out, ex, chunk_size=4, resume=True)
    done = set(partial.column("key").to_pylist())
    assert second.points_reused == len(done)
    assert second.points_computed == sw.size() - len(done) == len(count.keys)
    assert not done & set(count.keys)  # no finished point computed again
    resumed = pq.read_table(out)
    assert resumed.slice(0, partial.num_rows).equals(partial)
    assert resumed.equals(full)

    count.keys.clear()
    with LocalExecutor() as ex:
        third = run_sweep(sw, out, ex, resume=True)
    assert third.points_computed == 0 and count.keys == [] and third.complete


class Interrupting:
    """An executor that is stopped by Ctrl-C after `after` chunks."""

    name = "local"
    workers = 1

    def __init__(self, after: int) -> None:
        self.after = after

    def __enter__(self) -> Interrupting:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, chunks: Any, ctx: Any) -> Any:
        for i, chunk in enumerate(chunks):
            if i == self.after:
                raise KeyboardInterrupt
            yield sweep_work.run_chunk(chunk, ctx)


def test_ctrl_c_leaves_a_valid_partial_file_and_resume_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_run: tuple[Sweep, pa.Table, Path]
) -> None:
    sw, full, _ = full_run
    out = tmp_path / "int.parquet"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sw, out, Interrupting(after=3), chunk_size=2)
    partial = pq.read_table(out)
    assert 6 <= partial.num_rows < sw.size()
    assert not parts_dir(out).exists()  # merged into the output
    count = Counting(monkeypatch)
    with LocalExecutor() as ex:
        run = run_sweep(sw, out, ex, resume=True)
    assert run.points_reused == partial.num_rows and len(count.keys) == run.points_computed
    assert pq.read_table(out).equals(full)


def test_resume_picks_up_part_files_of_a_killed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_run: tuple[Sweep, pa.Table, Path]
) -> None:
    """A run killed before it could write the output leaves part files; resume uses them."""
    sw, full, _ = full_run
    out = tmp_path / "killed.parquet"
    from chipswitch.sweep import output

    chunk = make_chunks(sw.points(), 5)[0]
    output.write_part(out, sweep_work.run_chunk(chunk, sw.context).rows)
    (parts_dir(out) / "part-999-broken.parquet").write_bytes(b"PAR1 cut off")
    count = Counting(monkeypatch)
    with LocalExecutor() as ex:
        run = run_sweep(sw, out, ex, resume=True)
    assert run.points_reused == len(chunk.points)
    assert len(count.keys) == sw.size() - len(chunk.points)
    assert pq.read_table(out).equals(full)


def test_new_constraints_on_resume_reflag_without_recomputing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_run: tuple[Sweep, pa.Table, Path]
) -> None:
    _, _, out = full_run
    copy = tmp_path / "copy.parquet"
    copy.write_bytes(out.read_bytes())
    sw2 = resolved(tmp_path, {**SMALL, "constraints": {"budget_usd": 1e5}, "objective": "time"})
    count = Counting(monkeypatch)
    with LocalExecutor() as ex:
        run_sweep(sw2, copy, ex, resume=True)
    assert count.keys == []
    rows = pq.read_table(copy).to_pylist()
    assert all(r["objective_value"] == r["all_in_train_seconds"] for r in rows)
    assert all(r["meets_max_chips"] is None for r in rows)
    for r in rows:
        if r["cost_usd"] is None:
            assert r["meets_budget"] is None and r["satisfies_constraints"] is False
        else:
            assert r["meets_budget"] == (r["all_in_cost_usd"] <= 1e5)
            assert r["meets_budget"] == r["satisfies_constraints"]
    ranked = {c.chip: c for c in rank(pq.read_table(copy))[0].chips}
    unpriced = ranked["trn2-hbm+30"]  # no price: held to no budget, ranked by time only
    assert unpriced.cost_rank is None and unpriced.time_rank is not None
    assert all(c.cheapest is None or c.cheapest.all_in_cost_usd <= 1e5 for c in ranked.values())


# -- the CLI ------------------------------------------------------------------------------------
def test_cli_sweep_json_and_report(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, SMALL)
    out = tmp_path / "res.parquet"
    res = runner.invoke(app, ["sweep", str(path), "-o", str(out), "--csv", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["points_total"] == summary["points_computed"] == 24
    assert summary["complete"] and summary["status_counts"] == {"infeasible": 2, "ok": 22}
    assert summary["plans_evaluated"] > 0 and summary["executor"] == "local"
    assert summary["objective"] == "cost" and summary["objective_column"] == "all_in_cost_usd"
    assert out.exists() and out.with_suffix(".csv").exists()

    again = runner.invoke(app, ["sweep", str(path), "-o", str(out), "--resume", "--json"])
    assert json.loads(again.stdout)["points_computed"] == 0

    rep = runner.invoke(app, ["sweep-report", str(out), "--json"])
    assert rep.exit_code == 0, rep.output
    rankings = json.loads(rep.stdout)["rankings"]
    assert [r["model"] for r in rankings] == ["llama3.1-8b", "llama3.1-70b"]
    chips = rankings[0]["chips"]
    priced = [c for c in chips if c["cost_rank"] is not None]
    costs = [c["cheapest"]["all_in_cost_usd"] for c in priced]
    assert costs == sorted(costs) and [c["cost_rank"] for c in priced] == [1, 2]
    assert all(c["cheapest"]["chips"] <= 32 for c in priced)  # max_chips respected
    unpriced = next(c for c in chips if c["chip"] == "trn2-hbm+30")
    assert unpriced["cost_rank"] is None and unpriced["time_rank"] is not None

    table = runner.invoke(app, ["sweep-report", str(out)])
    assert table.exit_code == 0 and "llama3.1-70b" in table.stdout and "trn2" in table.stdout


def test_sweep_report_html_is_self_contained(
    tmp_path: Path, full_run: tuple[Sweep, pa.Table, Path]
) -> None:
    _, _, out = full_run
    target = tmp_path / "report.html"
    res = runner.invoke(app, ["sweep-report", str(out), "--html", str(target)])
    assert res.exit_code == 0, res.output
    text = target.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", text, re.I)
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", text, re.I)
    assert "Plotly.newPlot" in text and "Pareto front" in text
    assert '"showSendToCloud": false' in text  # no "share to Plotly Cloud" button
    assert '"name":"h100-sxm"' in text and '"name":"trn2"' in text
    assert not list(tmp_path.glob(".report.html.*"))  # no temporary file left


def test_pareto_front() -> None:
    from chipswitch.sweep.report import FrontPoint

    pts = [FrontPoint("a", 1, d, c, "") for d, c in [(10, 5), (5, 10), (6, 12), (20, 4), (5, 11)]]
    assert [(p.days, p.cost_usd) for p in pareto_front(pts)] == [(5, 10), (10, 5), (20, 4)]


def test_report_renders_without_priced_points(full_run: tuple[Sweep, pa.Table, Path]) -> None:
    _, table, _ = full_run
    only = table.filter(pc.equal(table.column("chip"), "trn2-hbm+30"))
    text = render_html(only)
    assert "No priced point meets the constraints" in text
    assert rank(only)[0].chips[0].cost_rank is None


def test_report_rejects_other_files(tmp_path: Path) -> None:
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    res = runner.invoke(app, ["sweep-report", str(other)])
    assert res.exit_code == 2 and "not a chipswitch sweep output" in res.output
    res = runner.invoke(app, ["sweep-report", str(tmp_path / "missing.parquet")])
    assert res.exit_code == 2 and "no such file" in res.output


def test_missing_ray_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    path = write_sweep(tmp_path, SMALL)
    res = runner.invoke(app, ["sweep", str(path), "-e", "ray", "-o", str(tmp_path / "r.parquet")])
    assert res.exit_code == 2
    assert "needs Ray" in res.output and "pip install" in res.output
    res = runner.invoke(app, ["sweep", str(path), "--address", "host:6379"])
    assert res.exit_code == 2 and "--executor ray" in res.output
