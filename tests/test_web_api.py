"""The HTTP API: same answers as the CLI's --json, 4xx for bad input, limits and security."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chipswitch.catalog import DATA_DIR
from chipswitch.cli.app import app as cli
from chipswitch.decide.scenario import SCENARIO_DIR
from chipswitch.web import create_app
from chipswitch.web.limits import LimitError, Limits, Worker

RUN = CliRunner()
SEED_YAML = (SCENARIO_DIR / "amazon-anthropic-2024.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://localhost") as c:
        yield c


def _cli_json(*args: str) -> Any:
    res = RUN.invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


# -- the same answers as the CLI ----------------------------------------------------------------


def test_catalog_endpoints_match_the_cli(client: TestClient) -> None:
    assert client.get("/api/chips").json() == _cli_json("hardware", "list", "--json")
    amd = client.get("/api/chips", params={"vendor": "amd"}).json()
    assert amd == _cli_json("hardware", "list", "--vendor", "amd", "--json")
    assert client.get("/api/models").json() == _cli_json("models", "list", "--json")
    assert client.get("/api/offerings").json() == _cli_json("prices", "list", "--json")
    trn2 = client.get("/api/offerings", params={"chip": "trn2", "all": "true"}).json()
    assert trn2 == _cli_json("prices", "list", "--chip", "trn2", "--all", "--json")
    model = client.get("/api/models/llama3.1-405b").json()
    assert model == _cli_json("models", "show", "llama3.1-405b", "--json")
    chip = client.get("/api/chips/h100").json()
    ref = _cli_json("hardware", "show", "h100", "--json")
    assert _without(chip, "file", "offerings") == _without(ref, "file")
    assert chip["file"] == Path(ref["file"]).name  # no server directories in answers
    assert "aws-p5" in chip["offerings"]


def test_plan_matches_the_cli_json(client: TestClient) -> None:
    body = {
        "model": "llama3.1-8b",
        "hardware": "h100-sxm",
        "chips": 64,
        "global_batch": 256,
        "seq": 8192,
        "tokens": 1e12,
        "price": "aws-p5",
    }
    api = client.post("/api/plan", json=body).json()
    ref = _cli_json(
        "plan", "-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "64", "-b", "256", "-s", "8192",
        "--tokens", "1e12", "--price", "aws-p5", "--json",
    )  # fmt: skip
    assert _without(api, "seconds") == _without(ref, "seconds")
    assert api["pareto"] and api["training"]["cost_usd"] > 0
    again = client.post("/api/plan", json=body).json()  # the cached answer is the same
    assert again == api


def test_plan_failure_options_match_the_cli(client: TestClient) -> None:
    body = {
        "model": "llama3.1-8b", "hardware": "h100-sxm", "chips": 64, "global_batch": 256,
        "seq": 8192, "tokens": 1e12, "pareto": False, "failure_rate": 2.5,
        "checkpoint_interval_min": 30, "storage_bandwidth_gb_per_s": 50,
    }  # fmt: skip
    api = client.post("/api/plan", json=body).json()
    ref = _cli_json(
        "plan", "-m", "llama3.1-8b", "-H", "h100-sxm", "-n", "64", "-b", "256", "-s", "8192",
        "--tokens", "1e12", "--no-pareto", "--failure-rate", "2.5", "--checkpoint-interval",
        "30", "--storage-bandwidth", "50", "--json",
    )  # fmt: skip
    assert _without(api, "seconds") == _without(ref, "seconds")
    fm = api["training"]["all_in"]["failure_model"]
    assert fm["checkpoint_interval_s"] == 1800.0 and fm["storage_bandwidth"] == 50e9
    bad = client.post("/api/plan", json={**body, "failure_rate": -1})
    assert bad.status_code == 422 and "failure_rate" in bad.text


def test_compare_matches_the_cli_json(client: TestClient) -> None:
    body = {
        "model": "llama3.1-70b",
        "chips": 1024,
        "global_batch": 512,
        "seq": 8192,
        "tokens": 15e12,
        "hardware": ["h100", "trn2", "tpu-v5p"],
        "price_type": "on_demand",
    }
    api = client.post("/api/compare", json=body).json()
    ref = _cli_json(
        "compare", "-m", "llama3.1-70b", "-n", "1024", "-b", "512", "-s", "8192", "-t", "15e12",
        "--hardware", "h100,trn2,tpu-v5p", "--json",
    )  # fmt: skip
    assert api == ref
    assert {r["hardware"] for r in api["rows"]} == {"h100-sxm", "trn2", "tpu-v5p"}


def test_validate_matches_the_cli_json(client: TestClient) -> None:
    api = client.get("/api/validate").json()
    ref = _cli_json("validate", str(DATA_DIR / "validation" / "public.csv"), "--json")
    assert _without(api, "vendors", "file") == ref
    assert set(api["vendors"]) == {r["accelerator"] for r in api["rows"]}
    assert api["vendors"]["tpu-v4"] == "google"


def test_decide_by_name_yaml_and_mapping_match_the_cli(client: TestClient) -> None:
    ref = _cli_json("decide", "--json", "--samples", "200", "--seed", "1")
    by_name = client.post(
        "/api/decide", json={"scenario": "amazon-anthropic-2024", "samples": 200, "seed": 1}
    )
    assert by_name.status_code == 200, by_name.text
    assert by_name.json() == ref
    as_yaml = client.post(
        "/api/decide?samples=200&seed=1",
        content=SEED_YAML.encode(),
        headers={"content-type": "application/yaml"},
    )
    assert as_yaml.status_code == 200, as_yaml.text
    assert as_yaml.json()["verdict"] == ref["verdict"]
    mapping = {"scenario": yaml.safe_load(SEED_YAML), "samples": 200, "seed": 1}
    as_json = client.post("/api/decide", json=mapping)
    assert as_json.status_code == 200, as_json.text
    assert as_json.json()["options"] == ref["options"]


# -- bad input is a 4xx that says what is wrong ----------------------------------------------------


def test_unknown_names_suggest_the_closest(client: TestClient) -> None:
    r = client.get("/api/chips/h100-sxm6")
    assert r.status_code == 404 and "h100-sxm" in r.json()["suggestions"]
    assert client.get("/api/models/llama9").status_code == 404
    body = {"model": "llama3.1-8b", "hardware": "h100x", "chips": 8, "global_batch": 8, "seq": 512}
    r = client.post("/api/plan", json=body)
    assert r.status_code == 422 and r.json()["field"] == "hardware" and r.json()["suggestions"]
    r = client.post("/api/plan", json=body | {"hardware": "h100-sxm", "model": "lama3.1-8b"})
    assert r.status_code == 422 and "llama3.1-8b" in r.json()["suggestions"]
    r = client.post("/api/plan", json=body | {"hardware": "h100-sxm", "price": "aws-trn2"})
    assert r.status_code == 422 and "rents trn2" in r.json()["detail"]
    r = client.get("/api/chips", params={"vendor": "nvdia"})
    assert r.status_code == 422 and "nvidia" in r.json()["detail"]


def test_infeasible_and_invalid_inputs_are_422(client: TestClient) -> None:
    body = {"model": "llama3.1-405b", "hardware": "h100-sxm", "chips": 8, "global_batch": 8}
    r = client.post("/api/plan", json=body | {"seq": 8192})
    assert r.status_code == 422 and "no plan fits in memory" in r.json()["detail"]
    for bad in ({"chips": 0}, {"seq": -1}, {"tokens": "NaN"}, {"precision": "fp4"}, {"x": 1}):
        r = client.post("/api/plan", json=body | {"seq": 8192} | bad)
        assert r.status_code == 422, (bad, r.text)
    r = client.post("/api/decide", json={"samples": 99})
    assert r.status_code == 422
    r = client.post("/api/decide", json={"scenario": {"name": "x"}, "samples": 100})
    assert r.status_code == 422 and r.json()["problems"]
    r = client.post("/api/decide", content=b"a: [", headers={"content-type": "application/yaml"})
    assert r.status_code == 422 and "invalid YAML" in r.json()["detail"]
    r = client.post("/api/decide", content=b"x", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = client.post("/api/decide", content=b"d: 2024-13-45", headers={"content-type": "text/yaml"})
    assert r.status_code == 422 and "month" in r.json()["detail"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the engine's overflow warnings
def test_a_scenario_that_breaks_the_numerics_is_422(client: TestClient) -> None:
    sc = yaml.safe_load(SEED_YAML)
    sc["migration"]["fallback_cost_usd"]["value"] = "0 to 1e308"  # overflows to inf
    r = client.post("/api/decide", json={"scenario": sc, "samples": 100})
    assert r.status_code == 422
    assert "fallback_cost_usd" in r.json()["detail"]
    assert "not a usable number" in r.json()["detail"]


def test_malformed_json_is_422(client: TestClient) -> None:
    for path in ("/api/plan", "/api/compare", "/api/decide"):
        r = client.post(path, content=b'{"model": ', headers={"content-type": "application/json"})
        assert r.status_code == 422, (path, r.text)
    deep = b"[" * 100_000 + b"]" * 100_000
    r = client.post("/api/decide", content=deep, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    r = client.post("/api/decide", content=deep, headers={"content-type": "application/yaml"})
    assert 400 <= r.status_code < 500


# -- limits --------------------------------------------------------------------------------------


def test_oversized_body_is_413(client: TestClient) -> None:
    big = b'{"model": "' + b"x" * 1_100_000 + b'"}'
    r = client.post("/api/plan", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["limit"] == "max_body_bytes"

    def chunks() -> Iterator[bytes]:  # no content-length: counted while streaming
        for _ in range(12):
            yield b" " * 100_000

    r = client.post("/api/decide", content=chunks(), headers={"content-type": "application/yaml"})
    assert r.status_code == 413 and r.json()["limit"] == "max_body_bytes"


def test_work_limits_name_the_limit() -> None:
    lim = Limits(max_plan_grid=50_000, max_samples=1_000, time_limit_s=0.001)
    with TestClient(create_app(limits=lim), base_url="http://localhost") as c:
        body = {"model": "gpt3-175b", "hardware": "h100-sxm", "chips": 4096}
        r = c.post("/api/plan", json=body | {"global_batch": 1536, "seq": 2048})
        assert r.status_code == 422 and r.json()["limit"] == "max_plan_grid"
        assert "50,000" in r.json()["detail"]
        r = c.post("/api/decide", json={"samples": 5_000})
        assert r.status_code == 422 and r.json()["limit"] == "max_samples"
        small = {"model": "llama3.1-8b", "hardware": "h100-sxm", "chips": 8, "global_batch": 8}
        r = c.post("/api/plan", json=small | {"seq": 512})  # a search takes more than 1 ms
        assert r.status_code == 422 and r.json()["limit"] == "time_limit_s"
        assert c.get("/api/limits").json()["max_samples"] == 1_000


def test_yaml_aliases_cannot_blow_up() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        bomb += f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]\n"
    with TestClient(create_app(), base_url="http://localhost") as c:
        t0 = time.perf_counter()
        r = c.post("/api/decide", content=bomb.encode(), headers={"content-type": "text/yaml"})
        assert r.status_code == 413 and r.json()["limit"] == "max_scenario_nodes"
        assert time.perf_counter() - t0 < 5


def test_worker_queue_and_wall_time() -> None:
    async def scenario() -> None:
        w = Worker(Limits(workers=1, queue_timeout_s=0.05, time_limit_s=0.2))
        slow = asyncio.ensure_future(w.run(lambda: time.sleep(0.5)))
        await asyncio.sleep(0.01)
        with pytest.raises(LimitError) as queued:
            await w.run(lambda: 1)
        assert queued.value.status == 429 and queued.value.limit == "queue_timeout_s"
        with pytest.raises(LimitError) as slow_err:
            await slow
        assert slow_err.value.status == 422 and slow_err.value.limit == "time_limit_s"
        await asyncio.sleep(0.4)  # the abandoned thread ends and frees its slot
        assert await w.run(lambda: 2) == 2
        w.shutdown()

    asyncio.run(scenario())


# -- security ------------------------------------------------------------------------------------


def test_yaml_python_tags_are_refused_and_never_run(client: TestClient, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for doc in (
        f"!!python/object/apply:os.system ['touch {marker}']",
        "scenario: !!python/object/apply:pathlib.Path.touch "
        f"[!!python/object/apply:pathlib.Path ['{marker}']]",
        "!!python/object:chipswitch.web.limits.Limits {}",
    ):
        r = client.post(
            "/api/decide", content=doc.encode(), headers={"content-type": "application/yaml"}
        )
        assert 400 <= r.status_code < 500, r.text
    assert not marker.exists()


def test_a_path_in_a_field_is_never_opened(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = tmp_path / "mine.yaml"
    scenario.write_text(SEED_YAML, encoding="utf-8")
    opened: list[str] = []
    real_open = Path.open

    def spy(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    for name in (str(scenario), "../scenarios/amazon-anthropic-2024", "mine.yaml", "/etc/passwd"):
        r = client.post("/api/decide", json={"scenario": name, "samples": 100})
        assert r.status_code == 404, (name, r.text)
    r = client.get("/api/scenarios/..%2F..%2Fcatalog.py")
    assert r.status_code == 404
    body = {"model": str(scenario), "hardware": "/etc/passwd", "chips": 8, "global_batch": 8}
    assert client.post("/api/plan", json=body | {"seq": 512}).status_code == 422
    assert not any(str(tmp_path) in p or p == "/etc/passwd" for p in opened), opened


def test_cors_closed_by_default_and_open_only_to_given_origins() -> None:
    headers = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    with TestClient(create_app(), base_url="http://localhost") as c:
        r = c.get("/api/models", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers
        assert c.options("/api/plan", headers=headers).status_code in (404, 405)
    with TestClient(
        create_app(cors_origins=("http://localhost:3000",)), base_url="http://localhost"
    ) as c:
        ok = c.get("/api/models", headers={"Origin": "http://localhost:3000"})
        assert ok.headers["access-control-allow-origin"] == "http://localhost:3000"
        r = c.get("/api/models", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_dashboard_assets_are_local(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    html = page.text
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    for asset in ("/static/vendor/plotly.min.js", "/static/app.js", "/static/style.css"):
        assert asset in html
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 1000, asset
    assert "https://" not in client.get("/static/app.js").text
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN
    schema = client.get("/openapi.json").json()
    assert {"/api/plan", "/api/compare", "/api/decide", "/api/validate"} <= set(schema["paths"])
    assert "DecideRequest" in schema["components"]["schemas"]


def test_serve_command_listens_on_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    res = RUN.invoke(cli, ["serve", "--port", "8123"])
    assert res.exit_code == 0, res.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    res = RUN.invoke(cli, ["serve", "--cors-origin", "*"])
    assert res.exit_code == 2 and "not an origin" in res.output
