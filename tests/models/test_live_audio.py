"""models/live_audio.py: wire formats decoded chunk by chunk, and server VAD turns on real speech."""

from __future__ import annotations

import numpy as np
import pytest

from models.live_audio import (
    FRAME,
    IdleTimeout,
    LiveDecoder,
    PauseCandidate,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
    sounds_finished,
)
from models.options import VadParameters
from models.types import SAMPLE_RATE
from models.vad import speech_probabilities
from tests.helpers import read_audio

VAD = VadParameters(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def two_turns(fixture_audio) -> np.ndarray:
    """16 kHz: 1 s of silence, a sentence, 2 s of silence, another sentence, 1 s of silence."""
    weather = read_audio(fixture_audio("en_weather.flac"))
    fox = read_audio(fixture_audio("en_fox.flac"))
    gap = np.zeros(SAMPLE_RATE, dtype=np.float32)
    return np.concatenate([gap, weather, gap, gap, fox, gap])


def test_pcm16_decoded_in_odd_chunks_equals_the_whole(fixture_audio):
    audio = pcm16(read_audio(fixture_audio("en_fox.flac"), 24000))
    whole = LiveDecoder("audio/pcm").decode(audio)
    decoder = LiveDecoder("audio/pcm")
    pieces = [decoder.decode(audio[i : i + 4801]) for i in range(0, len(audio), 4801)]  # odd: splits samples
    chunked = np.concatenate(pieces)
    assert abs(len(whole) - len(audio) // 2 * 2 // 3) < 64  # 24 kHz -> 16 kHz, less the resampler's delay
    n = min(len(whole), len(chunked))
    assert np.max(np.abs(whole[:n] - chunked[:n])) < 1e-4


def turns(detector: TurnDetector, audio: np.ndarray, chunk: int) -> list:
    events = []
    for start in range(0, len(audio), chunk):
        events += detector.feed(audio[start : start + chunk])
    return events


def test_two_sentences_are_two_turns_whatever_the_chunking(fixture_audio):
    audio = two_turns(fixture_audio)
    at_once = turns(TurnDetector(VAD, max_turn_samples=60 * SAMPLE_RATE), audio, len(audio))
    live = turns(TurnDetector(VAD, max_turn_samples=60 * SAMPLE_RATE), audio, 1600)  # 100 ms appends
    odd = turns(TurnDetector(VAD, max_turn_samples=60 * SAMPLE_RATE), audio, 999)
    assert at_once == live == odd
    assert [type(e) for e in live] == [SpeechStarted, SpeechStopped, SpeechStarted, SpeechStopped]
    first_start, first_stop, second_start, second_stop = live
    # speech starts after the leading second, less the prefix padding; a stop comes with its turn's start
    assert 0.5 * SAMPLE_RATE <= first_start.sample <= 1.5 * SAMPLE_RATE
    assert first_stop.start == first_start.sample and second_stop.start == second_start.sample
    assert first_stop.sample < second_start.sample < second_stop.sample <= len(audio)
    assert all(e.sample % FRAME == 0 or isinstance(e, SpeechStarted) for e in live)


def test_silence_is_no_turn():
    detector = TurnDetector(VAD, max_turn_samples=60 * SAMPLE_RATE)
    assert detector.feed(np.zeros(5 * SAMPLE_RATE, dtype=np.float32)) == []
    assert not detector.speaking


@pytest.mark.parametrize("limit_s", [1.0, 2.5])
def test_a_long_turn_is_cut_at_the_limit(fixture_audio, limit_s):
    speech = read_audio(fixture_audio("en_story.flac"))
    detector = TurnDetector(VAD, max_turn_samples=int(limit_s * SAMPLE_RATE))
    events = turns(detector, speech, 1600)
    stops = [e for e in events if isinstance(e, SpeechStopped)]
    assert stops, "speech longer than the limit is cut"
    assert all(stop.sample - stop.start < limit_s * SAMPLE_RATE + FRAME for stop in stops)  # cut at a frame


def test_idle_timeout_counts_silence_from_the_last_turn(fixture_audio):
    """server_vad's idle_timeout_ms: every 2 s without speech, on audio time."""
    audio = np.concatenate([np.zeros(5 * SAMPLE_RATE, np.float32), read_audio(fixture_audio("en_fox.flac")),
                            np.zeros(3 * SAMPLE_RATE, np.float32)])  # fmt: skip
    detector = TurnDetector(VAD, max_turn_samples=60 * SAMPLE_RATE, idle_timeout_ms=2000)
    events = turns(detector, audio, 1600)
    kinds = [type(e) for e in events]
    assert kinds == [IdleTimeout, IdleTimeout, SpeechStarted, SpeechStopped, IdleTimeout], kinds
    first, second, _, stop, third = events
    assert (first.start, second.start) == (0, first.sample)
    for timeout in (first, second):
        assert 2 * SAMPLE_RATE <= timeout.sample - timeout.start < 2 * SAMPLE_RATE + FRAME
    assert third.start == stop.sample and third.sample - third.start < 2 * SAMPLE_RATE + FRAME


def test_semantic_pauses_wait_for_a_decision(fixture_audio):
    """At a short pause the detector stops and asks; yes ends the turn there, no waits for the long pause."""
    audio = np.concatenate([two_turns(fixture_audio), np.zeros(4 * SAMPLE_RATE, np.float32)])  # + 5 s of silence
    semantic = VadParameters(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=4000)

    def run(answer: bool) -> list:
        detector = TurnDetector(semantic, max_turn_samples=60 * SAMPLE_RATE, pause_check_ms=500)
        events, asked = [], []
        for start in range(0, len(audio), 1600):
            new = detector.feed(audio[start : start + 1600])
            while new and isinstance(new[-1], PauseCandidate):
                asked.append(new[-1])
                events += new
                new = detector.decide(answer)
            events += new
        return [e for e in events if not isinstance(e, PauseCandidate)], asked

    finished, asked = run(True)
    assert [type(e) for e in finished] == [SpeechStarted, SpeechStopped, SpeechStarted, SpeechStopped]
    assert finished[1].sample == asked[0].sample  # the turn ended where it paused
    assert asked[0].sample - asked[0].start > SAMPLE_RATE  # after the first sentence, not at a breath in it
    unfinished, _ = run(False)  # the 2 s gap is shorter than the long pause: one turn
    assert [type(e) for e in unfinished] == [SpeechStarted, SpeechStopped]
    assert unfinished[1].sample >= finished[3].sample - FRAME


@pytest.mark.parametrize(
    "text,finished",
    [
        ("Today the weather is sunny and warm.", True),
        ("Is it going to rain?", True),
        ("I would like to order a large pizza with.", False),
        ("I would like to order a large pizza with", False),
        ("and then", False),
        ("", False),
    ],
)
def test_sounds_finished(text, finished):
    assert sounds_finished(text) is finished


@pytest.mark.parametrize("chunk", [512 * 7 + 100, 4800, 16000 * 3])
def test_live_probabilities_are_the_file_paths_whatever_the_chunking(chunk):
    """The live detector hears what the file path's gate hears (models/vad.py: fresh state every
    8 s, warmed on the second before), so a long silence before a quiet word misses it in neither."""
    from samples.realaudio import pyannote_sample

    sample = pyannote_sample().samples
    audio = np.concatenate([np.zeros(30 * 16000, np.float32), sample])
    audio = audio[: len(audio) - len(audio) % 512]
    detector = TurnDetector(VadParameters(), max_turn_samples=10**9)
    probabilities = []
    pending = np.zeros(0, np.float32)
    for start in range(0, len(audio), chunk):
        pending = np.concatenate([pending, audio[start : start + chunk]])
        whole = len(pending) - len(pending) % 512
        if whole:
            probabilities.append(detector._probabilities(pending[:whole].reshape(-1, 512)))
            pending = pending[whole:]
    live = np.concatenate(probabilities)
    assert np.allclose(live, speech_probabilities(audio), atol=1e-4)
    hello = slice(int(36.69 * 16000 / 512), int(37.7 * 16000 / 512))  # "Hello." after 30 s of silence
    assert live[hello].max() >= 0.5
