"""The CPU budget: how many threads each engine runs, and which compute steps run when.

CTranslate2, onnxruntime and torch each start as many threads as there are cores; two
models computing at once on a small machine then thrash. Here every compute step holds
cores of one shared budget, as many as the engine runs threads (`CpuBudget.threads`):
steps run side by side while their threads fit the machine's cores, and wait when they
do not. Loading more models never adds threads.

Waiting steps are served by latency class (`Latency`): interactive steps (speech, consent
and voice checks a person waits on, live turns) before bulk ones (file transcription,
translation, diarization of uploads), first come, first served within a class. Bulk is
never starved: while a bulk step waits, at most `LatencyPolicy.interactive_ahead`
interactive steps go first, then the oldest bulk step does. No step is interrupted: a
Whisper step is one model call on one window, so interactive work waits at most for the
steps already running, and with `interactive_overcommit` not even for those (its threads
share the cores with them for its short step). A step's class is the one its thread runs
under (`latency_class`, set by the model's queue), unless it is given.

Measured on 2 cores (docs/benchmarks.md): Whisper decodes faster with one thread per call
than with two, and two one-thread calls side by side do twice the work, so Whisper's
decoding calls take one core each by default; its encoder scales with threads, so encoder
calls take every core; Piper gains from two threads (time to first byte), the speaker
encoders from all.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

ENGINE_THREADS = {"whisper": 1, "whisper_encode": 0, "piper": 2, "speaker": 0, "pyannote": 0}
"""Threads of one compute step, per engine; 0: every core of the budget."""

Latency = Literal["interactive", "bulk"]
"""How soon a person needs the result: `interactive` work is served before `bulk` work."""
LATENCIES: tuple[Latency, ...] = ("interactive", "bulk")

WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Upper bounds (seconds) of the waiting-time histograms (`Waits`)."""

_latency: ContextVar[Latency] = ContextVar("latency", default="bulk")


def current_latency() -> Latency:
    """The latency class the calling thread works for (`bulk` unless `latency_class` set one)."""
    return _latency.get()


@contextmanager
def latency_class(latency: Latency) -> Iterator[None]:
    """Run the compute steps of this block (in this thread) in `latency`'s class."""
    token = _latency.set(latency)
    try:
        yield
    finally:
        _latency.reset(token)


@dataclass(frozen=True)
class LatencyPolicy:
    """How waiting work of the two classes is ordered, in the CPU budget and in the model queues."""

    classes: bool = True  # False: one line, first come, first served, whatever the class
    interactive_ahead: int = 4  # interactive grants in a row while bulk waits; then the oldest bulk goes
    interactive_overcommit: int = 0  # cores an interactive step may hold beyond the budget (CPU budget only)
    interactive_places: int = 0  # places an interactive call may take beyond a model queue's max_parallel


W = TypeVar("W")


class ClassLine(Generic[W]):
    """Waiters of both classes in the order they are to be served (not thread-safe: callers lock).

    Interactive waiters go first, each class in arrival order, except that after
    `interactive_ahead` interactive grants made while the oldest bulk waiter could have
    been served instead, that bulk waiter is the head: a bulk waiter is passed over at
    most that many times.
    """

    def __init__(self, policy: LatencyPolicy):
        self.policy = policy
        self._lines: dict[Latency, deque[W]] = {"interactive": deque(), "bulk": deque()}
        self._of: dict[int, Latency] = {}
        self._ahead = 0  # interactive grants since the last bulk grant, made while bulk waited
        self.most_ahead = 0  # the most interactive grants a bulk waiter has seen go first

    def __len__(self) -> int:
        return len(self._lines["interactive"]) + len(self._lines["bulk"])

    def waiting(self, latency: Latency) -> int:
        """Waiters in the line of this class (with classes off, everyone is in the bulk line)."""
        return len(self._lines[latency])

    def add(self, waiter: W, latency: Latency) -> None:
        line: Latency = latency if self.policy.classes else "bulk"
        self._lines[line].append(waiter)
        self._of[id(waiter)] = line

    def head(self) -> W | None:
        """Who is served next."""
        first, bulk = self._lines["interactive"], self._lines["bulk"]
        if first and (not bulk or self._ahead < max(1, self.policy.interactive_ahead)):
            return first[0]
        return bulk[0] if bulk else None

    def oldest_bulk(self) -> W | None:
        bulk = self._lines["bulk"]
        return bulk[0] if bulk else None

    def pop_head(self, passed_over: bool = True) -> W:
        """Take the head out: it is being served.

        `passed_over`: whether the oldest bulk waiter could have been served instead (an
        interactive step beyond the CPU budget, while bulk steps hold every core, takes
        nobody's turn).
        """
        waiter = self.head()
        assert waiter is not None
        line = self._of.pop(id(waiter))
        self._lines[line].popleft()
        if line == "bulk" or not self._lines["bulk"]:
            self._ahead = 0
        elif passed_over:
            self._ahead += 1
            self.most_ahead = max(self.most_ahead, self._ahead)
        return waiter

    def remove(self, waiter: W) -> None:
        """Take a waiter out that gave up waiting."""
        line = self._of.pop(id(waiter))
        self._lines[line].remove(waiter)
        if not self._lines["bulk"]:
            self._ahead = 0


@dataclass
class Waits:
    """Waiting times of one class, as a cumulative histogram over `WAIT_BUCKETS` (seconds)."""

    counts: list[int] = field(default_factory=lambda: [0] * len(WAIT_BUCKETS))  # waits <= each bound
    count: int = 0
    sum_s: float = 0.0
    max_s: float = 0.0

    def add(self, seconds: float) -> None:
        for i, bound in enumerate(WAIT_BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
        self.count += 1
        self.sum_s += seconds
        self.max_s = max(self.max_s, seconds)


def available_cores() -> int:
    """Cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(eq=False)
class _Step:
    latency: Latency
    need: int
    since: float


class CpuBudget:
    """Cores shared by every model of one process."""

    def __init__(self, cores: int = 0, threads: Mapping[str, int] | None = None, policy: LatencyPolicy | None = None):
        self.cores = cores or available_cores()
        self.policy = policy or LatencyPolicy()
        self._threads = {**ENGINE_THREADS, **(threads or {})}
        self._free = self.cores
        self._line: ClassLine[_Step] = ClassLine(self.policy)
        self._cond = threading.Condition()
        self.waits: dict[Latency, Waits] = {latency: Waits() for latency in LATENCIES}
        """How long compute steps waited for their cores, per class."""

    def threads(self, engine: str) -> int:
        """Threads one compute step of `engine` runs (and cores it holds while it runs)."""
        wanted = self._threads.get(engine, 0)
        return max(1, min(self.cores, wanted or self.cores))

    def side_by_side(self, engine: str) -> int:
        """Compute steps of `engine` that fit the budget at once."""
        return max(1, self.cores // self.threads(engine))

    @property
    def free(self) -> int:
        """Cores no step holds right now (a hint: it may change at once)."""
        return max(0, self._free)

    @property
    def waiting(self) -> int:
        """Steps waiting for their cores now."""
        return len(self._line)

    @property
    def most_overtaken(self) -> int:
        """The most interactive steps that went ahead of one waiting bulk step (at most `interactive_ahead`)."""
        return self._line.most_ahead

    @contextmanager
    def compute_if_free(self, cores: int) -> Iterator[bool]:
        """Hold `cores` cores only if they are free now and nobody waits: yields whether it does."""
        need = max(1, min(cores, self.cores))
        with self._cond:
            held = not self._line and self._free >= need
            if held:
                self._free -= need
        try:
            yield held
        finally:
            if held:
                with self._cond:
                    self._free += need
                    self._cond.notify_all()

    @contextmanager
    def compute(self, cores: int = 1, latency: Latency | None = None) -> Iterator[None]:
        """Hold `cores` cores for the duration of a step.

        `latency`: the step's class; by default the one the calling thread works for
        (`current_latency`). Waiters are served interactive first (see `ClassLine`), in
        arrival order within a class.
        """
        step = _Step(latency or current_latency(), max(1, min(cores, self.cores)), time.monotonic())
        with self._cond:
            self._line.add(step, step.latency)
            while self._line.head() is not step or not self._fits(step):
                self._cond.wait()
            bulk = self._line.oldest_bulk()
            self._line.pop_head(passed_over=bulk is not None and bulk.need <= self._free)
            self._free -= step.need
            self.waits[step.latency].add(time.monotonic() - step.since)
            self._cond.notify_all()  # the next in line may fit in what is left
        try:
            yield
        finally:
            with self._cond:
                self._free += step.need
                self._cond.notify_all()

    def _fits(self, step: _Step) -> bool:
        spare = self.policy.interactive_overcommit if self.policy.classes and step.latency == "interactive" else 0
        return step.need <= self._free + spare
