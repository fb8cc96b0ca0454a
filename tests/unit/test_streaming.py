"""The bridge from a worker thread to a streamed response (gateway/streaming.py): a slow reader
bounds what waits in memory."""

from __future__ import annotations

import asyncio
import threading
import time

from gateway.serving.registry import WorkQueue
from gateway.streaming import stream_from_thread


def counting_work(count: int, emitted: list[int], done: threading.Event):
    def work(emit, cancel):
        for i in range(count):
            emit(i)
            emitted.append(i)
        done.set()
        return "done"

    return work


async def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        await asyncio.sleep(0.01)


async def test_a_slow_reader_holds_the_worker_at_max_pending():
    queue = WorkQueue("test", max_parallel=1)
    emitted: list[int] = []
    done = threading.Event()
    stream = stream_from_thread(queue, queue.reserve(), counting_work(20, emitted, done), max_pending=3)
    got = [(await anext(stream))[1]]  # starts the work
    await wait_for(lambda: len(emitted) >= 4)
    await asyncio.sleep(0.2)  # room for a broken bound to show
    assert len(emitted) == len(got) + 3  # three wait for the reader, the fifth waits for room
    async for kind, value in stream:
        if kind == "item":
            got.append(value)
            assert len(emitted) <= len(got) + 3
        else:
            assert value == "done"
    assert got == list(range(20))
    assert queue.admitted == 0


async def test_a_reader_that_leaves_frees_a_worker_waiting_for_room():
    queue = WorkQueue("test", max_parallel=1)
    emitted: list[int] = []
    done = threading.Event()
    stream = stream_from_thread(queue, queue.reserve(), counting_work(1000, emitted, done), max_pending=2)
    assert (await anext(stream)) == ("item", 0)
    await wait_for(lambda: len(emitted) >= 3)  # blocked for room
    await stream.aclose()  # the client went away: cancel is set, the waiting emit gives up
    await wait_for(done.is_set)
    await wait_for(lambda: queue.admitted == 0)


async def test_unbounded_by_default():
    queue = WorkQueue("test", max_parallel=1)
    emitted: list[int] = []
    done = threading.Event()
    stream = stream_from_thread(queue, queue.reserve(), counting_work(50, emitted, done))
    assert (await anext(stream)) == ("item", 0)  # starts the work
    await wait_for(done.is_set)  # nobody read the rest, the worker finished anyway
    items = [value async for kind, value in stream if kind == "item"]
    assert items == list(range(1, 50))
