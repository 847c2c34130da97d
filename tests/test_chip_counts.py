"""Chip counts that split unevenly: no unrunnable pipeline, and a clear reason when refused."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from chipswitch.catalog import load_catalog
from chipswitch.cli.app import app
from chipswitch.errors import InfeasibleError
from chipswitch.parallel.enumerate import enumerate_plans, stage_split_ok
from chipswitch.perf.workload import Workload
from chipswitch.planning.compare import plan_training

CAT = load_catalog()
RUN = CliRunner()


@pytest.mark.parametrize(
    ("layers", "stages", "ok"),
    [(96, 31, False), (96, 32, True), (80, 35, False), (126, 9, True), (80, 7, True),
     (5, 2, True), (96, 1, True), (61, 16, True), (4, 3, True), (10, 9, False)],
)  # fmt: skip
def test_stage_split_follows_megatron_uneven_stages(layers: int, stages: int, ok: bool) -> None:
    assert bool(stage_split_ok(layers, np.array([stages]))[0]) is ok


def test_no_31_way_pipeline_on_992_chips() -> None:
    m = CAT.model("gpt3-175b")
    for plans in enumerate_plans(m, 992, 992, 2048, 8):
        assert not np.any(plans.pp * plans.vp == 31)


def test_992_chips_refused_with_reason_and_nearest_counts() -> None:
    w = Workload(CAT.model("gpt3-175b"), 1024, 2048, "bf16")
    with pytest.raises(InfeasibleError) as err:
        plan_training(w, CAT.chip("a100-80gb"), 992, catalog=CAT, top=1)
    msg = str(err.value)
    assert "2^5 x 31" in msg and "96 layers" in msg
    assert "nearest chip counts with a valid plan: 960 and 1,024" in msg


def test_cli_prints_one_error_line_for_2240_chips() -> None:
    res = RUN.invoke(
        app, ["plan", "-m", "llama2-70b", "-H", "a100-80gb", "-n", "2240", "-b", "1024",
              "-s", "4096"],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "2^6 x 5 x 7" in res.output and "Traceback" not in res.output


def test_9216_chips_plan_without_uneven_surprises() -> None:
    w = Workload(CAT.model("llama3.1-405b"), 2048, 8192, "bf16")
    out = plan_training(w, CAT.chip("h100-sxm"), 9216, catalog=CAT, top=1)
    p = out.result.best.plan
    assert p.tp * p.pp * p.dp * p.cp == 9216
    assert stage_split_ok(126, np.array([p.pp * p.vp]))[0]
