"""Model queues (gateway/serving/queues.py): places go to interactive work first, bulk work is not starved."""

from __future__ import annotations

import threading

import anyio

from gateway.serving.queues import WorkQueue
from models.compute import LatencyPolicy, current_latency


def _ordered(queue: WorkQueue, arrivals: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Run `arrivals` (name, class) through `queue` while a first call holds its only place.

    Each call is admitted only once the one before it waits; returns the order in which
    they ran, with the class each saw in its worker thread.
    """
    order: list[tuple[str, str]] = []
    hold = threading.Event()

    async def main() -> None:
        async with anyio.create_task_group() as group:
            try:
                group.start_soon(lambda: queue.run(hold.wait))
                while queue.running < 1:
                    await anyio.sleep(0.001)
                for name, latency in arrivals:
                    waiting = queue.waiting
                    group.start_soon(
                        lambda n=name, c=latency: queue.run(lambda: order.append((n, current_latency())), latency=c)
                    )
                    with anyio.fail_after(30):
                        while queue.waiting == waiting:  # admitted and in line
                            await anyio.sleep(0.001)
                assert order == []
            finally:
                hold.set()

    anyio.run(main)
    assert queue.admitted == 0 and queue.running == 0
    return order


def test_an_interactive_request_gets_the_next_place_and_runs_in_its_class():
    queue = WorkQueue("base", max_parallel=1, max_queue=8)
    order = _ordered(queue, [("file 0", "bulk"), ("file 1", "bulk"), ("consent", "interactive")])
    assert order == [("consent", "interactive"), ("file 0", "bulk"), ("file 1", "bulk")]
    assert queue.waits["interactive"].count == 1 and queue.waits["bulk"].count == 3


def test_a_waiting_bulk_request_is_overtaken_at_most_interactive_ahead_times():
    queue = WorkQueue("base", max_parallel=1, max_queue=8, policy=LatencyPolicy(interactive_ahead=2))
    arrivals = [("file", "bulk")] + [(f"turn {i}", "interactive") for i in range(4)]
    assert [name for name, _ in _ordered(queue, arrivals)] == ["turn 0", "turn 1", "file", "turn 2", "turn 3"]


def test_without_classes_places_go_in_arrival_order():
    queue = WorkQueue("base", max_parallel=1, max_queue=8, policy=LatencyPolicy(classes=False))
    order = _ordered(queue, [("file", "bulk"), ("consent", "interactive")])
    assert order == [("file", "bulk"), ("consent", "interactive")]  # each still computes in its own class


def test_a_queue_admits_in_its_own_class_unless_told():
    queue = WorkQueue("piper", latency="interactive")
    assert queue.reserve().latency == "interactive" and queue.reserve("bulk").latency == "bulk"


def test_a_caller_that_stops_waiting_leaves_the_line():
    queue = WorkQueue("base", max_parallel=1, max_queue=8)
    hold, ran = threading.Event(), []

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: queue.run(hold.wait))
            while queue.running < 1:
                await anyio.sleep(0.001)
            with anyio.move_on_after(0.05):  # gives up while waiting for a place
                await queue.run(lambda: ran.append("gone"), latency="interactive")
            group.start_soon(lambda: queue.run(lambda: ran.append("file")))
            while queue.waiting < 1:
                await anyio.sleep(0.001)
            hold.set()

    anyio.run(main)
    assert ran == ["file"] and queue.admitted == 0 and queue.running == 0


def test_an_interactive_request_takes_a_place_beyond_max_parallel_while_files_hold_them_all():
    """A place is held for a whole file: a live turn does not wait for one to end (issue 17)."""
    queue = WorkQueue("base", max_parallel=2, max_queue=8, policy=LatencyPolicy(interactive_places=1))
    hold, turn, ran = threading.Event(), threading.Event(), []

    async def until(condition) -> None:
        with anyio.fail_after(30):  # without the extra place the turn would wait for files that never end
            while not condition():
                await anyio.sleep(0.001)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            try:
                for _ in range(2):
                    group.start_soon(lambda: queue.run(hold.wait))  # two files hold both places
                await until(lambda: queue.running == 2)
                group.start_soon(lambda: queue.run(lambda: ran.append("file 2")))  # a third file waits
                await until(lambda: queue.waiting == 1)
                group.start_soon(
                    lambda: queue.run(lambda: ran.append(("turn", current_latency())), latency="interactive")
                )
                await until(lambda: ran == [("turn", "interactive")] and queue.running == 2)  # the place given back
                # One extra place: a turn holding it makes the next turn wait (it goes before file 2).
                group.start_soon(lambda: queue.run(turn.wait, latency="interactive"))
                await until(lambda: queue.running == 3)
                group.start_soon(lambda: queue.run(lambda: ran.append("turn 2"), latency="interactive"))
                await until(lambda: queue.waiting == 2)
                assert queue.running == 3 and ran == [("turn", "interactive")]
                turn.set()
                await until(lambda: "turn 2" in ran)
            finally:
                hold.set()  # the files end, pass or fail
                turn.set()

    anyio.run(main)
    assert ran[:2] == [("turn", "interactive"), "turn 2"] and ran[2] == "file 2"
    assert queue.admitted == 0 and queue.running == 0


def test_an_interactive_queue_keeps_its_max_parallel():
    queue = WorkQueue(
        "piper", max_parallel=1, max_queue=8, latency="interactive", policy=LatencyPolicy(interactive_places=1)
    )
    order = _ordered(queue, [("speech 1", "interactive"), ("speech 2", "interactive")])
    assert [name for name, _ in order] == ["speech 1", "speech 2"]  # each waited for the one place
    assert queue.waits["interactive"].count == 3 and queue.running == 0


def test_no_place_beyond_max_parallel_for_bulk_or_without_classes():
    for policy, latency in [
        (LatencyPolicy(interactive_places=1), "bulk"),
        (LatencyPolicy(classes=False, interactive_places=1), "interactive"),
    ]:
        queue = WorkQueue("base", max_parallel=1, max_queue=8, policy=policy)
        order = _ordered(queue, [("file", "bulk"), ("turn", latency)])
        assert [name for name, _ in order] == ["file", "turn"]  # each waited for the one place, in arrival order
