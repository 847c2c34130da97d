"""Bounds on the work one HTTP request may ask for, and the machinery that enforces them.

- body size: `BodySizeLimit` answers 413 past `Limits.max_body_bytes`;
- plan search: `Session.plan_grid_size` counts the candidate plans a search would build (the
  cartesian product `chipswitch.parallel.enumerate` masks) before any is built; a request
  over `max_plan_grid` summed over every search it needs is refused with 422;
- Monte Carlo samples: at most `max_samples` per decision;
- wall time: CPU work runs on a bounded thread pool (`Worker`); a request that waited
  `queue_timeout_s` for a free thread gets 429, one whose work ran past `time_limit_s`
  gets 422. A pool thread cannot be killed, so an abandoned computation keeps its thread
  until it ends: the pool never runs more than `workers` computations at once.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Per-request bounds of the web API (see docs/web.md)."""

    max_body_bytes: int = 1_000_000
    max_samples: int = 200_000
    max_chips: int = 1_048_576
    max_global_batch: int = 1_048_576
    max_seq_len: int = 1_048_576
    #: Candidate plans (before masking) summed over every search a request needs.
    max_plan_grid: int = 12_000_000
    max_hardware: int = 64
    time_limit_s: float = 60.0
    queue_timeout_s: float = 60.0
    max_pending: int = 256
    workers: int = max(1, min(4, os.cpu_count() or 1))
    cache_entries: int = 256
    #: Values a YAML or JSON scenario may expand to (anchors and aliases included).
    max_scenario_nodes: int = 100_000


class LimitError(Exception):
    """A request over one of the `Limits`; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, limit: str) -> None:
        super().__init__(message)
        self.status = status
        self.limit = limit


# -- plan search ----------------------------------------------------------------------------------


def check_plan_grid(total: int, limits: Limits, what: str) -> None:
    if total > limits.max_plan_grid:
        raise LimitError(
            422,
            f"{what} would build {total:,} candidate plans, over the limit of "
            f"{limits.max_plan_grid:,} per request; use fewer chips, a global batch or chip "
            "count with fewer divisors, or fewer chips to compare",
            "max_plan_grid",
        )


# -- scenario size --------------------------------------------------------------------------------


def check_nodes(data: Any, limits: Limits) -> None:
    """Refuse a parsed document that expands to more than `max_scenario_nodes` values.

    YAML anchors and aliases share objects, so a small file can describe a huge tree that
    validation would then walk; count the walk, not the file.
    """
    budget = limits.max_scenario_nodes
    stack = [data]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > budget:
            raise LimitError(
                413,
                f"the scenario expands to more than {budget:,} values (limit "
                "max_scenario_nodes; YAML aliases count each time they are used)",
                "max_scenario_nodes",
            )
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


# -- CPU work -------------------------------------------------------------------------------------


class Worker:
    """A bounded thread pool for the engine's CPU work, with queue and wall-time limits.

    A slot is taken before the work is submitted and given back only when the work really
    ends, so an abandoned (timed-out) computation still counts against `workers`.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._pool: ThreadPoolExecutor | None = None
        self._pending = 0
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:  # a new event loop (tests)
            self._slots, self._loop = asyncio.Semaphore(self.limits.workers), loop
        return self._slots

    async def run(self, fn: Callable[[], T]) -> T:
        lim = self.limits
        if self._pending >= lim.max_pending:
            raise LimitError(
                429,
                f"the server already has {lim.max_pending} requests waiting (limit "
                "max_pending); try again shortly",
                "max_pending",
            )
        slots, loop = self._semaphore(), asyncio.get_running_loop()
        self._pending += 1
        try:
            await asyncio.wait_for(slots.acquire(), timeout=lim.queue_timeout_s)
        except TimeoutError:
            raise LimitError(
                429,
                f"no engine thread was free within {lim.queue_timeout_s:g} s (limit "
                "queue_timeout_s); try again shortly",
                "queue_timeout_s",
            ) from None
        finally:
            self._pending -= 1
        if self._pool is None:  # first use, or after the app's shutdown (tests restart apps)
            self._pool = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="engine")
        try:
            fut = self._pool.submit(fn)
        except BaseException:
            slots.release()
            raise
        fut.add_done_callback(lambda _: loop.call_soon_threadsafe(slots.release))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout=lim.time_limit_s)
        except TimeoutError:
            raise LimitError(
                422,
                f"the computation ran past the {lim.time_limit_s:g} s limit per request "
                "(time_limit_s); ask for fewer chips, samples or plans",
                "time_limit_s",
            ) from None

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class LruCache:
    """A small thread-safe LRU of JSON answers keyed by the canonical request."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key: Hashable, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


# -- request body size ----------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    """Raised while reading a streamed body past the limit; FastAPI answers it with 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413, f"request body larger than {max_bytes:,} bytes (limit max_body_bytes)"
        )


class BodySizeLimit:
    """ASGI middleware: 413 for a body over `max_bytes`, declared or streamed (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = (
            b'{"detail":"request body larger than '
            + f"{self.max_bytes:,}".encode()
            + b' bytes (limit max_body_bytes)","limit":"max_body_bytes"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
