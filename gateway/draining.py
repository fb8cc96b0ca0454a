"""Draining: a replica that is asked to stop finishes what it has and refuses what is new.

On SIGTERM (see `gateway/server.py`) the `Drain` begins: readiness answers 503, every new
/v1 request gets 503 `server_shutting_down` with `Connection: close` (the SDKs retry it),
and requests already in flight run to their end. After `drain_min_s` (time for balancers
that poll readiness to notice) the listener closes: nginx's next connection is refused and
goes to another replica.
"""

from __future__ import annotations

import time


class Drain:
    """Whether this process is draining, and how many /v1 requests it is still serving."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.in_flight = 0

    @property
    def draining(self) -> bool:
        """Whether draining has begun."""
        return self.since is not None

    def begin(self) -> None:
        """Start draining (once; later calls keep the first start time)."""
        if self.since is None:
            self.since = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since draining began (0 before)."""
        return 0.0 if self.since is None else time.monotonic() - self.since
