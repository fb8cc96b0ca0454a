"""Cross-request batching: calls of concurrent threads gathered into one model call.

Each request runs its own decoding loop in its own worker thread. When a thread reaches
a model call that gains from batching (Whisper's generate) it submits it here; calls that
can share one batched model call (compatible arguments) are gathered and run together by
one of the waiting threads, the leader, while it holds its cores of the CPU budget. A
batch runs as soon as it is full, or as soon as every thread of the model is waiting here
or running a batch (nobody else can join), or when the oldest call has waited `wait_s`: a lone request is
never delayed. When more cores are free than the leader holds, the waiting calls are
split so that the other free cores run the rest side by side. A batch waits for its cores
in the most urgent latency class of its calls (models/compute.py): an interactive call
(a live turn, a consent check) is not held back by the bulk calls it is batched with.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from models.compute import CpuBudget, Latency, current_latency

RunBatch = Callable[[Sequence[Any]], Sequence[Any]]


@dataclass(eq=False)
class _Call:
    payload: Any
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    since: float = field(default_factory=time.monotonic)
    latency: Latency = field(default_factory=current_latency)  # the class of the submitting thread


class Batcher:
    """Gathers compatible calls from the threads of one model."""

    def __init__(self, budget: CpuBudget, max_batch: int = 8, wait_s: float = 0.02, cores: int = 1):
        self.budget = budget
        self.cores = cores  # cores one batched call holds (its threads)
        self.max_batch = max(1, max_batch)
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._groups: dict[Hashable, list[_Call]] = {}
        self._active = 0  # threads inside a session
        self._waiting = 0  # of those, threads whose call waits to be gathered
        self._running = 0  # of those, threads whose call is in a running batch
        self.batches = 0  # batched model calls made
        self.calls = 0  # calls served by them
        self.sizes: dict[int, int] = {}  # batch size -> batched model calls of that size

    @contextmanager
    def session(self) -> Iterator[None]:
        """Mark the calling thread as one that will submit calls (one per request)."""
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()  # a waiting batch may now be complete

    def submit(self, key: Hashable, payload: Any, run: RunBatch) -> Any:
        """Run `payload` as part of a batch of calls with the same key; return its own result.

        `run` receives the payloads of a batch and returns one result per payload.
        """
        call = _Call(payload)
        with self._cond:
            self._groups.setdefault(key, []).append(call)
            self._waiting += 1
            self._cond.notify_all()
            while not call.done:
                group = self._groups.get(key, [])
                if group and group[0] is call and self._ready(group):
                    # Lead: wait for the CPU first, and only then take the batch, so calls
                    # that arrive while the CPU is busy still join it.
                    urgent: Latency = "interactive" if any(c.latency == "interactive" for c in group) else "bulk"
                    self._cond.release()
                    batch: list[_Call] = []
                    try:
                        with self.budget.compute(self.cores, latency=urgent):
                            with self._cond:
                                batch = self._take(key)
                            self._run(batch, run)
                    finally:
                        self._cond.acquire()
                        self._running -= len(batch)
                        for member in batch:
                            member.done = True
                        self._cond.notify_all()
                    continue
                # only the head of a group has a deadline; the others are woken when it changes
                self._cond.wait(timeout=self._time_left(group) if group and group[0] is call else None)
        if call.error is not None:
            raise call.error
        return call.result

    def _take(self, key: Hashable) -> list[_Call]:
        group = self._groups[key]
        # calls that free cores could run beside this batch are left for their own leader
        beside = self.budget.free // max(1, self.cores)
        batch = group[: min(self.max_batch, math.ceil(len(group) / (1 + beside)))]
        del group[: len(batch)]
        if not group:
            del self._groups[key]
        self._waiting -= len(batch)  # running, no longer waiting to be gathered
        self._running += len(batch)
        self._cond.notify_all()  # the rest of the group has a new head
        return batch

    def _ready(self, group: list[_Call]) -> bool:
        return (
            len(group) >= self.max_batch
            or self._waiting + self._running >= self._active  # nobody else can join soon
            or time.monotonic() - group[0].since >= self.wait_s
        )

    def _time_left(self, group: list[_Call]) -> float:
        return max(0.001, self.wait_s - (time.monotonic() - group[0].since))

    def _run(self, batch: list[_Call], run: RunBatch) -> None:
        try:
            results = run([c.payload for c in batch])
            for call, result in zip(batch, results, strict=True):
                call.result = result
        except BaseException as exc:  # every caller of the batch sees the failure
            for call in batch:
                call.error = exc
        self.batches += 1
        self.calls += len(batch)
        self.sizes[len(batch)] = self.sizes.get(len(batch), 0) + 1
