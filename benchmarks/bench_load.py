"""Load benchmark of `chipswitch serve`: concurrent clients sending plan and compare requests.

Starts the server on 127.0.0.1 (a free port) in a subprocess, runs `--clients` asyncio
clients (httpx) for `--seconds`, each sending plan and compare requests drawn from a fixed
pool of distinct inputs, and prints requests/s, latency percentiles and errors, with the
machine it ran on. It asserts nothing (benchmarks are not tests). `--no-cache` starts the
server with its answer cache off, so every request runs the engine.

    .venv/bin/python benchmarks/bench_load.py --seconds 30 --clients 50
    .venv/bin/python benchmarks/bench_load.py --seconds 30 --clients 50 --no-cache
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from typing import Any

import httpx

HOST = "127.0.0.1"  # loopback only


def request_pool() -> list[tuple[str, dict[str, Any]]]:
    """Distinct plan and compare requests (endpoint, JSON body)."""
    pool: list[tuple[str, dict[str, Any]]] = []
    for model, hw, chips, gb in itertools.product(
        ("llama3.1-8b", "llama3.1-70b"),
        ("h100-sxm", "trn2", "mi300x", "tpu-v5p"),
        (64, 256, 1024),
        (256, 512),
    ):
        body = {"model": model, "hardware": hw, "chips": chips, "global_batch": gb, "seq": 8192}
        pool.append(("/api/plan", body | {"tokens": 1e12}))
    for model, chips, gb in itertools.product(
        ("llama3.1-8b", "llama3.1-70b"), (256, 1024, 4096), (512, 1024)
    ):
        body = {"model": model, "chips": chips, "global_batch": gb, "seq": 8192, "tokens": 15e12}
        pool.append(("/api/compare", body | {"hardware": ["h100-sxm", "trn2", "tpu-v5p"]}))
    return pool


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def start_server(port: int, cache: bool) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "chipswitch.cli.app", "serve", "--host", HOST]
    cmd += ["--port", str(port), "--log-level", "warning"]
    if not cache:
        cmd += ["--cache-entries", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/api/limits", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    proc.kill()
    err = proc.stderr.read().decode() if proc.stderr else ""
    raise SystemExit(f"server did not start: {err}")


async def client(
    i: int,
    http: httpx.AsyncClient,
    pool: list[tuple[str, dict[str, Any]]],
    stop: float,
    results: list[tuple[str, float, str]],
) -> None:
    rng = random.Random(i)
    while time.monotonic() < stop:
        path, body = rng.choice(pool)
        t0 = time.perf_counter()
        try:
            r = await http.post(path, json=body)
            outcome = "ok" if r.status_code == 200 else f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        results.append((path, time.perf_counter() - t0, outcome))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


Result = tuple[str, float, str]  # endpoint, seconds, outcome


async def run(port: int, clients: int, seconds: float) -> tuple[list[Result], float]:
    pool = request_pool()
    results: list[Result] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=f"http://{HOST}:{port}", limits=limits, timeout=120
    ) as http:
        t0 = time.monotonic()
        stop = t0 + seconds
        await asyncio.gather(*(client(i, http, pool, stop, results) for i in range(clients)))
        return results, time.monotonic() - t0


def report(results: list[tuple[str, float, str]], elapsed: float, args: argparse.Namespace) -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}, "
        f"Python {platform.python_version()}"
    )
    print(
        f"server: chipswitch serve on {HOST}, answer cache {'on' if not args.no_cache else 'off'}; "
        f"{args.clients} clients for {args.seconds:g} s; pool of {len(request_pool())} "
        "distinct plan/compare requests"
    )
    lat = [t for _, t, _ in results]
    errors = Counter(o for _, _, o in results if o != "ok")
    print(
        f"all: {len(results)} requests in {elapsed:.1f} s = {len(results) / elapsed:.1f} req/s; "
        f"latency p50 {pct(lat, 0.5) * 1e3:.0f} ms, p99 {pct(lat, 0.99) * 1e3:.0f} ms, "
        f"max {max(lat, default=float('nan')) * 1e3:.0f} ms; "
        f"errors {sum(errors.values())}" + (f" {dict(errors)}" if errors else "")
    )
    by_path: dict[str, list[float]] = defaultdict(list)
    for path, t, _ in results:
        by_path[path].append(t)
    for path, ts in sorted(by_path.items()):
        print(
            f"  {path}: {len(ts)} requests, p50 {pct(ts, 0.5) * 1e3:.0f} ms, "
            f"p99 {pct(ts, 0.99) * 1e3:.0f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="how long the clients send")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients")
    ap.add_argument("--no-cache", action="store_true", help="server answer cache off")
    args = ap.parse_args()
    if args.seconds <= 0 or args.seconds > 600 or not 1 <= args.clients <= 500:
        raise SystemExit("--seconds must be in (0, 600] and --clients in [1, 500]")
    port = free_port()
    proc = start_server(port, cache=not args.no_cache)
    try:
        results, elapsed = asyncio.run(run(port, args.clients, args.seconds))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    report(results, elapsed, args)


if __name__ == "__main__":
    main()
