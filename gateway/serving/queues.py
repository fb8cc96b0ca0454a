"""Admission to one worker: a bounded queue, a private thread limiter, interactive work first.

A `WorkQueue` lets at most `max_parallel` calls run at once in worker threads (its own
thread limiter, not the shared default pool) and at most `max_queue` wait; one more is
refused at once with QueueFull, which the gateway answers with 429. Waiting calls get a
free place by latency class (models/compute.py, `ClassLine`): interactive calls (a
consent check, a live turn) before bulk ones (file transcription), and no bulk call is
overtaken by more than `LatencyPolicy.interactive_ahead` of them. A place is held for a
whole request (a file transcription: many Whisper windows), so ordering the waiters is not
enough for a live turn when files hold every place: an interactive call may also take one
of `LatencyPolicy.interactive_places` places beyond `max_parallel`; its steps then take
their turn on the CPU budget, where interactive steps go first. The class a call runs under
also orders its compute steps in the CPU budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from gateway.threads import LazyLimiter
from models.compute import LATENCIES, ClassLine, Latency, LatencyPolicy, Waits, latency_class
from models.errors import QueueFull

T = TypeVar("T")


class Ticket:
    """A place in a worker's queue, held from admission until the work ends.

    A context manager: leaving the block gives the place back, unless the work took it
    (`WorkQueue.run` and a `WorkStream` give it back when they end). `hand_over` moves the
    place to a new owner, such as a stream that outlives the block. Giving back twice is
    harmless, so nobody needs to track who releases.
    """

    def __init__(self, queue: WorkQueue, latency: Latency):
        self._queue = queue
        self.latency = latency  # the class the work runs in
        self._held = True

    @property
    def held(self) -> bool:
        """Whether this ticket still holds its place."""
        return self._held

    def release(self) -> None:
        """Give the place back (once; later calls do nothing)."""
        if self._held:
            self._held = False
            self._queue.admitted -= 1
            self._queue.last_active = time.monotonic()

    def hand_over(self) -> Ticket:
        """A new ticket for the same place; this one no longer holds it (leaving its block releases nothing)."""
        if not self._held:
            raise RuntimeError("the ticket's place was already given back")
        self._held = False
        return Ticket(self._queue, self.latency)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(eq=False)
class _Waiter:
    latency: Latency
    since: float
    event: anyio.Event
    granted: bool = False  # handed a place by the call that left it


class WorkQueue:
    """Bounded admission and a private thread limiter for one worker."""

    def __init__(
        self,
        name: str,
        max_parallel: int = 1,
        max_queue: int = 16,
        retry_after_s: float = 2.0,
        latency: Latency = "bulk",
        policy: LatencyPolicy | None = None,
    ):
        self.name = name
        self.max_parallel = max_parallel
        self.max_queue = max_queue
        self.retry_after_s = retry_after_s
        self.latency = latency  # the class of work admitted without one
        self.admitted = 0
        self.rejected = 0  # reservations refused with QueueFull
        self.cancelled = 0  # runs whose caller stopped waiting (timeout, client gone)
        self.last_active = time.monotonic()  # when a request last entered or left
        self.waits: dict[Latency, Waits] = {latency: Waits() for latency in LATENCIES}
        """How long admitted calls waited for a place to run, per class."""
        self._running = 0  # places taken: calls running, or handed a place and about to run
        self._policy = policy or LatencyPolicy()
        self._line: ClassLine[_Waiter] = ClassLine(self._policy)
        self._threads = LazyLimiter(max_parallel + self._extra("interactive"))

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The worker's threads (runs and loads); created lazily: it belongs to the event loop that first uses it."""
        return self._threads.limiter

    @property
    def running(self) -> int:
        """Places taken: calls running, or handed a place and about to run."""
        return self._running

    @property
    def waiting(self) -> int:
        """Admitted calls waiting for a place."""
        return self.admitted - self.running

    @property
    def capacity(self) -> int:
        """Calls admitted at most: running plus waiting."""
        return self.max_parallel + self.max_queue

    def reserve(self, latency: Latency | None = None) -> Ticket:
        """Take a place for work of class `latency` (default: the queue's) or raise QueueFull at once."""
        if self.admitted >= self.capacity:
            self.rejected += 1
            raise QueueFull(
                f"Model `{self.name}` is busy ({self.admitted} requests in progress or waiting); retry shortly.",
                retry_after=self.retry_after_s,
            )
        self.admitted += 1
        self.last_active = time.monotonic()
        return Ticket(self, latency or self.latency)

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        ticket: Ticket | None = None,
        cancel: threading.Event | None = None,
        latency: Latency | None = None,
    ) -> T:
        """Run blocking `fn(*args)` in a worker thread under this queue's limits.

        The work runs in the ticket's class (or `latency`, or the queue's, when no ticket
        is given): it waits for a place in that class's turn, and its compute steps wait
        for the CPU in that class. Waiting for a place can be cancelled. Once `fn` runs, a
        cancelled caller (a timeout, a client that went away, shutdown) sets `cancel`, which
        `fn` is expected to watch and stop at its next step; the place stays taken until the
        thread has really ended, so cancelled work never lets more than `max_parallel`
        threads compute.
        """
        ticket = ticket or self.reserve(latency)
        try:
            await self._take_place(ticket.latency)
            try:
                return await self._in_thread(fn, args, cancel, ticket.latency)
            finally:
                self._leave_place()
        finally:
            ticket.release()

    def _extra(self, latency: Latency) -> int:
        """Places beyond max_parallel that a call of this class may take: only an interactive call in a
        bulk queue (a live turn among file transcriptions); in an interactive queue (Piper, the speaker
        encoder) every call is interactive, and max_parallel is its limit."""
        guest = latency == "interactive" and self.latency == "bulk"
        return self._policy.interactive_places if self._policy.classes and guest else 0

    def _fits(self, latency: Latency) -> bool:
        return self._running < self.max_parallel + self._extra(latency)

    async def _take_place(self, latency: Latency) -> None:
        # nobody waits; for a call that may take a place beyond max_parallel, no call of its class waits
        ahead = self._line.waiting(latency) if self._extra(latency) else len(self._line)
        if self._fits(latency) and not ahead:
            self._running += 1
            self.waits[latency].add(0.0)
            return
        waiter = _Waiter(latency, time.monotonic(), anyio.Event())
        self._line.add(waiter, latency)
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.granted:  # handed a place as the wait was cancelled: hand it on
                self._leave_place()
            else:
                self._line.remove(waiter)
            raise

    def _leave_place(self) -> None:
        """Hand the place to the next waiter in class order, or free it.

        A bulk head cannot take a place beyond max_parallel: then the place stays free (the
        head is served when a place within max_parallel frees).
        """
        self._running -= 1
        head = self._line.head()
        if head is not None and self._fits(head.latency):
            self._line.pop_head(passed_over=self._fits("bulk"))
            self._running += 1
            head.granted = True
            self.waits[head.latency].add(time.monotonic() - head.since)
            head.event.set()

    async def _in_thread(
        self, fn: Callable[..., T], args: tuple[Any, ...], cancel: threading.Event | None, latency: Latency
    ) -> T:
        finished = threading.Event()

        def call() -> T:
            try:
                with latency_class(latency):
                    return fn(*args)
            finally:
                finished.set()

        try:
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=self.limiter)
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            if cancel is not None:
                cancel.set()
            with anyio.CancelScope(shield=True):
                while not finished.is_set():
                    await anyio.sleep(0.01)
            raise
