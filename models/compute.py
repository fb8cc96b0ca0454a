"""The CPU budget: how many threads each model gets, and who computes when.

CTranslate2 and onnxruntime each start as many threads as there are cores. Two models
computing at once on a small machine then thrash. Every worker therefore takes its
thread count from `CpuBudget.threads` and wraps each compute step in `budget.compute()`,
so at most `slots` models compute at a time, each with its share of the cores; waiters
are served in arrival order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def available_cores() -> int:
    """Cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class CpuBudget:
    """Cores shared by every model of one process."""

    def __init__(self, cores: int = 0, slots: int = 1):
        self.cores = cores or available_cores()
        self.slots = max(1, slots)
        self._gate = threading.Semaphore(self.slots)

    @property
    def threads(self) -> int:
        """Threads one model may use while it holds a slot."""
        return max(1, self.cores // self.slots)

    @contextmanager
    def compute(self) -> Iterator[None]:
        """Hold one compute slot for the duration of a step."""
        with self._gate:
            yield
