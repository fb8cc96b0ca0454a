"""Faults injected on purpose: a real worker held at a chosen point until the test lets it go.

Tests about work in flight (time budgets, clients that leave, a busy model, streaming) must
not depend on how fast this machine decodes or speaks. A hold wraps a worker's method on the
instance (through pytest's monkeypatch): the call stops at the chosen point until the test
sets `release` or the request's own `cancel` event is set (its time budget ran out, its client
went away). The real worker then goes on, and its own cancellation check runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

MAX_HOLD_S = 120.0  # a hold never outlives this, so that a broken test fails instead of hanging


@dataclass
class Hold:
    reached: threading.Event = field(default_factory=threading.Event)  # the work stopped at the point
    release: threading.Event = field(default_factory=threading.Event)  # set by the test: go on
    finished: threading.Event = field(default_factory=threading.Event)  # the held call has returned
    cancelled: bool = False  # the hold ended because the request's `cancel` was set

    def wait(self, cancel: threading.Event | None) -> None:
        self.reached.set()
        deadline = time.monotonic() + MAX_HOLD_S
        while not self.release.is_set() and time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                self.cancelled = True
                return
            self.release.wait(0.01)

    def wait_reached(self, timeout: float = MAX_HOLD_S) -> None:
        assert self.reached.wait(timeout), "the held work never reached its hold point"


def hold_transcription(monkeypatch: pytest.MonkeyPatch, worker: Any) -> Hold:
    """Hold `worker.transcribe` (Whisper or diarizing) as it is called, before its first model call.

    Released by the test, or by the request's `cancel`: the real worker then starts with its
    `cancel` set and must stop by itself (raising Cancelled, counted in `worker.cancelled`).
    """
    hold = Hold()
    original = worker.transcribe

    def transcribe(*args: Any, cancel: threading.Event | None = None, **kwargs: Any) -> Any:
        hold.wait(cancel)
        try:
            return original(*args, cancel=cancel, **kwargs)
        finally:
            hold.finished.set()

    monkeypatch.setattr(worker, "transcribe", transcribe)
    return hold


def hold_after_first_segment(monkeypatch: pytest.MonkeyPatch, worker: Any) -> Hold:
    """Hold `worker.transcribe` (Whisper) after it has handed over its first segment, before the
    second, until the test releases it or the request's `cancel` is set."""
    hold = Hold()
    original = worker.transcribe

    def transcribe(*args: Any, on_segment: Any = None, cancel: threading.Event | None = None, **kwargs: Any) -> Any:
        handed = 0

        def held(segment: Any) -> None:
            nonlocal handed
            if handed == 1:
                hold.wait(cancel)
            handed += 1
            if on_segment is not None:
                on_segment(segment)

        try:
            return original(*args, on_segment=held, cancel=cancel, **kwargs)
        finally:
            hold.finished.set()

    monkeypatch.setattr(worker, "transcribe", transcribe)
    return hold


def hold_synthesis(monkeypatch: pytest.MonkeyPatch, worker: Any) -> Hold:
    """Hold `worker.synthesize` (Piper) after its first audio chunk, before it computes the second."""
    hold = Hold()
    original = worker.synthesize

    def synthesize(*args: Any, cancel: threading.Event | None = None, **kwargs: Any) -> Iterator[Any]:
        chunks = original(*args, cancel=cancel, **kwargs)  # checks voice and options at once, as the real one

        def held() -> Iterator[Any]:
            try:
                iterator = iter(chunks)
                first = next(iterator, None)
                if first is None:
                    return
                yield first
                hold.wait(cancel)
                yield from iterator
            finally:
                hold.finished.set()

        return held()

    monkeypatch.setattr(worker, "synthesize", synthesize)
    return hold
