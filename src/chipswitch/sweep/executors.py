"""Where chunks run: in this process (`LocalExecutor`) or as Ray tasks (`RayExecutor`).

An executor is a context manager whose `map(chunks, ctx)` yields `ChunkResult`s as chunks
finish, in any order; the runner sorts rows by grid order, so the output does not depend on
the executor. Ray is imported only when a `RayExecutor` is entered.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol

from chipswitch.errors import ChipswitchError
from chipswitch.sweep.grid import Context
from chipswitch.sweep.work import Chunk, ChunkResult, run_chunk

ExecutorName = Literal["local", "ray"]

RAY_VERSION = "2.60.0"
RAY_INSTALL_HINT = (
    f"pip install 'chipswitch[sweep]' (or: pip install 'ray[default]=={RAY_VERSION}')"
)


class Executor(Protocol):
    name: str
    workers: int

    def __enter__(self) -> Executor: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def map(self, chunks: Sequence[Chunk], ctx: Context) -> Iterator[ChunkResult]: ...


class LocalExecutor:
    """Runs chunks one after another in this process (one core)."""

    name = "local"
    workers = 1

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, chunks: Sequence[Chunk], ctx: Context) -> Iterator[ChunkResult]:
        for chunk in chunks:
            yield run_chunk(chunk, ctx)


class RayExecutor:
    """Runs each chunk as a Ray task (one CPU each).

    With `address`, joins that cluster (`ray.init(address=...)`; chipswitch must be installed
    on its nodes). Without, reuses a Ray instance this process already started, else starts a
    local one with `num_cpus` (default: this machine's cores) and stops it on exit. At most
    `max_in_flight` chunks are queued at once (default 4 per CPU) so the driver holds few
    results in memory; Ctrl-C cancels what is queued.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.max_in_flight = max_in_flight
        self.workers = 1
        self._ray: Any = None
        self._started = False
        self._pending: list[Any] = []

    def __enter__(self) -> RayExecutor:
        ray = import_ray()
        self._ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "logging_level": logging.ERROR,
                "log_to_driver": False,
                "configure_logging": True,
            }
            if self.address:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self.num_cpus or os.cpu_count() or 1
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {self.address}" if self.address else "local Ray"
                raise ChipswitchError(f"could not start {where}: {exc}") from None
            self._started = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return self

    def __exit__(self, *exc: object) -> None:
        ray = self._ray
        if ray is None:
            return
        for ref in self._pending:
            ray.cancel(ref, force=True)
        self._pending = []
        if self._started:
            ray.shutdown()
        self._ray = None

    def map(self, chunks: Sequence[Chunk], ctx: Context) -> Iterator[ChunkResult]:
        ray = self._ray
        if ray is None:
            raise RuntimeError("RayExecutor.map called outside its `with` block")
        task = ray.remote(num_cpus=1, max_retries=2)(run_chunk)
        ctx_ref = ray.put(ctx)
        limit = self.max_in_flight or 4 * self.workers
        todo = list(reversed(chunks))
        self._pending = []
        while todo or self._pending:
            while todo and len(self._pending) < limit:
                self._pending.append(task.remote(todo.pop(), ctx_ref))
            done, self._pending = ray.wait(self._pending, num_returns=1)
            for ref in done:
                result: ChunkResult = ray.get(ref)
                yield result


def import_ray() -> Any:
    """`ray`, or a user error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ChipswitchError(
            f"--executor ray needs Ray, which is not installed: {RAY_INSTALL_HINT}"
        ) from None
    return ray


def make_executor(
    name: ExecutorName, address: str | None = None, num_cpus: int | None = None
) -> LocalExecutor | RayExecutor:
    if name == "local":
        if address:
            raise ChipswitchError("--address joins a Ray cluster; use it with --executor ray")
        return LocalExecutor()
    return RayExecutor(address=address, num_cpus=num_cpus)
