"""Resident memory of this process (where the test servers run) sampled around a piece of work."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from models.memory import MIB, rss_bytes, trim_heap


@dataclass
class RssWatch:
    before: int = 0
    peak: int = 0
    after: int = 0

    @property
    def peak_growth_mib(self) -> float:
        return (self.peak - self.before) / MIB

    @property
    def kept_mib(self) -> float:
        return (self.after - self.before) / MIB


@contextmanager
def watch_rss(interval_s: float = 0.01) -> Iterator[RssWatch]:
    """Sample the resident set every `interval_s` while the block runs: before, peak, after.

    The heap is trimmed before the first sample, so that `before` is not inflated by what an
    earlier test freed but glibc kept; nothing is trimmed before `after`: what the server
    keeps is what counts.
    """
    trim_heap()
    watch = RssWatch(before=rss_bytes())
    watch.peak = watch.before
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            watch.peak = max(watch.peak, rss_bytes())
            time.sleep(interval_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield watch
    finally:
        stop.set()
        sampler.join()
        watch.after = rss_bytes()
        watch.peak = max(watch.peak, watch.after)
