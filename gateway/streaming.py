"""Bridges from blocking workers to streamed responses, and SSE framing."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterable, Callable
from typing import Any, Literal

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.errors import describe
from gateway.serving.queues import Ticket, WorkQueue
from models.errors import DomainError

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def sse_event(payload: dict[str, Any]) -> bytes:
    """One server-sent event: `data: {json}` and a blank line (no `event:` or `id:` lines)."""
    return b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def sse_error(exc: BaseException) -> bytes:
    """The event that ends a stream which failed after it started."""
    if isinstance(exc, DomainError):
        return sse_event(describe(exc)[1])
    return sse_event(
        {
            "error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
    )


Emit = Callable[[Any], None]
Event = tuple[Literal["item", "result"], Any]
"""("item", x) for each `emit(x)`, then ("result", value) with what the work returned."""


class WorkStream:
    """`work(emit, cancel)` running in a queue's worker thread, read as an async iterator of `Event`s.

    The work starts at once and owns the ticket handed to it: its place in the queue is given
    back once the thread has really finished. A worker error is raised to the reader. Closing
    the stream (`aclose`; `WorkResponse` does it however the response ends) sets `cancel`,
    so the worker stops at its next step.

    `max_pending` > 0 bounds the items emitted but not yet taken by the reader: `emit`
    waits for room (a client that reads slowly slows the worker down instead of the
    server buffering its whole answer); once `cancel` is set it drops the item at once.
    Emit outside compute steps: the waiting holds the thread, not a core.
    """

    def __init__(
        self, queue: WorkQueue, ticket: Ticket, work: Callable[[Emit, threading.Event], Any], *, max_pending: int = 0
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._cancel = threading.Event()
        self._room = threading.Semaphore(max_pending) if max_pending > 0 else None
        self._ahead: tuple[str, Any] | None = None  # read by `ready`, not yet handed out
        self._done = False
        task = asyncio.create_task(self._runner(queue, ticket.hand_over(), work))
        _background.add(task)  # keep a reference until the thread is done
        task.add_done_callback(_background.discard)
        self._task = task

    def _emit(self, item: Any) -> None:
        while self._room is not None and not self._cancel.is_set() and not self._room.acquire(timeout=0.1):
            pass  # wait for the reader to take an item
        if self._cancel.is_set():
            return  # nobody will read it
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, ("item", item))

    async def _runner(self, queue: WorkQueue, ticket: Ticket, work: Callable[[Emit, threading.Event], Any]) -> None:
        try:
            result = await queue.run(work, self._emit, self._cancel, ticket=ticket)
            self._inbox.put_nowait(("result", result))
        except BaseException as exc:  # handed to the reader
            self._inbox.put_nowait(("error", exc))

    async def ready(self) -> None:
        """Wait for the first item (or the result); raise the work's error if it failed before that.

        Awaited before a response starts, it turns a failure in the first step into an error response.
        """
        if self._ahead is not None or self._done:
            return
        try:
            self._ahead = await self._inbox.get()
        except BaseException:  # cancelled while waiting: nobody will read this stream
            await self.aclose()
            raise
        if self._ahead[0] == "error":
            await self.aclose()
            raise self._ahead[1]

    def __aiter__(self) -> WorkStream:
        return self

    async def __anext__(self) -> Event:
        if self._done:
            raise StopAsyncIteration
        kind, value = self._ahead or await self._inbox.get()
        self._ahead = None
        if kind == "error":
            self._done = True
            await self.aclose()
            raise value
        if kind == "item" and self._room is not None:
            self._room.release()
        if kind == "result":
            self._done = True
            return "result", value
        return "item", value

    async def aclose(self) -> None:
        """The reader is done (or gone): the worker stops at its next step."""
        self._done = True
        self._cancel.set()

    async def finished(self) -> None:
        """Wait (shielded from cancellation) until the work's thread has ended, after `aclose` or its result."""
        with anyio.CancelScope(shield=True):
            await asyncio.wait({self._task})


def stream_from_thread(
    queue: WorkQueue, ticket: Ticket, work: Callable[[Emit, threading.Event], Any], *, max_pending: int = 0
) -> WorkStream:
    """Start `work(emit, cancel)` in the queue's worker thread; see `WorkStream`."""
    return WorkStream(queue, ticket, work, max_pending=max_pending)


_background: set[asyncio.Task[None]] = set()


class WorkResponse(StreamingResponse):
    """A streamed response rendered from a `WorkStream`.

    However the response ends (sent in full, the client gone, the request out of time
    before the first byte), the work is told to stop; its ticket is given back when its
    thread ends. Nothing else holds a place for a stream. The response returns once that
    thread has ended (at its next step), so what the request owns (its upload) is closed
    after the last read of it.
    """

    def __init__(self, content: AsyncIterable[bytes], work: WorkStream, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.work = work

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.work.aclose()
            await self.work.finished()
