"""End to end: the dashboard in real headless Chromium against `chipswitch serve` on loopback.

Each page's form is filled and submitted, and the text the page shows is checked against the
API's answer for the same input formatted by `chipswitch.format` (the dashboard's `format.js`
must write the same text). Then the presentation promises: no link or request leaves the
server (no plotly "share to cloud"), the address reproduces the view, every table downloads as
CSV and every result as JSON, a failed request greys the old results and marks the field, a
running request shows its elapsed time and can be cancelled, nothing is wider than a 1440 px
or a 390 px screen. Debian's /usr/bin/chromium is driven by Playwright (no browser is
downloaded); the tests skip only when that binary is absent. Set CHIPSWITCH_SCREENSHOTS=DIR to
save a full-page screenshot of each page after submitting.
"""

from __future__ import annotations

import json
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

from chipswitch import format as fmt

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

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)"
    ),
    pytest.mark.slow,
]
DAY = 86400.0
JOB = "model=llama3.1-70b&chips=1024&global_batch=512&seq=8192&tokens=15e12&precision=bf16"


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
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def requests_seen() -> list[str]:
    """Every URL any test page requested (checked against the server's origin at the end)."""
    return []


def _unexpected(message: Any) -> bool:
    """A console error other than the browser's note on a 4xx answer the page then shows."""
    return bool(message.type == "error") and "responded with a status of 4" not in message.text


def _new_page(browser: Any, width: int, seen: list[str]) -> tuple[Any, list[str]]:
    pg = browser.new_page(viewport={"width": width, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: errors.append(m.text) if _unexpected(m) else None)
    pg.on("request", lambda r: seen.append(r.url))
    return pg, errors


@pytest.fixture
def page(browser: Any, server: str, requests_seen: list[str]) -> Iterator[Any]:
    """A fresh 1440 px page on the dashboard; a test fails on any browser error."""
    pg, errors = _new_page(browser, 1440, requests_seen)
    pg.goto(f"{server}/#plan")
    pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
    yield pg
    pg.close()
    assert not errors, f"browser errors: {errors}"


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


def _wait_done(page: Any, name: str, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(
        f"() => /^(done|error)/.test(document.querySelector('#{name}-status').textContent)",
        timeout=timeout_ms,
    )
    status = page.inner_text(f"#{name}-status")
    assert status.startswith("done"), status


def _submit(page: Any, name: str, timeout_ms: int = 120_000) -> None:
    page.click(f"#{name}-form button[type=submit]")
    _wait_done(page, name, timeout_ms)


def _goto(page: Any, server: str, address: str, name: str) -> None:
    """Open an address that holds a page's inputs; the dashboard runs the request itself."""
    page.goto(f"{server}/{address}")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    _wait_done(page, name)


def _no_table_overflows(page: Any, tab: str) -> None:
    """No table in the tab is wider than its box (no column falls off the screen)."""
    over = page.evaluate(
        f"""() => Array.from(document.querySelectorAll('#tab-{tab} .table-wrap'))
            .filter((w) => w.offsetParent && w.scrollWidth > w.clientWidth + 1)
            .map((w) => w.firstElementChild.id)"""
    )
    assert over == [], over


def _page_width(page: Any) -> int:
    w: int = page.evaluate("document.documentElement.scrollWidth")
    return w


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


_PLAN_BODY: dict[str, Any] = {
    "model": "llama3.1-8b",
    "hardware": "h100-sxm",
    "chips": 64,
    "global_batch": 256,
    "seq": 8192,
    "tokens": 1e12,
    "precision": "bf16",
    "top": 5,
}


def _plan_api(server: str, price: str, **over: Any) -> dict[str, Any]:
    body = {**_PLAN_BODY, "price": price, **over}
    out: dict[str, Any] = httpx.post(f"{server}/api/plan", json=body, timeout=60).json()
    return out


def _fill_plan(page: Any) -> str:
    page.select_option("#plan-form select[name=model]", "llama3.1-8b")
    page.select_option("#plan-form select[name=hardware]", "h100-sxm")
    for name, value in (("chips", "64"), ("global_batch", "256"), ("seq", "8192")):
        page.fill(f"#plan-form input[name={name}]", value)
    page.fill("#plan-form input[name=tokens]", "1e12")
    price: str = page.eval_on_selector("#plan-form select[name=price]", "s => s.value")
    assert price.startswith("aws-p5:")
    return price


def test_plan_page(server: str, page: Any) -> None:
    price = _fill_plan(page)
    _submit(page, "plan")
    api = _plan_api(server, price)
    assert _cells(page, "plan-table", "plan") == [p["description"] for p in api["top"]]
    assert _cells(page, "plan-table", "step") == [fmt.sig(p["step_time_s"]) for p in api["top"]]
    assert _cells(page, "plan-table", "mfu") == [fmt.percent(p["mfu"]) for p in api["top"]]
    for shown, p in zip(_cells(page, "plan-table", "tps"), api["top"], strict=True):
        lo, hi = p["tokens_per_s_per_chip_interval"]
        assert shown == fmt.sig_interval(p["tokens_per_s_per_chip"], lo, hi)
    t = api["training"]
    lo, hi = (s / DAY for s in t["seconds_interval"])
    assert page.inner_text("#plan-days") == f"{fmt.sig_interval(t['days'], lo, hi)} days"
    assert page.inner_text("#plan-cost") == fmt.money_interval(
        t["cost_usd"], *t["cost_usd_interval"]
    )
    # which offering and price type the cost uses
    shown_price = page.inner_text("#plan-price")
    assert shown_price.startswith(f"aws-p5 {t['price']['type'].replace('_', ' ')}, $")
    assert f"{fmt.count(1e12)} tokens" in page.inner_text("#plan-training")
    # and what Compare would charge for the same run (its cheapest offering of that type)
    body = {k: v for k, v in _PLAN_BODY.items() if k not in ("hardware", "price", "top")}
    cmp = httpx.post(
        f"{server}/api/compare",
        json={**body, "price_type": t["price"]["type"], "hardware": ["h100-sxm"]},
        timeout=60,
    ).json()["rows"][0]
    note = page.inner_text("#plan-compare-price")
    assert cmp["offering"] in note
    if cmp["offering"] != "aws-p5":
        assert fmt.money_interval(cmp["cost_usd"], *cmp["cost_usd_interval"]) in note
    assert page.inner_text("#plan-takeaway").strip()
    assert _traces(page, "plan-breakdown") >= 3
    assert api["pareto"] and _traces(page, "plan-pareto") == 2  # the front + the request
    front = page.evaluate("document.getElementById('plan-pareto').data[0]")
    assert front["y"] == [p["all_in_cost_usd"] for p in api["pareto"]]  # the all-in front
    assert front["x"] == pytest.approx([p["all_in_seconds"] / DAY for p in api["pareto"]])
    ticks = page.evaluate("document.getElementById('plan-pareto').layout.yaxis.ticktext")
    assert ticks and all(t.startswith("$") for t in ticks)  # money axes say "$"
    _no_table_overflows(page, "plan")
    _shot(page, "plan")


def test_plan_page_shows_the_all_in_split(server: str, page: Any) -> None:
    """The all-in figure beside the ideal one, and where its wall time goes, as the API says."""
    price = _fill_plan(page)
    _submit(page, "plan")
    a = _plan_api(server, price)["training"]["all_in"]
    lo, hi = a["days_interval"]
    shown = page.inner_text("#plan-all-in-days")
    # bounds take the centre's decimals (format.sig_interval): "20.6 (18.3-24.0) days"
    assert shown == f"{fmt.sig_interval(a['days'], lo, hi)} days"
    assert "goodput" in page.inner_text("#plan-all-in")
    split = page.evaluate("document.getElementById('plan-goodput').data.map(t => t.x[0])")
    want = [a["failure_model"]["split_s"][k] / DAY for k in
            ("training", "checkpointing", "lost_work", "restarts")]  # fmt: skip
    assert split == pytest.approx(want, rel=1e-12)
    assert page.inner_text("#plan-goodput-notes").count("assumes:") == 4
    # no failures: the all-in figure is the ideal one
    page.fill("#plan-form input[name=failure_rate]", "0")
    _submit(page, "plan")
    assert "goodput 100%" in page.inner_text("#plan-all-in")


def test_plan_takeaway_names_a_better_chip_count(server: str, page: Any) -> None:
    """2,048 chips instead of 1,024 H100s: about the same cost, half the time (a batch of 1,024
    sequences keeps per-chip work, and so the all-in cost, nearly flat from 1,024 to 2,048)."""
    job = JOB.replace("global_batch=512", "global_batch=1024")
    _goto(page, server, f"#plan?{job}&hardware=h100-sxm&price=aws-p5:on_demand", "plan")
    text = page.inner_text("#plan-takeaway")
    assert re.match(r"^[\d,]+ chips: ", text), text
    assert "time" in text and "days" in text


def test_no_chart_or_link_leaves_the_machine(
    server: str, page: Any, requests_seen: list[str]
) -> None:
    _fill_plan(page)
    _submit(page, "plan")
    page.hover("#plan-breakdown")
    titles: list[str] = page.eval_on_selector_all(
        ".modebar-btn", "els => els.map(e => e.getAttribute('data-title') || '')"
    )
    assert titles, "the chart tool bar is shown"
    assert not [t for t in titles if re.search("cloud|chart studio|plotly", t, re.I)], titles
    links: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert [u for u in links if not u.startswith(server)] == []
    config = page.evaluate("document.getElementById('plan-breakdown')._context")
    assert config["displaylogo"] is False and config["showSendToCloud"] is False
    assert [u for u in requests_seen if not u.startswith((server, "blob:", "data:"))] == []


def test_the_address_reproduces_the_view(server: str, page: Any) -> None:
    price = _fill_plan(page)
    _submit(page, "plan")
    address = page.evaluate("location.hash")
    assert "chips=64" in address and "model=llama3.1-8b" in address
    first = _cells(page, "plan-table", "plan")
    page.goto("about:blank")
    _goto(page, server, address, "plan")
    assert page.input_value("#plan-form input[name=chips]") == "64"
    assert page.input_value("#plan-form select[name=price]") == price
    assert _cells(page, "plan-table", "plan") == first
    # a compare link keeps its chip picks
    _goto(page, server, f"#compare?{JOB}&price_type=on_demand&hardware=trn2,h100-sxm", "compare")
    assert sorted(_cells(page, "compare-table", "chip")) == ["h100-sxm", "trn2"]


def test_every_table_as_csv_and_the_result_as_json(server: str, page: Any) -> None:
    price = _fill_plan(page)
    _submit(page, "plan")
    api = _plan_api(server, price)
    with page.expect_download() as info:
        page.click("button.csv[data-table='plan-table']")
    lines = Path(info.value.path()).read_text().strip().splitlines()
    assert lines[0].startswith("#,plan,step (s)")
    assert len(lines) == 1 + len(api["top"])
    assert float(lines[1].split(",")[2]) == pytest.approx(api["top"][0]["step_time_s"])
    with page.expect_download() as info:
        page.click("#plan-json")
    got = json.loads(Path(info.value.path()).read_text())
    assert got["top"] == api["top"] and got["training"]["cost_usd"] == api["training"]["cost_usd"]
    tables = page.eval_on_selector_all("#tab-plan table", "els => els.map(e => e.id)")
    buttons = page.eval_on_selector_all(
        "#tab-plan button.csv", "els => els.map(e => e.dataset.table)"
    )
    assert sorted(tables) == sorted(buttons)


def test_download_config_is_the_api_export(server: str, page: Any) -> None:
    """'Download config' saves POST /api/export's file for the Plan form's job. Megatron-LM
    expresses every layout the search ranks first on H100 (ZeRO-1 with CP included), so the
    best plan always downloads; a plan another framework cannot express is
    test_export's subject."""
    _fill_plan(page)
    _submit(page, "plan")
    page.select_option("#plan-framework", "megatron")
    with page.expect_download() as info:
        page.click("#plan-download")
    job = {"model": "llama3.1-8b", "hardware": "h100-sxm", "chips": 64, "global_batch": 256}
    api = httpx.post(
        f"{server}/api/export",
        json={**job, "seq": 8192, "precision": "bf16", "framework": "megatron"},
        timeout=60,
    ).json()
    assert info.value.suggested_filename == api["filename"]
    assert Path(info.value.path()).read_text() == api["content"]
    assert api["plan"] in page.inner_text("#plan-export-status")


def test_a_failed_request_greys_the_results_and_marks_the_field(server: str, page: Any) -> None:
    _fill_plan(page)
    _submit(page, "plan")
    assert "stale" not in page.get_attribute("#plan-out", "class")
    page.fill("#plan-form input[name=global_batch]", "2000000")  # over max_global_batch
    page.click("#plan-form button[type=submit]")
    page.wait_for_function(
        "() => /^error/.test(document.querySelector('#plan-status').textContent)"
    )
    assert "stale" in page.get_attribute("#plan-out", "class")
    assert "invalid" in page.get_attribute("#plan-form input[name=global_batch]", "class")
    assert "previous run" in page.inner_text("#plan-status")
    page.fill("#plan-form input[name=global_batch]", "256")
    page.select_option("#plan-form select[name=model]", "llama3.1-405b")
    page.fill("#plan-form input[name=chips]", "8")
    page.click("#plan-form button[type=submit]")
    page.wait_for_function(
        "() => /^error/.test(document.querySelector('#plan-status').textContent)"
    )
    assert "no plan fits" in page.inner_text("#plan-status")
    assert "invalid" in page.get_attribute("#plan-form input[name=chips]", "class")


def test_long_work_shows_elapsed_time_and_can_be_cancelled(server: str, page: Any) -> None:
    """The decision request is held by the test (no timing): the page counts and cancels."""
    held: list[Any] = []
    page.route("**/api/decide*", lambda route: held.append(route))
    page.goto(f"{server}/#decide")
    page.wait_for_function("() => document.querySelector('#decide-yaml').value.length > 100")
    page.click("#decide-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#decide-status .spinner') !== null")
    page.wait_for_function(
        "() => parseFloat(document.querySelector('#decide-status .elapsed').textContent) > 0"
    )
    assert held, "the request reached the network layer"
    page.click("#decide-cancel")
    page.wait_for_function(
        "() => /^cancelled/.test(document.querySelector('#decide-status').textContent)"
    )
    assert page.is_enabled("#decide-form button[type=submit]")


def test_compare_page(server: str, page: Any) -> None:
    page.goto(f"{server}/#compare")
    page.select_option("#compare-form select[name=model]", "llama3.1-70b")
    page.click("#compare-all")
    _submit(page, "compare")
    chips = [c["id"] for c in httpx.get(f"{server}/api/chips").json()]
    body = {
        "model": "llama3.1-70b",
        "chips": 1024,
        "global_batch": 512,
        "seq": 8192,
        "tokens": 15e12,
        "price_type": "on_demand",
        "precision": "bf16",
        "hardware": sorted(chips),
    }
    api = httpx.post(f"{server}/api/compare", json=body, timeout=60).json()
    rows = api["rows"]
    assert sorted(_cells(page, "compare-table", "chip")) == sorted(r["hardware"] for r in rows)
    by_chip = {r["hardware"]: r for r in rows}
    shown_rows = [by_chip[c] for c in _cells(page, "compare-table", "chip")]
    for shown, r in zip(_cells(page, "compare-table", "cost"), shown_rows, strict=True):
        if r["cost_usd"] is not None:
            assert shown == fmt.money_interval(r["cost_usd"], *r["cost_usd_interval"])
        elif r["feasible"]:
            assert shown == "no public price"
    for shown, r in zip(_cells(page, "compare-table", "price"), shown_rows, strict=True):
        assert r["offering"] is None or shown.startswith(f"{r['offering']} on demand, $")
    for shown, r in zip(_cells(page, "compare-table", "tps"), shown_rows, strict=True):
        assert shown == fmt.sig(r["tokens_per_s_per_chip"])
    # the all-in figures beside the ideal ones; a prior failure rate is starred
    for shown, r in zip(_cells(page, "compare-table", "all_in"), shown_rows, strict=True):
        if r["feasible"]:
            prior = r["training"]["all_in"]["failure_model"]["reliability"]["prior"]
            assert shown.startswith(f"{fmt.sig(r['all_in_days'])} days")
            assert shown.endswith(f"(goodput {fmt.percent(r['goodput'])}{'*' if prior else ''})")
    # every chip is in both charts, in one order; unpriced ones say so
    days = page.evaluate("document.getElementById('compare-days').layout")
    cost = page.evaluate("document.getElementById('compare-cost').layout")
    assert days["yaxis"]["categoryarray"] == cost["yaxis"]["categoryarray"]
    assert sorted(days["yaxis"]["categoryarray"]) == sorted(by_chip)
    unpriced = sorted(r["hardware"] for r in rows if r["feasible"] and r["cost_usd"] is None)
    assert unpriced, "the catalog has chips without a public on-demand price"
    noted = sorted(a["y"] for a in cost["annotations"] if a["text"] == "no public price")
    assert noted == unpriced
    assert f"{len(unpriced)} of" in page.inner_text("#compare-takeaway")
    # one legend entry per vendor, each its own colour
    traces = page.evaluate("document.getElementById('compare-days').data")
    colours = {t["name"]: t["marker"]["color"] for t in traces}
    assert set(colours) == {r["vendor"] for r in rows if r["feasible"]}
    assert len(set(colours.values())) == len(colours)
    labels = page.eval_on_selector_all(
        "#compare-days .ytick text", "els => els.map(e => e.textContent)"
    )
    assert "h100-sxm-96gb-500w" in labels and "h100-sxm" in labels  # not cut short
    # a few very long bars stop at the axis' end and say their value there
    top = days["xaxis"]["range"][1]
    cut = {a["y"]: a["text"] for a in days["annotations"] if a["text"].endswith("→")}
    over = {r["hardware"]: r["days"] for r in rows if r["days"] is not None and r["days"] > top}
    assert cut == {chip: f"{fmt.sig(d)} d →" for chip, d in over.items()}
    _no_table_overflows(page, "compare")
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
    assert page.inner_text("#decide-pbest") == fmt.percent(v["probability"])
    assert page.inner_text("#decide-sentence") == v["sentence"]
    assert _cells(page, "decide-options", "option") == [o["id"] for o in api["options"]]
    assert _cells(page, "decide-options", "p_best") == [
        fmt.percent(o["p_best"]) for o in api["options"]
    ]
    assert _cells(page, "decide-options", "own") == [
        fmt.percent(o["metrics"]["ownership_sold"]["p50"]) for o in api["options"]
    ]
    npv = [o["metrics"]["npv_usd"] for o in api["options"]]
    assert _cells(page, "decide-options", "npv") == [
        fmt.money_interval(m["p50"], m["p5"], m["p95"]) for m in npv
    ]
    # small multiples: one row (own y axis) per option, overflow bins labelled
    hist = page.evaluate("document.getElementById('decide-hist')")
    assert _traces(page, "decide-hist") == len(api["options"])
    axes = {t["yaxis"] for t in page.evaluate("document.getElementById('decide-hist').data")}
    assert len(axes) == len(api["options"])
    notes = page.evaluate("document.getElementById('decide-hist').layout.annotations")
    assert hist is not None and any(a["text"].startswith(("≤", "≥")) for a in notes)
    ticks = page.evaluate("document.getElementById('decide-hist').layout.xaxis.ticktext")
    assert all("$" in t for t in ticks)
    # tornado: the tables' human names, not YAML paths
    assert _traces(page, "decide-tornado") == 2
    labels = page.evaluate("document.getElementById('decide-tornado').data[0].y")
    assert labels and not [x for x in labels if re.search(r"\w\.\w|_", x)], labels
    page.select_option("#decide-metric", "runway_months")
    assert _traces(page, "decide-hist") == len(api["options"])
    assert "metric=runway_months" in page.evaluate("location.hash")
    _no_table_overflows(page, "decide")
    _shot(page, "decide")


def test_validate_shows_its_result_on_load(server: str, page: Any) -> None:
    page.goto(f"{server}/#validate")
    _wait_done(page, "validate")
    api = httpx.get(f"{server}/api/validate", timeout=60).json()
    assert page.inner_text("#validate-median") == fmt.percent(
        api["summary"]["all"]["median_abs_error"]
    )
    assert _cells(page, "validate-rows", "id") == [r["id"] for r in api["rows"]]
    assert _cells(page, "validate-rows", "error") == [
        fmt.signed_percent(r["error"]) for r in api["rows"]
    ]
    vendors = set(api["vendors"].values())
    assert _traces(page, "validate-scatter") == len(vendors) + 3
    log = page.evaluate("document.getElementById('validate-scatter').layout.xaxis.type")
    assert log == "log"
    _no_table_overflows(page, "validate")
    _shot(page, "validate")


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("plan", f"#plan?{JOB}&hardware=h100-sxm&price=aws-p5:on_demand"),
        ("compare", f"#compare?{JOB}&price_type=on_demand&hardware=h100-sxm,trn2,tpu-v5p"),
        ("decide", "#decide?samples=500&seed=0&scenario=amazon-anthropic-2024"),
        ("validate", "#validate"),
    ],
)
def test_phone_width_has_no_sideways_scroll(
    browser: Any, server: str, requests_seen: list[str], name: str, address: str
) -> None:
    pg, errors = _new_page(browser, 390, requests_seen)
    try:
        _goto(pg, server, address, name)
        assert _page_width(pg) <= 390
    finally:
        pg.close()
    assert not errors, errors
