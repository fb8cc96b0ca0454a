"""The CPU budget: how many threads each engine runs, and which compute steps run when.

CTranslate2, onnxruntime and torch each start as many threads as there are cores; two
models computing at once on a small machine then thrash. Here every compute step holds
cores of one shared budget, as many as the engine runs threads (`CpuBudget.threads`):
steps run side by side while their threads fit the machine's cores, and wait (first
come, first served) when they do not. Loading more models never adds threads.

Measured on 2 cores (docs/benchmarks.md): Whisper decodes faster with one thread per call
than with two, and two one-thread calls side by side do twice the work, so Whisper's
decoding calls take one core each by default; its encoder scales with threads, so encoder
calls take every core; Piper gains from two threads (time to first byte), the speaker
encoders from all.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

ENGINE_THREADS = {"whisper": 1, "whisper_encode": 0, "piper": 2, "speaker": 0, "pyannote": 0}
"""Threads of one compute step, per engine; 0: every core of the budget."""


def available_cores() -> int:
    """Cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class CpuBudget:
    """Cores shared by every model of one process."""

    def __init__(self, cores: int = 0, threads: Mapping[str, int] | None = None):
        self.cores = cores or available_cores()
        self._threads = {**ENGINE_THREADS, **(threads or {})}
        self._free = self.cores
        self._line: deque[object] = deque()
        self._cond = threading.Condition()

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
        return self._free

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
    def compute(self, cores: int = 1) -> Iterator[None]:
        """Hold `cores` cores for the duration of a step; waiters are served in arrival order."""
        need = max(1, min(cores, self.cores))
        ticket = object()
        with self._cond:
            self._line.append(ticket)
            while self._line[0] is not ticket or self._free < need:
                self._cond.wait()
            self._line.popleft()
            self._free -= need
            self._cond.notify_all()  # the next in line may fit in what is left
        try:
            yield
        finally:
            with self._cond:
                self._free += need
                self._cond.notify_all()
