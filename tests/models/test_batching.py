"""Cross-request batching: concurrent requests share model calls, results stay identical."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from models.batching import Batcher
from models.compute import CpuBudget
from models.options import TranscribeOptions
from models.whisper import WhisperSource, WhisperWorker
from models.whisper_calls import bucket_previous_tokens
from tests.helpers import read_audio

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_lone_call_runs_at_once(monkeypatch):
    """The batcher's clock is stopped: a lone call that ran did not wait out `wait_s` (no wall clock read)."""
    import models.batching

    class Stopped:
        @staticmethod
        def monotonic() -> float:
            return 0.0

    monkeypatch.setattr(models.batching, "time", Stopped)
    batcher = Batcher(CpuBudget(), max_batch=4, wait_s=10.0)
    answers: list[int] = []

    def lone() -> None:
        with batcher.session():
            answers.append(batcher.submit("k", 3, lambda xs: [x * 2 for x in xs]))

    thread = threading.Thread(target=lone, daemon=True)  # a broken batcher waits forever on a stopped clock
    thread.start()
    thread.join(60)  # a bound for a broken test to fail, not a speed
    assert answers == [6], "a lone call waited for company that could never come"
    assert batcher.batches == 1


def test_concurrent_calls_share_a_batch():
    batcher = Batcher(CpuBudget(cores=1), max_batch=8, wait_s=5.0)
    sizes: list[int] = []
    barrier = threading.Barrier(4)

    def run(xs):
        sizes.append(len(xs))
        return [x + 1 for x in xs]

    def request(x: int) -> int:
        with batcher.session():
            barrier.wait()
            return batcher.submit("k", x, run)

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(request, range(4))) == [1, 2, 3, 4]
    assert sizes == [4]


def test_different_keys_are_not_mixed_and_errors_reach_every_caller():
    batcher = Batcher(CpuBudget(), max_batch=8, wait_s=0.05)

    def boom(xs):
        raise ValueError("model failed")

    with batcher.session():
        with pytest.raises(ValueError):
            batcher.submit("a", 1, boom)
        assert batcher.submit("b", 1, lambda xs: xs) == 1


def test_prompt_buckets():
    assert bucket_previous_tokens(list(range(20))) == list(range(20))
    assert bucket_previous_tokens(list(range(100))) == list(range(36, 100))
    assert len(bucket_previous_tokens(list(range(300)))) == 223


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    worker = WhisperWorker(
        "base",
        WhisperSource(embedded="whisper-base", max_batch=4, batch_wait_s=0.5),
        CpuBudget(),
        tmp_path_factory.mktemp("c"),
    )
    worker.load()
    return worker


def test_batched_results_equal_unbatched(base):
    clips = [read_audio(FIXTURES / name) for name in ("en_fox.flac", "en_weather.flac", "de_morning.flac")]
    long_clip = np.concatenate([read_audio(FIXTURES / "en_story.flac"), clips[1]])  # > 30 s: several windows
    inputs = [
        (clips[0], TranscribeOptions()),
        (clips[1], TranscribeOptions(language="en", word_timestamps=True)),
        (clips[2], TranscribeOptions(task="translate")),
        (long_clip, TranscribeOptions()),
    ]
    alone = [base.transcribe(samples, options) for samples, options in inputs]
    batches_before, calls_before = base.batcher.batches, base.batcher.calls
    with ThreadPoolExecutor(len(inputs)) as pool:
        together = list(pool.map(lambda item: base.transcribe(*item), inputs))
    assert base.batcher.calls - calls_before > base.batcher.batches - batches_before, "no call was batched"
    for a, b in zip(alone, together, strict=True):
        assert a.text == b.text
        assert [s.tokens for s in a.segments] == [s.tokens for s in b.segments]
        assert [(w.word, w.start, w.end) for w in a.words] == [(w.word, w.start, w.end) for w in b.words]


def test_vad_chunks_of_one_request_share_batches(base):
    from models.options import VadParameters

    story = read_audio(FIXTURES / "en_story.flac")
    batches, calls = base.batcher.batches, base.batcher.calls
    result = base.transcribe(story, TranscribeOptions(language="en", vad=VadParameters(silence_duration_ms=200)))
    assert "bakery" in result.text.lower() and "bridge" in result.text.lower()
    assert base.batcher.calls - calls > base.batcher.batches - batches, "chunks were decoded one by one"
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)


def test_waiting_calls_are_split_across_free_cores():
    """Four calls and two one-core slots: two batches of two run side by side, not one of four."""
    batcher = Batcher(CpuBudget(cores=2), max_batch=8, wait_s=5.0, cores=1)
    sizes: list[int] = []
    barrier = threading.Barrier(4)
    side_by_side = threading.Barrier(2, timeout=60)  # broken (a failure) unless two batches meet in it

    def run(xs):
        sizes.append(len(xs))
        side_by_side.wait()  # synchronised on the other batch, not on a sleep outlasting its start
        return xs

    def request(x: int) -> int:
        with batcher.session():
            barrier.wait()
            return batcher.submit("k", x, run)

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(request, range(4))) == [0, 1, 2, 3]
    assert sorted(sizes) == [2, 2] and not side_by_side.broken


def test_the_gpu_path_batches_a_requests_windows_with_the_cpu_paths_results(tmp_path):
    """Loaded on CUDA, a worker batches its generate calls through the device batcher (one batched
    call at a time) from encoder outputs brought to host memory. Here the same wiring runs on the
    CPU model: a long request's windows share batched calls and the transcript is the CPU path's."""
    worker = WhisperWorker("tiny.en", WhisperSource(embedded="whisper-tiny.en"), CpuBudget(), tmp_path)
    worker.load()
    audio = np.concatenate(
        [read_audio(FIXTURES / "en_story.flac"), read_audio(FIXTURES / "pyannote_sample" / "sample.wav")] * 2
    )
    options = TranscribeOptions(word_timestamps=True)
    on_cpu = worker.transcribe(audio, options)
    cpu = worker.model.model
    worker.model.model = worker.calls(cpu._inner, cpu._sot, "cuda")  # as `load` wires it on a GPU
    worker.batcher = worker.model.model.batcher
    assert worker.batcher is worker.device_batcher and worker.batcher.budget.cores == 1
    on_device = worker.transcribe(audio, options)
    assert worker.device_batcher.calls > worker.device_batcher.batches, "no call was batched"
    assert on_device.text == on_cpu.text
    assert [(w.word, w.start, w.end) for w in on_device.words] == [(w.word, w.start, w.end) for w in on_cpu.words]
