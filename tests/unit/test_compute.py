"""The CPU budget (models/compute.py): steps hold cores, never more than there are, in arrival order."""

from __future__ import annotations

import threading
import time

from models.compute import CpuBudget


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


def test_waiters_are_served_in_arrival_order():
    """A two-core step waiting for a busy core is not overtaken by one-core steps behind it."""
    budget = CpuBudget(cores=2)
    order: list[str] = []
    first = budget.compute(1)
    first.__enter__()

    def step(name: str, cores: int) -> None:
        with budget.compute(cores):
            order.append(name)

    wide = threading.Thread(target=step, args=("wide", 2))
    wide.start()
    time.sleep(0.1)  # `wide` waits: only one core is free
    narrow = threading.Thread(target=step, args=("narrow", 1))
    narrow.start()
    time.sleep(0.1)
    assert order == []  # `narrow` would fit, but `wide` came first
    first.__exit__(None, None, None)
    wide.join(5)
    narrow.join(5)
    assert order == ["wide", "narrow"]


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
