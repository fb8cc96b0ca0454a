"""Blocking calls off the event loop, on a private limit of threads (not the shared default pool)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class LazyLimiter:
    """At most `tokens` calls at once in worker threads; the anyio limiter is made on first use.

    An anyio limiter belongs to the event loop that first uses it, and the objects holding one
    (queues, the decoder, the store, the rate limiter) are built before any loop runs.
    """

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The limiter itself (made now if it was not yet)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.tokens)
        return self._limiter

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread, once one of the `tokens` places is free."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)
