"""The Whisper worker's decoding flow: only speech reaches the model, windows side by side, early stop."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from models.compute import CpuBudget
from models.errors import Cancelled
from models.options import TranscribeOptions
from models.whisper import WhisperSource, WhisperWorker
from tests.helpers import read_audio, word_error_rate

FIXTURES = Path(__file__).parent.parent / "fixtures"
RATE = 16000


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    source = WhisperSource(embedded="whisper-tiny.en", max_batch=2)
    worker = WhisperWorker("tiny.en", source, CpuBudget(), tmp_path_factory.mktemp("c"))
    worker.load()
    return worker


@pytest.fixture(scope="module")
def long_recording() -> np.ndarray:
    """About 3.5 minutes: the real sample and the story, three times, with pauses (about 8 windows)."""
    pause = np.zeros(2 * RATE, np.float32)
    unit = [
        read_audio(FIXTURES / "pyannote_sample" / "sample.wav"),
        pause,
        read_audio(FIXTURES / "en_story.flac"),
        pause,
    ]
    return np.concatenate(unit * 3)


def test_silence_never_reaches_the_model(tiny):
    before = tiny.batcher.calls
    transcript = tiny.transcribe(np.zeros(20 * RATE, np.float32), TranscribeOptions())
    assert transcript.text == "" and transcript.segments == ()
    assert transcript.duration == 20.0
    assert tiny.batcher.calls == before  # no decoding call at all


def test_windows_of_one_request_come_back_in_order_and_inside_the_audio(tiny, long_recording):
    seen = []
    transcript = tiny.transcribe(long_recording, TranscribeOptions(), on_segment=seen.append)
    assert list(transcript.segments) == seen
    assert [s.id for s in seen] == list(range(len(seen)))
    starts = [s.start for s in seen]
    assert starts == sorted(starts)
    assert all(s.start < s.end <= transcript.duration for s in seen)
    # each copy of the real sample is heard (the copies are decoded independently)
    assert transcript.text.lower().count("new jersey") >= 3


def test_a_stopped_transcription_makes_few_model_calls_after_the_stop(tiny, long_recording):
    before = tiny.batcher.calls
    tiny.transcribe(long_recording, TranscribeOptions(beam_size=1))
    whole = tiny.batcher.calls - before
    assert whole >= 6  # one decoding call or more per window

    cancel = threading.Event()
    before = tiny.batcher.calls
    cancelled = tiny.cancelled
    with pytest.raises(Cancelled):
        tiny.transcribe(
            long_recording, TranscribeOptions(beam_size=1), on_segment=lambda _: cancel.set(), cancel=cancel
        )
    made = tiny.batcher.calls - before
    # the first window's segment stops everything: at most the windows already in flight finish their call
    assert made <= whole // 2, (made, whole)
    assert tiny.cancelled == cancelled + 1


def test_speech_after_a_long_quiet_stretch_is_stamped_where_it_is_spoken(tiny):
    fox = read_audio(FIXTURES / "en_fox.flac")
    rng = np.random.default_rng(3)
    brown = np.cumsum(rng.normal(0, 1, 62 * RATE))
    brown = (0.002 * (brown - np.convolve(brown, np.ones(400) / 400, "same")) / np.abs(brown).max()).astype(np.float32)
    audio = np.concatenate([fox, brown, fox])
    second = (len(fox) + len(brown)) / RATE
    transcript = tiny.transcribe(audio, TranscribeOptions())
    quiet = [s for s in transcript.segments if s.end > len(fox) / RATE + 0.5 and s.start < second - 0.5]
    assert quiet == [], [(s.start, s.end, s.text) for s in quiet]
    late = [s for s in transcript.segments if s.start >= second - 0.5]
    assert late and late[0].start >= second - 0.5
    reference = "the quick brown fox jumps over the lazy dog speech recognition works on my own computer"
    assert word_error_rate(reference, " ".join(s.text for s in late)) < 0.3


def test_the_windows_of_a_request_compute_in_its_latency_class(tiny, long_recording):
    from models.compute import latency_class

    waits = tiny.budget.waits
    before = {name: w.count for name, w in waits.items()}
    with latency_class("interactive"):
        tiny.transcribe(long_recording[: 90 * RATE], TranscribeOptions(beam_size=1))
    assert waits["interactive"].count - before["interactive"] >= 3  # VAD and the windows' model calls
    assert waits["bulk"].count == before["bulk"]


def test_a_window_cut_inside_speech_is_decoded_once(tiny):
    """The real sample runs straight into the story, so the speech is cut into windows inside a
    sentence; Whisper ends the first window's decode with a timestamp past its audio. Nothing is
    left to decode there: one generate call per window, and the words at the cut are kept."""
    from models.options import SPEECH_GATE
    from models.speech_windows import pack, speech_regions

    audio = np.concatenate(
        [read_audio(FIXTURES / "pyannote_sample" / "sample.wav"), read_audio(FIXTURES / "en_story.flac")]
    )
    windows = list(pack(speech_regions(audio, SPEECH_GATE)))
    assert len(windows) >= 2 and windows[0].end - windows[0].start > 25  # the first one is cut in speech
    before = tiny.batcher.calls
    transcript = tiny.transcribe(audio, TranscribeOptions())
    assert tiny.batcher.calls - before == len(windows)
    assert "last spring" in transcript.text.lower() and "new jersey" in transcript.text.lower()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    worker = WhisperWorker("base", WhisperSource(embedded="whisper-base"), CpuBudget(), tmp_path_factory.mktemp("b"))
    worker.load()
    return worker


@pytest.mark.parametrize(("clip", "times", "language", "word", "lead"), [("en_weather", 3, None, "rain", 0.0),
                                                                         ("de_morning", 5, "de", "morgen", 0.0),
                                                                         ("de_morning", 3, "de", "morgen", 0.5)])
def test_a_sentence_said_again_is_heard_every_time(base, clip, times, language, word, lead):
    """Whisper base writes a sentence said again with pauses once for the whole window, then a
    final timestamp ("nothing more"): the speech where no word was heard is decoded on its own,
    and what that decode leaves unheard again in turn (German three times: a second new user's case)."""
    said = read_audio(FIXTURES / f"{clip}.flac")
    loud = np.flatnonzero(np.abs(said) > 0.01)
    said = said[loud[0] : loud[-1] + 1]  # from its first sound to its last: only the 1 s pauses between
    audio = np.concatenate([np.zeros(int(lead * RATE), np.float32)] + [said, np.zeros(RATE, np.float32)] * times)
    transcript = base.transcribe(audio, TranscribeOptions(language=language))
    assert transcript.text.lower().count(word) == times, transcript.text
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and all(s.end <= transcript.duration for s in transcript.segments)
