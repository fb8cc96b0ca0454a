import anyio
import pytest

from models.errors import ModelNotFound, QueueFull
from models.registry import ModelRegistry, WorkerEntry, WorkQueue


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
