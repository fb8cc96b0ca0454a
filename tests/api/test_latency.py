"""Interactive work first (issue 17): a speech request admitted behind transcription windows
computes before them. Real Piper and Whisper through the OpenAI SDK; the order of the CPU
budget's compute steps is recorded, not wall-clock time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from models.compute import Latency, current_latency
from tests.helpers import sdk


def _wait_until(condition, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the expected state was never reached"
        time.sleep(0.002)


@pytest.mark.parametrize("classes", [True, False], ids=["classes", "first-come-first-served"])
def test_speech_computes_before_the_transcription_windows_queued_before_it(start_server, fixture_audio, classes):
    # one core, no overcommit: every step waits for the one before it, so the order is the policy's alone
    server = start_server(compute={"cores": 1, "latency": {"classes": classes, "interactive_overcommit": 0}})
    budget = server.services.budget
    client = sdk(server)
    audio = fixture_audio("en_fox.flac").read_bytes()
    client.audio.transcriptions.create(model="whisper-1", file=("fox.flac", audio))  # warm: loads, first calls

    granted: list[Latency] = []
    compute = budget.compute

    @contextmanager
    def recorded(cores: int = 1, latency: Latency | None = None) -> Iterator[None]:
        with compute(cores, latency):
            granted.append(latency or current_latency())
            yield

    budget.compute = recorded  # observes the order; the budget itself decides it
    results: dict[str, object] = {}

    def transcribe(i: int) -> None:
        results[f"file {i}"] = client.audio.transcriptions.create(model="whisper-1", file=("fox.flac", audio)).text

    def speak() -> None:
        with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input="Good morning. Your table is ready.", response_format="pcm"
        ) as response:
            results["speech"] = response.read()

    threads = []
    try:
        with compute(1):  # the step in progress, held by the test
            for i, work in enumerate([lambda: transcribe(0), lambda: transcribe(1), lambda: transcribe(2), speak]):
                threads.append(threading.Thread(target=work))
                threads[-1].start()
                _wait_until(lambda n=i + 1: budget.waiting == n)  # its first step waits behind the others
            assert granted == []
        for thread in threads:
            thread.join(300)
    finally:
        budget.compute = compute
    assert len(results["speech"]) > 24_000  # more than half a second of 24 kHz 16-bit audio
    assert all("fox" in str(results[f"file {i}"]).lower() for i in range(3))
    first_speech = granted.index("interactive")
    if classes:
        assert first_speech == 0  # before the three windows that were waiting before it
    else:
        assert first_speech == 3  # first come, first served: behind them
