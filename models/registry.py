"""Model ids and aliases -> workers, with per-worker admission and lifecycle.

Each worker has a `WorkQueue`: at most `max_parallel` calls run at once in worker
threads (an own capacity limiter, not the shared default pool) and at most `max_queue`
wait; one more is refused at once with QueueFull, which the gateway answers with 429.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread

from models.errors import GatewayError, ModelNotFound, ModelUnavailable, QueueFull

log = logging.getLogger(__name__)
T = TypeVar("T")


class Worker(Protocol):
    name: str

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None: ...

    def unload(self) -> None: ...


class Ticket:
    """A place in a worker's queue, held from admission until the work ends."""

    def __init__(self, queue: "WorkQueue"):
        self._queue = queue
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._queue.admitted -= 1


class WorkQueue:
    """Bounded admission and a private thread limiter for one worker."""

    def __init__(self, name: str, max_parallel: int = 1, max_queue: int = 16, retry_after_s: float = 2.0):
        self.name = name
        self.max_parallel = max_parallel
        self.max_queue = max_queue
        self.retry_after_s = retry_after_s
        self.admitted = 0
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        # Created lazily: a limiter belongs to the event loop that first uses it.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_parallel)
        return self._limiter

    @property
    def running(self) -> int:
        return int(self._limiter.borrowed_tokens) if self._limiter else 0

    @property
    def waiting(self) -> int:
        return self.admitted - self.running

    def reserve(self) -> Ticket:
        """Take a place or raise QueueFull at once."""
        if self.admitted >= self.max_parallel + self.max_queue:
            raise QueueFull(
                f"Model `{self.name}` is busy ({self.admitted} requests in progress or waiting); retry shortly.",
                retry_after=self.retry_after_s,
            )
        self.admitted += 1
        return Ticket(self)

    async def run(self, fn: Callable[..., T], *args: Any, ticket: Ticket | None = None) -> T:
        """Run blocking `fn(*args)` in a worker thread under this queue's limits."""
        ticket = ticket or self.reserve()
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
        finally:
            ticket.release()


@dataclass
class ServedModel:
    """A public model id and the worker it routes to."""

    id: str
    kind: str  # the worker's interface: "transcription", "diarization" (transcribes and diarizes), "speech"
    worker: str
    created: int = field(default_factory=lambda: int(time.time()))
    owned_by: str = "audio-gateway"


@dataclass
class WorkerEntry:
    name: str
    kind: str
    worker: Any
    queue: WorkQueue
    preload: bool = False
    error: str | None = None


class ModelRegistry:
    """Everything this process serves."""

    def __init__(self) -> None:
        self.entries: dict[str, WorkerEntry] = {}
        self.served: dict[str, ServedModel] = {}

    def add(self, entry: WorkerEntry, ids: tuple[str, ...] = ()) -> None:
        """Register a worker under its own name and any extra public ids."""
        self.entries[entry.name] = entry
        for model_id in (entry.name, *ids):
            self.served[model_id] = ServedModel(id=model_id, kind=entry.kind, worker=entry.name)

    def alias(self, model_id: str, worker: str) -> None:
        entry = self.entries[worker]
        self.served[model_id] = ServedModel(id=model_id, kind=entry.kind, worker=worker)

    def resolve(self, model_id: str, kind: str | tuple[str, ...]) -> WorkerEntry:
        """The worker behind a public id of the given kind (or one of several), or ModelNotFound."""
        kinds = (kind,) if isinstance(kind, str) else kind
        served = self.served.get(model_id)
        if served is None or served.kind not in kinds:
            raise ModelNotFound(model_id)
        return self.entries[served.worker]

    def get_served(self, model_id: str) -> ServedModel:
        if model_id not in self.served:
            raise ModelNotFound(model_id)
        return self.served[model_id]

    async def ensure_loaded(self, entry: WorkerEntry) -> None:
        """Load a worker in a thread if it is not loaded; record and re-raise failures."""
        if entry.worker.loaded:
            return
        try:
            await anyio.to_thread.run_sync(entry.worker.load, limiter=entry.queue.limiter)
            entry.error = None
        except GatewayError as exc:
            entry.error = exc.message
            raise
        except Exception as exc:  # a loader bug must not take the server down
            entry.error = f"{type(exc).__name__}: {exc}"
            log.exception("loading %s failed", entry.name)
            raise ModelUnavailable(f"model `{entry.name}` failed to load: {entry.error}") from exc

    async def preload(self) -> None:
        for entry in self.entries.values():
            if entry.preload:
                try:
                    await self.ensure_loaded(entry)
                except GatewayError as exc:
                    log.error("preloading %s failed: %s", entry.name, exc.message)

    def status(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "kind": entry.kind,
                "loaded": bool(entry.worker.loaded),
                "error": entry.error,
                "running": entry.queue.running,
                "waiting": entry.queue.waiting,
            }
            for name, entry in self.entries.items()
        }

    def unload_all(self) -> None:
        for entry in self.entries.values():
            entry.worker.unload()
