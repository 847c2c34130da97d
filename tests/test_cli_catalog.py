"""`chipswitch hardware|models|prices`: the JSON contract, tables, user dirs and user errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import support
import yaml
from typer.testing import CliRunner

from chipswitch.catalog import DATA_DIR, ENV_VAR
from chipswitch.cli.app import app

runner = CliRunner()

CHIP_KEYS = {
    "id",
    "name",
    "vendor",
    "family",
    "peak_flops_bf16",
    "peak_flops_fp8",
    "hbm_bytes",
    "hbm_bandwidth",
    "scale_up_bandwidth",
    "scale_up_domain",
    "chips_per_node",
    "scale_out_bandwidth_per_node",
    "tdp_watts",
    "sources",
    "unset",
}
PRICE_KEYS = {
    "offering",
    "chip",
    "cloud",
    "type",
    "usd_per_chip_hour",
    "usd_per_instance_hour",
    "region",
    "date",
    "sources",
}
HAS_LLAMA2 = any(
    re.search(r"^id: llama2-7b\s*$", p.read_text(), re.M)
    for p in (DATA_DIR / "models").glob("*.yaml")
)
needs_llama2 = pytest.mark.skipif(
    not HAS_LLAMA2, reason="no shipped model file for llama2-7b yet (model catalog not added)"
)


@pytest.fixture(autouse=True)
def _no_env_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("COLUMNS", "160")


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_user_error(result: Any, *fragments: str) -> str:
    """Non-zero exit, exactly one `error:` line on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return str(lines[0])


# -- hardware ---------------------------------------------------------------------------------
def test_hardware_list_json_contract() -> None:
    chips = run_json("hardware", "list")
    assert isinstance(chips, list)
    assert len(chips) >= 24
    assert len({c["vendor"] for c in chips}) >= 5
    for c in chips:
        assert set(c) >= CHIP_KEYS, f"{c['id']} lacks {CHIP_KEYS - set(c)}"
        assert isinstance(c["sources"], list) and c["sources"]
        assert isinstance(c["unset"], list)
        for key in ("peak_flops_bf16", "hbm_bytes", "hbm_bandwidth", "tdp_watts"):
            assert c[key] is None or isinstance(c[key], float)


def test_hardware_list_json_is_si() -> None:
    chips = {c["id"]: c for c in run_json("hardware", "list")}
    h100 = chips["h100-sxm"]
    assert h100["peak_flops_bf16"] == pytest.approx(9.894e14)
    assert h100["peak_flops_fp8"] == pytest.approx(1.9789e15)
    assert h100["hbm_bytes"] == pytest.approx(80e9)
    assert h100["hbm_bandwidth"] == pytest.approx(3.35e12)
    assert h100["scale_up_bandwidth"] == pytest.approx(450e9)
    assert h100["scale_up_domain"] == 8
    assert h100["chips_per_node"] == 8
    assert h100["tdp_watts"] == pytest.approx(700)
    assert h100["unset"] == []
    # Unset values are null and listed.
    tpu = chips["tpu-v4"]
    assert tpu["tdp_watts"] is None
    assert "tdp_w" in tpu["unset"]


def test_hardware_list_vendor_filter() -> None:
    chips = run_json("hardware", "list", "--vendor", "amd")
    assert chips and {c["vendor"] for c in chips} == {"amd"}


def test_hardware_list_unknown_vendor() -> None:
    assert_user_error(run("hardware", "list", "--vendor", "nvdia"), "nvidia")


def test_hardware_list_table() -> None:
    result = run("hardware", "list")
    assert result.exit_code == 0, result.output
    assert "h100-sxm" in result.stdout
    assert "TFLOP/s" in result.stdout
    assert "989.4" in result.stdout


def test_hardware_show_json_has_source_details() -> None:
    h100 = run_json("hardware", "show", "h100")  # alias
    assert h100["id"] == "h100-sxm"
    assert set(h100) >= CHIP_KEYS
    details = {d["id"]: d for d in h100["source_details"]}
    assert set(details) == set(h100["sources"])
    assert all(d["title"] for d in details.values())
    assert any(d["url"] for d in details.values())
    assert h100["provenance"]["tdp_w"]["sources"]


def test_hardware_show_table() -> None:
    result = run("hardware", "show", "tpu-v4")
    assert result.exit_code == 0, result.output
    assert "TPU v4" in result.stdout
    assert "GiB" in result.stdout
    assert "—" in result.stdout  # unset TDP
    assert re.search(r"Matrix unit \(systolic\)\s+128 x 128", result.stdout)
    assert re.search(r"TensorCores per device \(megacore\)\s+2\s", result.stdout)


def test_hardware_show_gives_matrix_unit_and_megacore() -> None:
    v5p, v6e, tpu7x = (run_json("hardware", "show", c) for c in ("tpu-v5p", "tpu-v6e", "tpu7x"))
    assert (v5p["matrix_unit"], v5p["megacore"]) == (128, 2)
    assert (v6e["matrix_unit"], v6e["megacore"]) == (256, 1)
    assert tpu7x["matrix_unit"] is None and {"matrix_unit", "megacore"} <= set(tpu7x["unset"])
    assert tpu7x["provenance"]["megacore"]["note"]  # why it is unset
    assert run_json("hardware", "show", "h100-sxm")["matrix_unit"] is None


def test_unknown_chip_is_one_line_with_suggestions() -> None:
    line = assert_user_error(run("hardware", "show", "no-such-chip"), "no-such-chip")
    assert "h100-sxm" in line  # names known ids when nothing is close
    line = assert_user_error(run("hardware", "show", "h100-sxm6"), "did you mean")
    assert "h100-sxm" in line


def test_console_script_reports_user_errors_without_traceback() -> None:
    """The installed entry point (`main`) behaves like the test runner: one line, exit 2."""
    code = "from chipswitch.cli.app import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "hardware", "show", "no-such-chip"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: unknown chip 'no-such-chip'")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""


# -- user catalog directories ----------------------------------------------------------------
def chip_data(chip_id: str, **changes: Any) -> dict[str, Any]:
    return support.chip_data(chip_id, kind="amd", **changes)


catalog_dir = support.write_catalog_dir


def test_catalog_option_adds_and_overrides(tmp_path: Path) -> None:
    d = catalog_dir(
        tmp_path / "mine",
        {
            "mi450": chip_data("mi450x"),
            "h100": chip_data(
                "h100-sxm",
                vendor="nvidia",
                family="nvidia-hopper",
                tdp_w={"value": 650, "source": ["my_bench"]},
            ),
        },
    )
    chips = {c["id"]: c for c in run_json("--catalog", str(d), "hardware", "list")}
    assert chips["mi450x"]["peak_flops_bf16"] == pytest.approx(3e15)
    assert chips["mi450x"]["tdp_watts"] is None
    assert chips["mi450x"]["scale_up_bandwidth"] == pytest.approx(1.8e12)
    assert chips["h100-sxm"]["tdp_watts"] == pytest.approx(650)
    shown = run_json("--catalog", str(d), "hardware", "show", "mi450x")
    assert shown["source_details"][0]["title"] == "My lab's datasheet"
    assert shown["file"].endswith("mi450.yaml")


def test_catalog_option_is_repeatable_later_wins(tmp_path: Path) -> None:
    a = catalog_dir(tmp_path / "a", {"x": chip_data("x-chip")})
    b = catalog_dir(
        tmp_path / "b", {"x": chip_data("x-chip", tdp_w={"value": 999, "source": ["my_bench"]})}
    )
    chip = run_json("--catalog", str(a), "--catalog", str(b), "hardware", "show", "x-chip")
    assert chip["tdp_watts"] == pytest.approx(999)


def test_env_var_adds_chips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = catalog_dir(tmp_path / "env", {"e": chip_data("env-chip")})
    monkeypatch.setenv(ENV_VAR, str(d))
    ids = {c["id"] for c in run_json("hardware", "list")}
    assert "env-chip" in ids


@pytest.mark.parametrize(
    ("changes", "raw", "field"),
    [
        ({"hbm_capacity_gbb": {"value": 1, "source": ["my_bench"]}}, None, "hbm_capacity_gbb"),
        ({"peak_bf16_dense_tflops": {"value": -5, "source": ["my_bench"]}}, None, "peak_bf16"),
        ({"chips_per_node": {"value": None, "source": []}}, None, "chips_per_node"),
        (None, "id: x\nname: [unclosed\n", "line"),
    ],
    ids=["misspelt-key", "negative", "unset-without-note", "yaml-syntax"],
)
def test_malformed_user_file_is_one_line_naming_file_and_field(
    tmp_path: Path, changes: dict[str, Any] | None, raw: str | None, field: str
) -> None:
    chips = {"broken": chip_data("broken-chip", **changes)} if changes is not None else None
    d = catalog_dir(tmp_path / "bad", chips, raw=raw)
    assert_user_error(run("--catalog", str(d), "hardware", "list"), "broken.yaml", field)


def test_missing_catalog_dir_is_a_user_error(tmp_path: Path) -> None:
    assert_user_error(run("--catalog", str(tmp_path / "nope"), "hardware", "list"), "nope")


# -- prices -----------------------------------------------------------------------------------
def test_prices_list_json() -> None:
    rows = run_json("prices", "list")
    assert len(rows) >= 20
    for r in rows:
        assert set(r) >= PRICE_KEYS
        assert isinstance(r["usd_per_chip_hour"], float)
        assert r["usd_per_instance_hour"] >= r["usd_per_chip_hour"]
        assert r["date"]
        assert r["sources"]
    p5 = [r for r in rows if r["offering"] == "aws-p5" and r["date"] == "2025-11-30 and 2026-01-21"]
    assert p5[0]["usd_per_chip_hour"] == pytest.approx(6.88)
    assert p5[0]["usd_per_instance_hour"] == pytest.approx(55.04)


def test_prices_list_filters() -> None:
    rows = run_json("prices", "list", "--chip", "h100", "--cloud", "aws")
    assert rows
    assert {r["chip"] for r in rows} == {"h100-sxm"}
    assert {r["cloud"] for r in rows} == {"aws"}
    everything = run_json("prices", "list", "--all")
    assert any(r["usd_per_chip_hour"] is None for r in everything)


def test_prices_list_table_and_errors() -> None:
    result = run("prices", "list", "--chip", "tpu-v5p")
    assert result.exit_code == 0, result.output
    assert "gcp-tpu-v5p" in result.stdout
    assert_user_error(run("prices", "list", "--cloud", "azur"), "azure")
    assert_user_error(run("prices", "list", "--chip", "h1000"), "unknown chip")


# -- models -----------------------------------------------------------------------------------
LLAMA2_7B = {
    "id": "test-llama2-7b",
    "name": "Llama 2 7B (test copy)",
    "layers": 32,
    "hidden": 4096,
    "heads": 32,
    "kv_heads": 32,
    "head_dim": 128,
    "ffn_hidden": 11008,
    "vocab": 32000,
    "gated_mlp": True,
    "activation": "swiglu",
    "norm": "rmsnorm",
    "reference": {"params_total": 6738415616, "source": "HF meta-llama/Llama-2-7b-hf"},
}
MIXTRAL = {
    **LLAMA2_7B,
    "id": "test-mixtral",
    "name": "Mixtral 8x7B (test copy)",
    "kv_heads": 8,
    "ffn_hidden": 14336,
    "moe": {"experts": 8, "top_k": 2, "expert_ffn_hidden": 14336},
    "reference": {"params_total": 46.7e9, "params_active": 12.9e9, "source": "Mistral AI"},
}


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "models_cat"
    (d / "models").mkdir(parents=True)
    for m in (LLAMA2_7B, MIXTRAL):
        (d / "models" / f"{m['id']}.yaml").write_text(yaml.safe_dump(m))
    return d


def test_models_show_json_from_user_dir(model_dir: Path) -> None:
    m = run_json("--catalog", str(model_dir), "models", "show", "test-llama2-7b")
    assert m["layers"] == 32 and m["hidden"] == 4096
    assert m["params_total"] == 6_738_415_616
    assert m["params_active"] == m["params_total"]
    assert m["params"]["attention"] == 32 * 4 * 4096 * 4096
    assert sum(m["params"].values()) == m["params_total"]
    assert m["reference"]["params_total"] == pytest.approx(6738415616)


def test_models_show_moe_active_params(model_dir: Path) -> None:
    m = run_json("--catalog", str(model_dir), "models", "show", "test-mixtral")
    assert m["params_total"] == pytest.approx(46.7e9, rel=0.01)
    assert m["params_active"] == pytest.approx(12.9e9, rel=0.01)
    assert m["params"]["experts"] > 0


def test_models_list_and_tables(model_dir: Path) -> None:
    rows = run_json("--catalog", str(model_dir), "models", "list")
    ids = {r["id"] for r in rows}
    assert {"test-llama2-7b", "test-mixtral"} <= ids
    result = run("--catalog", str(model_dir), "models", "list")
    assert result.exit_code == 0, result.output
    assert "6.74B" in result.stdout
    result = run("--catalog", str(model_dir), "models", "show", "test-mixtral")
    assert result.exit_code == 0, result.output
    assert "experts" in result.stdout and "active" in result.stdout


def test_unknown_model_is_a_user_error(model_dir: Path) -> None:
    assert_user_error(
        run("--catalog", str(model_dir), "models", "show", "test-llama"), "test-llama"
    )


@needs_llama2
def test_shipped_llama2_7b() -> None:
    m = run_json("models", "show", "llama2-7b")
    assert m["params_total"] == pytest.approx(6.74e9, rel=0.005)
    assert m["reference"]["params_total"] == pytest.approx(m["params_total"], rel=1e-3)
    assert sum(m["params"].values()) == m["params_total"]
    result = run("models", "show", "llama-2-7b")  # alias
    assert result.exit_code == 0, result.output
    assert "Parameters" in result.stdout
    assert "llama2-7b" in {r["id"] for r in run_json("models", "list")}
