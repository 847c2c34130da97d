"""End to end: the dashboard in real headless Chromium against `chipswitch serve` on loopback.

Each page's form is filled and submitted, and the numbers the page shows are checked against
the API's answer for the same input. Debian's /usr/bin/chromium is driven by Playwright (no
browser is downloaded); the test skips only when that binary is absent. Set
CHIPSWITCH_SCREENSHOTS=DIR to save a full-page screenshot of each page after submitting.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = os.environ.get("CHIPSWITCH_SCREENSHOTS")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "chipswitch.cli.app", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/limits", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"server did not start: {out}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.goto(f"{server}/#plan")
        pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
        yield pg
        assert not errors, f"browser errors: {errors}"
        browser.close()


def _num(text: str) -> float:
    """The first number in a cell as shown: '1,234', '51.6%', '$1,234', '12.3 days'."""
    m = re.search(r"-?[\d,]*\.?\d+(?:e[+-]?\d+)?", text.replace("−", "-"))
    assert m, f"no number in {text!r}"
    return float(m.group(0).replace(",", ""))


def _close(shown: str, value: float, decimals: int, scale: float = 1.0) -> None:
    """`shown` is `value * scale` rounded to `decimals` places."""
    assert abs(_num(shown) - value * scale) <= 0.5 * 10**-decimals + 1e-9 * abs(value * scale), (
        shown,
        value,
    )


def _submit(page: Any, name: str, timeout_ms: int = 120_000) -> None:
    page.click(f"#{name}-form button[type=submit]")
    page.wait_for_function(
        f"() => /^(done|error)/.test(document.querySelector('#{name}-status').textContent)",
        timeout=timeout_ms,
    )
    status = page.inner_text(f"#{name}-status")
    assert status.startswith("done"), status


def _cells(page: Any, table: str, key: str) -> list[str]:
    texts: list[str] = page.eval_on_selector_all(
        f"#{table} tbody td[data-k='{key}']", "els => els.map(e => e.textContent)"
    )
    return texts


def _traces(page: Any, div: str) -> int:
    n: int = page.evaluate(f"document.getElementById('{div}').data.length")
    return n


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_plan_page(server: str, page: Any) -> None:
    page.goto(f"{server}/#plan")
    page.select_option("#plan-form select[name=model]", "llama3.1-8b")
    page.select_option("#plan-form select[name=hardware]", "h100-sxm")
    for name, value in (("chips", "64"), ("global_batch", "256"), ("seq", "8192")):
        page.fill(f"#plan-form input[name={name}]", value)
    page.fill("#plan-form input[name=tokens]", "1e12")
    price = page.eval_on_selector("#plan-form select[name=price]", "s => s.value")
    assert price.startswith("aws-p5:")
    _submit(page, "plan")
    body = {
        "model": "llama3.1-8b",
        "hardware": "h100-sxm",
        "chips": 64,
        "global_batch": 256,
        "seq": 8192,
        "tokens": 1e12,
        "price": price,
        "precision": "bf16",
        "top": 5,
    }
    api = httpx.post(f"{server}/api/plan", json=body, timeout=60).json()
    assert _cells(page, "plan-table", "plan") == [p["description"] for p in api["top"]]
    for shown, p in zip(_cells(page, "plan-table", "tps"), api["top"], strict=True):
        _close(shown, p["tokens_per_s_per_chip"], 0)
    for shown, p in zip(_cells(page, "plan-table", "step"), api["top"], strict=True):
        _close(shown, p["step_time_s"], 3)
    for shown, p in zip(_cells(page, "plan-table", "mfu"), api["top"], strict=True):
        _close(shown, p["mfu"], 1, 100)
    _close(page.inner_text("#plan-days"), api["training"]["days"], 1)
    _close(page.inner_text("#plan-cost"), api["training"]["cost_usd"], 0)
    assert _traces(page, "plan-breakdown") >= 3
    assert api["pareto"] and _traces(page, "plan-pareto") == 2  # the front + the request
    front = page.evaluate("document.getElementById('plan-pareto').data[0]")
    assert front["y"] == [p["cost_usd"] for p in api["pareto"]]
    _shot(page, "plan")


def test_compare_page(server: str, page: Any) -> None:
    page.goto(f"{server}/#compare")
    page.select_option("#compare-form select[name=model]", "llama3.1-70b")
    page.click("#compare-none")
    chips = ["h100-sxm", "trn2", "mi300x", "tpu-v5p"]
    for c in chips:
        page.check(f"#compare-chips input[value='{c}']")
    _submit(page, "compare")
    body = {
        "model": "llama3.1-70b",
        "chips": 1024,
        "global_batch": 512,
        "seq": 8192,
        "tokens": 15e12,
        "price_type": "on_demand",
        "precision": "bf16",
        "hardware": chips,
    }
    api = httpx.post(f"{server}/api/compare", json=body, timeout=60).json()
    rows = api["rows"]
    assert _cells(page, "compare-table", "chip") == [r["hardware"] for r in rows]
    for shown, r in zip(_cells(page, "compare-table", "days"), rows, strict=True):
        _close(shown, r["days"], 1)
    for shown, r in zip(_cells(page, "compare-table", "cost"), rows, strict=True):
        _close(shown, r["cost_usd"], 0)
    for shown, r in zip(_cells(page, "compare-table", "tps"), rows, strict=True):
        _close(shown, r["tokens_per_s_per_chip"], 0)
    days = page.evaluate("document.getElementById('compare-days').data[0]")
    assert days["x"] == [r["hardware"] for r in rows]
    assert days["error_y"]["array"][0] > 0 and days["error_y"]["arrayminus"][0] > 0
    _shot(page, "compare")


def test_decide_page(server: str, page: Any) -> None:
    page.goto(f"{server}/#decide")
    page.wait_for_function("() => document.querySelector('#decide-yaml').value.length > 100")
    page.fill("#decide-form input[name=samples]", "500")
    page.fill("#decide-form input[name=seed]", "3")
    _submit(page, "decide")
    yaml_text = httpx.get(f"{server}/api/scenarios/amazon-anthropic-2024").text
    api = httpx.post(
        f"{server}/api/decide?samples=500&seed=3",
        content=yaml_text.encode(),
        headers={"content-type": "application/yaml"},
        timeout=120,
    ).json()
    v = api["verdict"]
    assert page.inner_text("#decide-winner") == v["label"]
    _close(page.inner_text("#decide-pbest"), v["probability"], 0, 100)
    assert page.inner_text("#decide-sentence") == v["sentence"]
    assert _cells(page, "decide-options", "option") == [o["id"] for o in api["options"]]
    for shown, o in zip(_cells(page, "decide-options", "p_best"), api["options"], strict=True):
        _close(shown, o["p_best"], 0, 100)
    assert _traces(page, "decide-hist") == len(api["options"])
    assert _traces(page, "decide-tornado") == 2
    page.select_option("#decide-metric", "runway_months")
    assert _traces(page, "decide-hist") == len(api["options"])
    _shot(page, "decide")


def test_validate_page(server: str, page: Any) -> None:
    page.goto(f"{server}/#validate")
    _submit(page, "validate")
    api = httpx.get(f"{server}/api/validate", timeout=60).json()
    _close(page.inner_text("#validate-median"), api["summary"]["all"]["median_abs_error"], 1, 100)
    assert _cells(page, "validate-rows", "id") == [r["id"] for r in api["rows"]]
    for shown, r in zip(_cells(page, "validate-rows", "error"), api["rows"], strict=True):
        _close(shown, r["error"], 1, 100)
    vendors = set(api["vendors"].values())
    assert _traces(page, "validate-scatter") == len(vendors) + 3
    log = page.evaluate("document.getElementById('validate-scatter').layout.xaxis.type")
    assert log == "log"
    _shot(page, "validate")
