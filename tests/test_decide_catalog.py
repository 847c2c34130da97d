"""`--catalog DIR` reaches every chip lookup and throughput of `decide` and `/api/decide`
(issue 10): a chip only DIR has, and a chip DIR overrides. Uses the performance engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chipswitch.api.session import Session
from chipswitch.decide.scenario import SCENARIO_DIR

SEED = SCENARIO_DIR / "amazon-anthropic-2024.yaml"
SHIPPED_H100 = SCENARIO_DIR.parent / "chips" / "h100-sxm.yaml"


def _catalog_dir(tmp_path: Path, chip_id: str, peak: float) -> Path:
    root = tmp_path / "cat"
    (root / "chips").mkdir(parents=True)
    raw = yaml.safe_load(SHIPPED_H100.read_text())
    raw["id"] = chip_id
    raw["aliases"] = []
    raw["peak_bf16_dense_tflops"]["value"] = peak
    (root / "chips" / f"{chip_id}.yaml").write_text(yaml.safe_dump(raw))
    return root


def _scenario(tmp_path: Path, chip_id: str) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(SEED.read_text())
    gpu = raw["hardware"]["gpu"]
    gpu["chip"] = chip_id
    if chip_id != "h100-sxm":
        for key in ("offering", "price_type", "price_multiplier"):
            gpu.pop(key, None)
        gpu["price_usd_per_chip_hour"] = {"value": 3.5, "assumption": "test"}
        raw["correlations"] = [
            c for c in raw["correlations"] if "hardware.gpu.price_multiplier" not in c["between"]
        ]
    return raw


def _cli(*args: str) -> Any:
    from chipswitch.cli.app import app

    return CliRunner().invoke(app, list(args))


def _gpu_rate(doc: dict[str, Any]) -> float:
    rows = [r for r in doc["throughput"] if r["hardware"] == "gpu"]
    return float(rows[0]["tokens_per_s_per_chip"])


def test_cli_uses_a_chip_only_the_catalog_dir_has(tmp_path: Path) -> None:
    cat = _catalog_dir(tmp_path, "h100-dir", 989.4)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_scenario(tmp_path, "h100-dir")))
    res = _cli("--catalog", str(cat), "decide", str(path), "--json", "--samples", "200")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert {r["chip"] for r in doc["throughput"]} >= {"h100-dir", "trn2"}


def test_cli_and_api_use_a_chip_the_catalog_dir_overrides(tmp_path: Path) -> None:
    from chipswitch.web.app import create_app

    cat = _catalog_dir(tmp_path, "h100-sxm", 2 * 989.4)
    shipped = _cli("decide", "--json", "--samples", "200")
    faster = _cli("--catalog", str(cat), "decide", "--json", "--samples", "200")
    assert shipped.exit_code == 0 and faster.exit_code == 0, faster.output
    base, fast = _gpu_rate(json.loads(shipped.stdout)), _gpu_rate(json.loads(faster.stdout))
    assert fast > 1.2 * base
    with TestClient(create_app(Session(catalog_dirs=[cat])), base_url="http://localhost") as client:
        r = client.post("/api/decide", json={"samples": 200})
        assert r.status_code == 200, r.text
        assert _gpu_rate(r.json()) == pytest.approx(fast)
        only = _catalog_dir(tmp_path / "b", "h100-dir", 989.4)
    with TestClient(
        create_app(Session(catalog_dirs=[only])), base_url="http://localhost"
    ) as client:
        r = client.post(
            "/api/decide", json={"scenario": _scenario(tmp_path, "h100-dir"), "samples": 200}
        )
        assert r.status_code == 200, r.text
        assert "h100-dir" in {row["chip"] for row in r.json()["throughput"]}


def test_api_takes_set_pair_and_lhs() -> None:
    from chipswitch.web.app import create_app

    with TestClient(create_app(), base_url="http://localhost") as client:
        body = {
            "samples": 200,
            "set": ["company.cash_usd=1e13", "options.accept.financing.amount_usd=8e9"],
            "pair": ["hedge", "partial"],
            "lhs": True,
        }
        r = client.post("/api/decide", json=body)
        assert r.status_code == 200, r.text
        d = r.json()
        assert all(o["p_cash_out"] == 0 for o in d["options"])
        assert d["pair"] == ["hedge", "partial"] and d["run"]["lhs"] is True
        bad = client.post("/api/decide", json={"samples": 200, "set": ["company.cash_usdd=1"]})
        assert 400 <= bad.status_code < 500
        assert "company.cash_usdd" in bad.text
