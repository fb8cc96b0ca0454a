"""Speech timestamps with a bounded memory (models/vad.py), on a real recording."""

from __future__ import annotations

import numpy as np
import pytest
from faster_whisper.vad import VadOptions as FasterWhisperVadOptions
from faster_whisper.vad import get_speech_timestamps, get_vad_model

from models.vad import VadOptions, speech_timestamps, timestamps_from_probabilities
from samples.realaudio import pyannote_sample

HELLO = 6.69  # the first words of pyannote's sample, per its RTTM
OPTIONS = [
    VadOptions(threshold=0.5, min_silence_duration_ms=1000, speech_pad_ms=300, min_speech_duration_ms=250),
    VadOptions(threshold=0.5, min_silence_duration_ms=500, speech_pad_ms=30, max_speech_duration_s=4.0),
    VadOptions(threshold=0.3, neg_threshold=0.2, min_silence_duration_ms=100, speech_pad_ms=200),
]


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return pyannote_sample().samples


@pytest.mark.parametrize("options", OPTIONS)
def test_the_same_regions_as_faster_whisper_from_the_same_probabilities(sample, options):
    theirs = get_speech_timestamps(sample, FasterWhisperVadOptions(**vars(options)), 16000)
    padded = np.pad(sample, (0, 512 - len(sample) % 512))  # as faster-whisper pads
    probabilities = np.asarray(get_vad_model()(padded)).reshape(-1)
    ours = timestamps_from_probabilities(probabilities, options, len(sample))
    assert ours == [(c["start"], c["end"]) for c in theirs]
    assert ours and ours[0][0] / 16000 < HELLO + 0.2
    assert all(e - s <= options.max_speech_duration_s * 16000 for s, e in ours)


@pytest.mark.parametrize("kind", ["zeros", "noise"])
def test_the_first_words_are_found_after_a_long_stretch_without_speech(sample, kind):
    lead = 30 * 16000
    before = np.zeros(lead, np.float32) if kind == "zeros" else np.random.default_rng(0).normal(0, 0.002, lead)
    audio = np.concatenate([before.astype(np.float32), sample])
    options = OPTIONS[0]
    alone = speech_timestamps(sample, options)
    led = [(s - lead, e - lead) for s, e in speech_timestamps(audio, options)]
    assert alone[0][0] / 16000 < HELLO < alone[0][1] / 16000
    # the same first region, wherever the recording starts (to a window: 30 s is not a whole number of them)
    assert abs(led[0][0] - alone[0][0]) <= 512 and abs(led[0][1] - alone[0][1]) <= 512
    # faster-whisper's one long run loses the first words there (the fault this module mends)
    one_run = get_speech_timestamps(audio, FasterWhisperVadOptions(**vars(options)), 16000)
    assert one_run[0]["start"] / 16000 - 30 > HELLO


def test_no_speech_in_silence_or_noise():
    rng = np.random.default_rng(1)
    for audio in (np.zeros(20 * 16000, np.float32), rng.normal(0, 0.01, 20 * 16000).astype(np.float32)):
        assert speech_timestamps(audio, OPTIONS[0]) == []
    assert speech_timestamps(np.zeros(0, np.float32), OPTIONS[0]) == []
