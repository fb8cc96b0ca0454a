"""How many Realtime sessions one replica holds at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from models.errors import QueueFull


class SessionSlots:
    """The live sessions one replica holds at once; a slot frees itself when its session ends."""

    def __init__(self, limit: int):
        self.limit = limit
        self.active = 0

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
