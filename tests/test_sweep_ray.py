"""The Ray executor on a local Ray instance gives exactly the local executor's output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_sweep import SMALL, resolved, write_sweep
from typer.testing import CliRunner

from chipswitch.cli.app import app
from chipswitch.sweep import LocalExecutor, RayExecutor, run_sweep

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_matches_local(tmp_path: Path, local_ray: None) -> None:
    sw = resolved(tmp_path)
    with LocalExecutor() as ex:
        local = run_sweep(sw, tmp_path / "local.parquet", ex, chunk_size=3)
    with RayExecutor() as ex:
        assert ex.workers == 2
        remote = run_sweep(sw, tmp_path / "ray.parquet", ex, chunk_size=3)
    assert ray.is_initialized()  # an instance it did not start is left running
    assert remote.executor == "ray" and remote.chunks == local.chunks > 2
    assert remote.points_computed == local.points_computed == sw.size()
    assert remote.plans_evaluated == local.plans_evaluated
    a, b = pq.read_table(tmp_path / "local.parquet"), pq.read_table(tmp_path / "ray.parquet")
    assert a.equals(b, check_metadata=True)
    assert (tmp_path / "local.parquet").read_bytes() == (tmp_path / "ray.parquet").read_bytes()


def test_ray_cli_resume(tmp_path: Path, local_ray: None) -> None:
    path = write_sweep(tmp_path, SMALL)
    out = tmp_path / "cli.parquet"
    sw = resolved(tmp_path)
    with RayExecutor() as ex:
        run_sweep(sw, out, ex, chunk_size=4, limit_chunks=1)
    runner = CliRunner()
    args = ["sweep", str(path), "-e", "ray", "-o", str(out), "--resume", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["executor"] == "ray" and summary["complete"]
    assert summary["points_reused"] >= 4
    assert summary["points_reused"] + summary["points_computed"] == sw.size()
