"""Model ids and aliases -> workers, with per-worker admission and lifecycle.

Each worker has a `WorkQueue` (gateway/serving/queues.py): at most `max_parallel` calls run at
once in worker threads and at most `max_queue` wait, interactive ones first; one more is
refused at once with QueueFull, which the gateway answers with 429.

The registry loads workers: those marked `preload` at start (and keeps them: they are
pinned), others on first use. With a memory budget it never holds more models than fit:
before a load it unloads the least recently used idle, unpinned models, and refuses with
InsufficientMemory when that cannot make room. Idle models are unloaded after
`idle_unload_s` by `run_housekeeping`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, cast, overload

import anyio
import anyio.to_thread

from gateway.serving.queues import Ticket, WorkQueue
from models.compute import Latency
from models.errors import DomainError, InsufficientMemory, ModelNotFound, ModelUnavailable
from models.memory import mib, release_free_memory, rss_bytes
from models.workers import Kind, SpeakerTranscriber, Synthesizer, Transcriber, Worker

__all__ = ["ModelRegistry", "ServedModel", "Ticket", "WorkQueue", "Worker", "WorkerEntry"]

log = logging.getLogger(__name__)


W = TypeVar("W", bound=Worker)
LoadState = Literal["unloaded", "loading", "loaded", "failed"]


@dataclass
class ServedModel:
    """A public model id and the worker it routes to."""

    id: str
    kind: Kind
    worker: str
    created: int = field(default_factory=lambda: int(time.time()))
    owned_by: str = "audio-gateway"


@dataclass
class WorkerEntry(Generic[W]):
    """One worker as the registry serves it: its queue, its load state and what it costs.

    `kind` names the worker's interface (`models.workers`); `resolve` hands the entry out typed by it.
    """

    name: str
    kind: Kind
    worker: W
    queue: WorkQueue
    preload: bool = False  # loaded at start and pinned: never unloaded for idleness or room
    uses: tuple[str, ...] = ()  # entries whose workers this one calls: kept loaded while it is busy
    error: str | None = None
    state: LoadState = "unloaded"
    measured_bytes: int = 0  # growth of the resident set during the last load
    loads: int = 0
    unloads: dict[str, int] = field(default_factory=dict)  # reason -> count

    @property
    def loaded(self) -> bool:
        """Whether the worker's model is loaded now."""
        return bool(self.worker.loaded)

    @property
    def load_state(self) -> LoadState:
        """unloaded, loading, loaded or failed (a worker may also have loaded itself lazily)."""
        if self.worker.loaded:
            return "loaded"
        return self.state if self.state in ("loading", "failed") else "unloaded"

    @property
    def idle(self) -> bool:
        """Whether no admitted request holds this worker."""
        return self.queue.admitted == 0

    def footprint(self) -> int:
        """Bytes this model takes when loaded: the larger of its files' estimate and the last measurement."""
        estimate = getattr(self.worker, "footprint_estimate", None)
        return max(int(estimate()) if estimate is not None else 0, self.measured_bytes)


class ModelRegistry:
    """Everything this process serves, and which of it is loaded."""

    def __init__(self, memory_budget_bytes: int = 0, idle_unload_s: float = 0, retry_after_s: float = 5.0) -> None:
        self.entries: dict[str, WorkerEntry[Any]] = {}
        self.served: dict[str, ServedModel] = {}
        self.memory_budget_bytes = memory_budget_bytes  # 0: no budget
        self.idle_unload_s = idle_unload_s  # 0: never unload for idleness
        self.retry_after_s = retry_after_s
        self._load_lock: anyio.Lock | None = None

    def add(self, entry: WorkerEntry[Any], ids: tuple[str, ...] = ()) -> None:
        """Register a worker under its own name and any extra public ids."""
        self.entries[entry.name] = entry
        for model_id in (entry.name, *ids):
            self.served[model_id] = ServedModel(id=model_id, kind=entry.kind, worker=entry.name)

    def alias(self, model_id: str, worker: str) -> None:
        """Serve the worker registered as `worker` under one more public id too."""
        entry = self.entries[worker]
        self.served[model_id] = ServedModel(id=model_id, kind=entry.kind, worker=worker)

    @overload
    def resolve(self, model_id: str, kind: Literal["transcription"]) -> WorkerEntry[Transcriber]: ...
    @overload
    def resolve(self, model_id: str, kind: Literal["diarization"]) -> WorkerEntry[SpeakerTranscriber]: ...
    @overload
    def resolve(self, model_id: str, kind: Literal["speech"]) -> WorkerEntry[Synthesizer]: ...
    @overload
    def resolve(self, model_id: str, kind: tuple[str, ...]) -> WorkerEntry[Any]: ...

    def resolve(self, model_id: str, kind: Kind | tuple[str, ...]) -> WorkerEntry[Any]:
        """The worker behind a public id of the given kind (or one of several), typed by its interface,
        or ModelNotFound."""
        self.kind_of(model_id, kind if isinstance(kind, tuple) else (kind,))
        return self.entries[self.served[model_id].worker]

    def kind_of(self, model_id: str, kinds: tuple[str, ...]) -> Kind:
        """The kind of the worker behind a public id, if it is one of `kinds`; else ModelNotFound."""
        served = self.served.get(model_id)
        if served is None or served.kind not in kinds:
            raise ModelNotFound(model_id)
        return served.kind

    def first(self, kind: Literal["speech"]) -> WorkerEntry[Synthesizer] | None:
        """The first registered worker of a kind (the Piper worker custom voices are spoken with)."""
        return next((cast(WorkerEntry[Synthesizer], e) for e in self.entries.values() if e.kind == kind), None)

    def get_served(self, model_id: str) -> ServedModel:
        """A public model id as /v1/models lists it, or ModelNotFound."""
        if model_id not in self.served:
            raise ModelNotFound(model_id)
        return self.served[model_id]

    async def admit(self, entry: WorkerEntry[Any], latency: Latency | None = None) -> Ticket:
        """A place in the worker's queue (or QueueFull at once), then the worker loaded.

        `latency`: the work's class (default: the queue's). Holding the ticket keeps the
        model, and the models it `uses`, from being unloaded until the work ends. The ticket
        is a context manager: `with await registry.admit(entry) as ticket:` gives the place
        back when the block ends, unless the work took it over.
        """
        with entry.queue.reserve(latency) as ticket:
            for name in entry.uses:  # loaded (and counted) as themselves first
                await self.ensure_loaded(self.entries[name])
            await self.ensure_loaded(entry)
            return ticket.hand_over()

    async def ensure_loaded(self, entry: WorkerEntry[Any]) -> None:
        """Load a worker in a thread if it is not loaded; record and re-raise failures.

        Loads happen one at a time, so that the memory they take is known before the next.
        """
        if entry.loaded:
            return
        if self._load_lock is None:
            self._load_lock = anyio.Lock()
        async with self._load_lock:
            if entry.loaded:
                return
            self._make_room(entry)
            entry.state = "loading"
            before = rss_bytes()
            try:
                await anyio.to_thread.run_sync(entry.worker.load, limiter=entry.queue.limiter)
            except DomainError as exc:
                entry.state, entry.error = "failed", exc.message
                raise
            except Exception as exc:  # a loader bug must not take the server down
                entry.state, entry.error = "failed", f"{type(exc).__name__}: {exc}"
                log.exception("loading %s failed", entry.name)
                raise ModelUnavailable(f"model `{entry.name}` failed to load: {entry.error}") from exc
            entry.measured_bytes = max(0, rss_bytes() - before)
            entry.state, entry.error = "loaded", None
            entry.loads += 1
            entry.queue.last_active = time.monotonic()
            log.info("model %s loaded (resident set grew by %s)", entry.name, mib(entry.measured_bytes))

    def used_bytes(self) -> int:
        """What the loaded models take, by the same measure the budget uses."""
        return sum(e.footprint() for e in self.entries.values() if e.loaded)

    def _make_room(self, entry: WorkerEntry[Any]) -> None:
        """Unload least recently used idle models until `entry` fits the budget, or refuse.

        Runs on the event loop without awaiting, so no request can be admitted to a model
        between the decision to unload it and its unloading.
        """
        budget = self.memory_budget_bytes
        if not budget:
            return
        need = entry.footprint()
        if need > budget:
            raise InsufficientMemory(
                f"Model `{entry.name}` needs about {mib(need)}, more than the whole memory budget of {mib(budget)}."
            )
        candidates = sorted(
            (e for e in self.entries.values() if e is not entry and e.loaded and self._unused(e) and not e.preload),
            key=lambda e: e.queue.last_active,
        )
        while self.used_bytes() + need > budget and candidates:
            self._unload(candidates.pop(0), "memory")
        if self.used_bytes() + need > budget:
            holders = ", ".join(f"{e.name} ({mib(e.footprint())})" for e in self.entries.values() if e.loaded)
            raise InsufficientMemory(
                f"Model `{entry.name}` needs about {mib(need)} but the memory budget of {mib(budget)} is held by "
                f"models in use or pinned: {holders}. Retry shortly.",
                retry_after=self.retry_after_s,
            )

    def _unused(self, entry: WorkerEntry[Any]) -> bool:
        """Idle, and no busy entry calls its worker (the diarizing model calls a Whisper worker)."""
        return entry.idle and not any(entry.name in e.uses and not e.idle for e in self.entries.values())

    def _unload(self, entry: WorkerEntry[Any], reason: str) -> None:
        entry.worker.unload()
        release_free_memory()
        entry.state = "unloaded"
        entry.unloads[reason] = entry.unloads.get(reason, 0) + 1
        log.info("model %s unloaded (%s)", entry.name, reason)

    def unload_idle(self, now: float | None = None) -> list[str]:
        """Unload unpinned models nobody has used for `idle_unload_s`; returns their names."""
        if not self.idle_unload_s:
            return []
        now = time.monotonic() if now is None else now
        unloaded: list[str] = []
        for entry in self.entries.values():
            idle_for = now - entry.queue.last_active
            if entry.loaded and self._unused(entry) and not entry.preload and idle_for >= self.idle_unload_s:
                self._unload(entry, "idle")
                unloaded.append(entry.name)
        return unloaded

    async def run_housekeeping(self) -> None:
        """Unload idle models from time to time; runs until cancelled (the app's lifespan owns it)."""
        if not self.idle_unload_s:
            return
        interval = min(30.0, max(0.2, self.idle_unload_s / 4))
        while True:
            await anyio.sleep(interval)
            self.unload_idle()

    async def preload(self) -> None:
        """Load the pinned models, one at a time; a failure is logged and keeps the process unready."""
        for entry in self.entries.values():
            if entry.preload:
                try:
                    await self.ensure_loaded(entry)
                except DomainError as exc:
                    log.error("preloading %s failed: %s", entry.name, exc.message)

    def failed_preloads(self) -> list[str]:
        """Pinned models that are not loaded: the process is not ready while there are any."""
        return [name for name, entry in self.entries.items() if entry.preload and not entry.loaded]

    def status(self) -> dict[str, dict[str, Any]]:
        """Per worker: kind, load state, pin, last load error, queue places and memory (for /health)."""
        return {
            name: {
                "kind": entry.kind,
                "loaded": entry.loaded,
                "state": entry.load_state,
                "pinned": entry.preload,
                "error": entry.error,
                "running": entry.queue.running,
                "waiting": entry.queue.waiting,
                "memory_bytes": entry.footprint() if entry.loaded else 0,
            }
            for name, entry in self.entries.items()
        }

    def unload_all(self) -> None:
        """Unload every loaded model (at shutdown)."""
        for entry in self.entries.values():
            if entry.loaded:
                self._unload(entry, "shutdown")
