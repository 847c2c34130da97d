"""Regenerate the README's dashboard screenshots: one per page, from a live `chipswitch serve`.

    python scripts/screenshots.py [--out docs/screenshots] [--phone] [--full]

Starts the server on a free loopback port, opens each page in Debian's headless Chromium
(/usr/bin/chromium, driven by Playwright) at an address that holds its inputs (the dashboard
runs the request itself), waits for the result and saves `<page>.png` at 1440 px wide;
`--phone` also saves `<page>-390.png` at 390 px. PNGs are reduced to a 256-colour palette when
Pillow is installed, to keep the repository small.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
JOB = "model=llama3.1-70b&chips=1024&global_batch=512&seq=8192&tokens=15e12&precision=bf16"
#: page -> the address that reproduces it
PAGES = {
    "plan": f"#plan?{JOB}&hardware=h100-sxm&price=aws-p5:on_demand&top=5",
    "compare": f"#compare?{JOB}&price_type=on_demand&hardware=ALL",
    "decide": "#decide?samples=5000&seed=0&scenario=amazon-anthropic-2024&metric=npv_usd",
    "validate": "#validate",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve() -> Iterator[str]:
    """`chipswitch serve` on a free loopback port, stopped on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "chipswitch.cli.app", "serve", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--log-level", "warning"])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/limits", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def shrink(path: Path) -> None:
    """Re-save `path` with a 256-colour palette (about 3x smaller) when Pillow is available."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256)
    small.save(path, optimize=True)


def shoot(base: str, out: Path, widths: list[int], full: bool) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chip_ids = ",".join(c["id"] for c in httpx.get(f"{base}/api/chips").json())
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width in widths:
            page = browser.new_page(
                viewport={"width": width, "height": 1100 if width > 600 else 844}
            )
            for name, address in PAGES.items():
                page.goto(f"{base}/{address.replace('ALL', chip_ids)}")
                page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                page.wait_for_function(
                    f"() => /^(done|error)/.test(document.querySelector('#{name}-status')"
                    ".textContent)",
                    timeout=180_000,
                )
                page.wait_for_timeout(500)  # plotly's resize after the section is shown
                path = out / (f"{name}.png" if width > 600 else f"{name}-{width}.png")
                page.screenshot(path=str(path), full_page=full)
                shrink(path)
                saved.append(path)
            page.close()
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--phone", action="store_true", help="also 390 px wide shots")
    parser.add_argument("--full", action="store_true", help="whole pages, not the first screen")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with serve() as base:
        for path in shoot(base, args.out, [1440, 390] if args.phone else [1440], args.full):
            print(f"{path} {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
