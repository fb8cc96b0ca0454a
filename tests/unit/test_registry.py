import threading
import time

import anyio
import pytest

from gateway.serving.registry import ModelRegistry, WorkerEntry, WorkQueue
from models.errors import InsufficientMemory, ModelNotFound, ModelUnavailable, QueueFull


class _Worker:
    name = "w"
    loaded = True

    def load(self):
        pass

    def unload(self):
        pass


def test_queue_refuses_beyond_its_bound():
    queue = WorkQueue("m", max_parallel=1, max_queue=1, retry_after_s=5)
    first, second = queue.reserve(), queue.reserve()
    with pytest.raises(QueueFull) as caught:
        queue.reserve()
    assert caught.value.retry_after == 5
    first.release()
    first.release()  # idempotent
    third = queue.reserve()
    second.release(), third.release()
    assert queue.admitted == 0


def test_run_releases_its_place():
    queue = WorkQueue("m", max_parallel=1, max_queue=0)

    async def main():
        assert await queue.run(lambda x: x * 2, 21) == 42
        with pytest.raises(ZeroDivisionError):
            await queue.run(lambda: 1 / 0)

    anyio.run(main)
    assert queue.admitted == 0


def test_resolve_checks_the_kind():
    registry = ModelRegistry()
    registry.add(WorkerEntry(name="base", kind="transcription", worker=_Worker(), queue=WorkQueue("base")))
    registry.alias("whisper-1", "base")
    assert registry.resolve("whisper-1", "transcription").name == "base"
    with pytest.raises(ModelNotFound):
        registry.resolve("whisper-1", "speech")
    with pytest.raises(ModelNotFound):
        registry.resolve("nope", "transcription")
    registry.add(WorkerEntry(name="diarize", kind="diarization", worker=_Worker(), queue=WorkQueue("diarize")))
    assert registry.resolve("diarize", ("transcription", "diarization")).name == "diarize"
    with pytest.raises(ModelNotFound):
        registry.resolve("diarize", "transcription")


class _SizedWorker:
    """A worker of known size; its load can be made to fail (a fault injected on purpose)."""

    def __init__(self, name, size, fail=False):
        self.name = name
        self.size = size
        self.fail = fail
        self.loaded = False

    def load(self):
        if self.fail:
            raise RuntimeError("corrupt weights")
        self.loaded = True

    def unload(self):
        self.loaded = False

    def footprint_estimate(self):
        return self.size


MB = 1024 * 1024


def _registry(budget_mb=0, idle_s=0, **sizes):
    registry = ModelRegistry(memory_budget_bytes=budget_mb * MB, idle_unload_s=idle_s)
    for name, size in sizes.items():
        worker = _SizedWorker(name, size * MB)
        registry.add(WorkerEntry(name=name, kind="transcription", worker=worker, queue=WorkQueue(name, 1, 1)))
    return registry


def test_budget_unloads_the_least_recently_used_idle_model():
    registry = _registry(budget_mb=250, a=100, b=100, c=100)
    a, b, c = (registry.entries[n] for n in "abc")

    async def main():
        await registry.ensure_loaded(a)
        await registry.ensure_loaded(b)
        a.queue.last_active, b.queue.last_active = 2.0, 1.0  # b is the older
        await registry.ensure_loaded(c)

    anyio.run(main)
    assert (a.loaded, b.loaded, c.loaded) == (True, False, True)
    assert b.unloads == {"memory": 1}
    assert registry.used_bytes() <= 250 * MB


def test_budget_never_unloads_busy_or_pinned_models():
    registry = _registry(budget_mb=250, a=100, b=100, c=100)
    a, b, c = (registry.entries[n] for n in "abc")
    a.preload = True

    async def main():
        await registry.ensure_loaded(a)
        ticket = await registry.admit(b)  # b is busy
        with pytest.raises(InsufficientMemory) as caught:
            await registry.ensure_loaded(c)
        assert caught.value.retry_after is not None and "held by" in caught.value.message
        ticket.release()
        await registry.ensure_loaded(c)  # now b is idle and goes

    anyio.run(main)
    assert (a.loaded, b.loaded, c.loaded) == (True, False, True)


def test_a_model_larger_than_the_budget_is_refused_for_good():
    registry = _registry(budget_mb=50, big=100)
    with pytest.raises(InsufficientMemory) as caught:
        anyio.run(registry.ensure_loaded, registry.entries["big"])
    assert caught.value.retry_after is None
    assert "more than the whole memory budget" in caught.value.message


def test_idle_models_are_unloaded_but_pinned_and_busy_ones_stay():
    registry = _registry(idle_s=10, a=1, b=1, c=1)
    a, b, c = (registry.entries[n] for n in "abc")
    a.preload = True

    async def main():
        for entry in (a, b, c):
            await registry.ensure_loaded(entry)
        return await registry.admit(c)

    ticket = anyio.run(main)
    now = max(e.queue.last_active for e in (a, b, c))
    assert registry.unload_idle(now + 5) == []
    assert registry.unload_idle(now + 11) == ["b"]
    assert (a.loaded, b.loaded, c.loaded) == (True, False, True)
    ticket.release()
    assert registry.unload_idle(time.monotonic() + 11) == ["c"]


def test_failed_load_is_recorded_and_admission_released():
    registry = _registry(a=1)
    entry = registry.entries["a"]
    entry.worker.fail = True
    with pytest.raises(ModelUnavailable):
        anyio.run(registry.admit, entry)
    assert entry.load_state == "failed" and "corrupt weights" in entry.error
    assert entry.queue.admitted == 0


def test_cancelled_run_sets_the_event_and_holds_the_slot_until_the_thread_ends():
    queue = WorkQueue("m", max_parallel=1, max_queue=0)
    cancel = threading.Event()
    seen = []

    def work():
        while not cancel.wait(0.01):
            pass
        time.sleep(0.2)  # the step in progress finishes
        seen.append(queue.running)

    async def main():
        with anyio.move_on_after(0.2):
            await queue.run(work, cancel=cancel)
        assert cancel.is_set()
        assert seen == [1]  # the thread had ended before run() gave up its slot

    anyio.run(main)
    assert queue.admitted == 0 and queue.cancelled == 1 and queue.running == 0


def test_a_worker_another_busy_one_calls_is_not_unloaded():
    registry = _registry(idle_s=10, base=1, diarize=1)
    base, diarize = registry.entries["base"], registry.entries["diarize"]
    diarize.uses = ("base",)

    async def main():
        await registry.ensure_loaded(base)
        await registry.ensure_loaded(diarize)
        return await registry.admit(diarize)  # diarize is busy and calls base's worker

    ticket = anyio.run(main)
    later = time.monotonic() + 11
    assert registry.unload_idle(later) == []
    ticket.release()
    assert sorted(registry.unload_idle(later)) == ["base", "diarize"]
