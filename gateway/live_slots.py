"""How many Realtime sessions one replica holds at once, and what they did (Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from models.errors import QueueFull

TURN_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)


class SessionSlots:
    """The live sessions one replica holds at once; a slot frees itself when its session ends."""

    def __init__(self, limit: int, registry: CollectorRegistry | None = None):
        self.limit = limit
        self.active = 0
        self.metrics = LiveMetrics(self, registry) if registry is not None else None

    @contextmanager
    def hold(self) -> Iterator[None]:
        """A slot for the session's life, or SessionLimit when all are taken."""
        if self.active >= self.limit:
            raise SessionLimit(f"This server holds at most {self.limit} realtime sessions at once; retry later.")
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1


class SessionLimit(QueueFull):
    """Every realtime session slot of this replica is taken (429, like a full queue)."""

    def __init__(self, message: str):
        super().__init__(message, retry_after=1.0)
        self.code = "session_limit_reached"


class LiveMetrics:
    """`gateway_realtime_*`: sessions held, turns transcribed, and how long a turn waits for its transcript."""

    def __init__(self, slots: SessionSlots, registry: CollectorRegistry):
        sessions = Gauge("gateway_realtime_sessions", "Realtime transcription sessions open now.", registry=registry)
        sessions.set_function(lambda: slots.active)
        self.turns = Counter(
            "gateway_realtime_turns",
            "Committed turns by served model (worker) and outcome: completed or failed.",
            ["model", "outcome"],
            registry=registry,
        )
        self.delay = Histogram(
            "gateway_realtime_transcript_delay_seconds",
            "From a turn's commit to its completed event (queue wait and decoding).",
            ["model"],
            buckets=TURN_BUCKETS,
            registry=registry,
        )

    def turn(self, model: str, outcome: str, seconds: float | None = None) -> None:
        self.turns.labels(model, outcome).inc()
        if seconds is not None:
            self.delay.labels(model).observe(seconds)
