"""The CPU budget (models/compute.py): steps hold cores, never more than there are, interactive ones first."""

from __future__ import annotations

import threading
import time

from models.compute import CpuBudget, Latency, LatencyPolicy, latency_class


def test_threads_per_engine_are_capped_by_the_cores():
    budget = CpuBudget(cores=2)
    assert budget.threads("whisper") == 1 and budget.side_by_side("whisper") == 2
    assert budget.threads("piper") == 2 and budget.side_by_side("piper") == 1
    assert budget.threads("speaker") == 2  # 0: every core
    assert CpuBudget(cores=1).threads("piper") == 1
    wide = CpuBudget(cores=16, threads={"whisper": 4})
    assert wide.threads("whisper") == 4 and wide.side_by_side("whisper") == 4
    assert wide.threads("unknown engine") == 16


def test_steps_never_hold_more_cores_than_the_budget():
    budget = CpuBudget(cores=2)
    held, peak, lock = [0], [0], threading.Lock()

    def step(cores: int) -> None:
        with budget.compute(cores):
            with lock:
                held[0] += min(cores, 2)
                peak[0] = max(peak[0], held[0])
                assert held[0] <= 2
            time.sleep(0.02)
            with lock:
                held[0] -= min(cores, 2)

    threads = [threading.Thread(target=step, args=(c,)) for c in (1, 2, 1, 1, 3, 1, 2, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2 and held[0] == 0 and budget.free == 2


def test_one_core_steps_run_side_by_side():
    budget = CpuBudget(cores=2)
    both_in = threading.Barrier(2, timeout=5)

    def step() -> None:
        with budget.compute(1):
            both_in.wait()  # times out (BrokenBarrierError) if the second step cannot enter

    threads = [threading.Thread(target=step) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not both_in.broken


def _wait_until(condition, seconds: float = 10.0) -> None:
    """Block until `condition()` holds (a state the test waits for, not a time it guesses)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the expected state was never reached"
        time.sleep(0.001)


class _Steps:
    """Steps of named threads queued one after the other behind a core the test holds."""

    def __init__(self, budget: CpuBudget):
        self.budget = budget
        self.order: list[str] = []
        self.threads: list[threading.Thread] = []

    def queue(self, name: str, cores: int = 1, latency: Latency | None = None, thread_class: Latency = "bulk") -> None:
        """`latency`: the step's class as given to `compute`; `thread_class`: the class its thread works for."""

        def step() -> None:
            with latency_class(thread_class), self.budget.compute(cores, latency=latency):
                self.order.append(name)

        waiting = self.budget.waiting
        thread = threading.Thread(target=step)
        thread.start()
        self.threads.append(thread)
        _wait_until(lambda: self.budget.waiting == waiting + 1)  # it waits now, behind those before it

    def join(self) -> list[str]:
        for thread in self.threads:
            thread.join(10)
        return self.order


def test_waiters_are_served_in_arrival_order():
    """A two-core step waiting for a busy core is not overtaken by one-core steps behind it."""
    budget = CpuBudget(cores=2)
    steps = _Steps(budget)
    with budget.compute(1):
        steps.queue("wide", 2)  # waits: only one core is free
        steps.queue("narrow", 1)  # would fit, but `wide` came first
        assert steps.order == []
    assert steps.join() == ["wide", "narrow"]


def test_an_interactive_step_goes_before_the_bulk_steps_queued_before_it():
    budget = CpuBudget(cores=1)
    steps = _Steps(budget)
    with budget.compute(1):  # the step in progress: not interrupted
        for i in range(3):
            steps.queue(f"window {i}")  # bulk by default, like a file transcription's Whisper calls
        steps.queue("speech", thread_class="interactive")  # as a speech request's thread, set by its queue
        assert steps.order == []
    assert steps.join() == ["speech", "window 0", "window 1", "window 2"]
    assert budget.waits["interactive"].count == 1 and budget.waits["bulk"].count == 4


def test_bulk_is_overtaken_by_at_most_interactive_ahead_steps():
    budget = CpuBudget(cores=1, policy=LatencyPolicy(interactive_ahead=3))
    steps = _Steps(budget)
    with budget.compute(1):
        steps.queue("speech 0", latency="interactive")
        steps.queue("window 0")
        steps.queue("window 1")
        for i in range(1, 8):
            steps.queue(f"speech {i}", latency="interactive")
    assert steps.join() == [
        "speech 0", "speech 1", "speech 2", "window 0",
        "speech 3", "speech 4", "speech 5", "window 1",
        "speech 6", "speech 7",
    ]  # fmt: skip
    assert budget.most_overtaken == 3


def test_without_classes_every_step_is_served_in_arrival_order():
    budget = CpuBudget(cores=1, policy=LatencyPolicy(classes=False, interactive_overcommit=2))
    steps = _Steps(budget)
    with budget.compute(1):
        steps.queue("window 0")
        steps.queue("speech", latency="interactive")
        steps.queue("window 1")
    assert steps.join() == ["window 0", "speech", "window 1"]


def test_an_interactive_step_may_overcommit_beside_running_bulk_steps():
    budget = CpuBudget(cores=2, policy=LatencyPolicy(interactive_overcommit=2))
    steps = _Steps(budget)
    with budget.compute(1), budget.compute(1):  # both cores held by bulk steps
        steps.queue("window")  # bulk: waits for a core
        with budget.compute(2, latency="interactive"):  # does not wait
            assert budget.free == 0 and budget.waiting == 1
            steps.queue("second speech", 2, latency="interactive")  # the overcommit is taken: it waits
        _wait_until(lambda: steps.order == ["second speech"])  # still beside the bulk steps, before `window`
    assert steps.join() == ["second speech", "window"]
    assert budget.free == 2


def test_an_overcommitted_step_takes_no_turn_of_a_bulk_step_that_could_not_start():
    budget = CpuBudget(cores=2, policy=LatencyPolicy(interactive_ahead=1, interactive_overcommit=2))
    steps = _Steps(budget)
    with budget.compute(1), budget.compute(1):
        steps.queue("window")  # waits: bulk steps hold both cores
        for i in range(3):  # each runs at once beyond the budget, and has passed `window` over 0 times
            with budget.compute(2, latency="interactive"):
                steps.order.append(f"speech {i}")
        assert budget.most_overtaken == 0
    assert steps.join() == ["speech 0", "speech 1", "speech 2", "window"]


def test_compute_if_free_never_waits():
    budget = CpuBudget(cores=2)
    with budget.compute_if_free(2) as wide:
        assert wide and budget.free == 0
        with budget.compute_if_free(1) as more:
            assert not more  # nothing free: refused at once, not queued
    assert budget.free == 2
    with budget.compute(1):
        with budget.compute_if_free(2) as wide:
            assert not wide and budget.free == 1
