"""Speech gating: regions from the bundled Silero VAD, packed windows, times mapped back."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from models.options import SPEECH_GATE
from models.speech_windows import SpeechWindow, each_alone, pack, spaced, speech_regions, unheard
from tests.helpers import read_audio

RATE = 16000
SAMPLE = Path(__file__).parent.parent / "fixtures" / "pyannote_sample"


def _rttm_speech() -> list[tuple[float, float]]:
    turns = []
    for line in (SAMPLE / "sample.rttm").read_text().splitlines():
        fields = line.split()
        turns.append((float(fields[3]), float(fields[3]) + float(fields[4])))
    return turns


def test_regions_of_the_real_sample_lie_on_its_labelled_speech():
    audio = read_audio(SAMPLE / "sample.wav")
    regions = speech_regions(audio, SPEECH_GATE)
    turns = _rttm_speech()
    assert regions, "the sample has speech"
    first_speech = min(start for start, _ in turns)
    assert abs(regions[0][0] / RATE - first_speech) < 0.5  # padded by 0.3 s at most
    for start, end in regions:
        assert end <= len(audio)
        # every region overlaps labelled speech
        assert any(s < end / RATE and start / RATE < e for s, e in turns)


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros(8 * RATE, np.float32),
        np.random.default_rng(1).integers(-1, 2, 8 * RATE).astype(np.float32) / 32768,
        np.random.default_rng(2).normal(0, 0.02, 8 * RATE).astype(np.float32),
        np.zeros(0, np.float32),
    ],
    ids=["digital-silence", "dither", "white-noise", "empty"],
)
def test_no_regions_without_speech(audio):
    assert speech_regions(audio, SPEECH_GATE) == []


def test_regions_are_packed_in_order_up_to_thirty_seconds_of_speech():
    regions = [(i * 20 * RATE, i * 20 * RATE + 12 * RATE) for i in range(5)]  # 12 s of speech every 20 s
    windows = list(pack(regions))
    assert [w.regions for w in windows] == [tuple(regions[0:2]), tuple(regions[2:4]), (regions[4],)]
    assert all(w.length <= 30 * RATE for w in windows)
    assert [w.regions for w in each_alone(regions)] == [(r,) for r in regions]


def test_window_times_map_back_around_the_left_out_silence():
    window = SpeechWindow(((1 * RATE, 3 * RATE), (10 * RATE, 12 * RATE)))
    piece = np.arange(20 * RATE, dtype=np.float32)
    joined = window.samples(piece)
    assert len(joined) == 4 * RATE and joined[2 * RATE] == 10 * RATE  # silence left out
    assert window.piece_time(0.5) == 1.5
    assert window.piece_time(2.0) == 10.0  # a start on the joint: the later region
    assert window.piece_time(2.0, is_end=True) == 3.0  # an end on the joint: the earlier region
    assert window.piece_time(3.5) == 11.5
    assert window.piece_time(99.0) == 12.0  # never past the last speech
    assert (window.start, window.end) == (1.0, 12.0)


def test_a_word_across_the_joint_stays_in_the_region_holding_most_of_it():
    window = SpeechWindow(((1 * RATE, 3 * RATE), (10 * RATE, 12 * RATE)))
    assert window.piece_span(1.8, 2.1) == (2.8, 3.0)  # mostly before the joint
    assert window.piece_span(1.9, 2.5) == (10.0, 10.5)  # mostly after it
    assert window.piece_span(0.2, 0.4) == (1.2, 1.4)


def test_a_zero_length_word_on_a_joint_stays_in_one_region():
    window = SpeechWindow(((1 * RATE, 3 * RATE), (10 * RATE, 12 * RATE)))
    assert window.piece_span(2.0, 2.0) == (3.0, 3.0)  # was the whole next region, 10-12 s
    assert window.piece_span(0.5, 0.5) == (1.5, 1.5)


def test_words_are_spaced_in_order_and_given_length():
    """Whisper's alignment gives some words no length: placed, each takes a frame from its
    neighbours where they have one to spare, and no word starts before the one before ends."""
    assert spaced([(1.0, 1.0), (1.0, 1.5)]) == [(1.0, 1.02), (1.02, 1.5)]  # from the next word
    assert spaced([(0.5, 1.0), (1.0, 1.0)]) == [(0.5, 0.98), (0.98, 1.0)]  # the last: from the one before
    assert spaced([(1.0, 1.0), (1.3, 1.4)]) == [(1.0, 1.02), (1.3, 1.4)]  # from the gap after it
    assert spaced([(1.0, 1.2), (1.1, 1.3)]) == [(1.0, 1.2), (1.2, 1.3)]  # never before the previous end
    assert spaced([(2.0, 2.0)]) == [(2.0, 2.0)]  # alone, no room: left as it is
    many = spaced([(0.0, 0.5), (0.5, 0.5), (0.5, 0.5), (0.5, 0.9)])
    assert all(b[0] >= a[1] for a, b in itertools.pairwise(many)) and all(e - s >= 0.0199 for s, e in many)


def test_unheard_finds_speech_with_no_word_in_it():
    second = 16000
    window = SpeechWindow(((0, 5 * second), (6 * second, 11 * second)))
    # words cover 0.2-4.2 s: the rest of the first region (0.8 s) is too short, the second region unheard
    assert unheard(window, [(0.2, 2.0), (2.1, 4.2)]) == [(6 * second, 11 * second)]
    # a gap of 2.5 s inside a region, and a region heard only at its start
    assert unheard(window, [(0.1, 1.0), (3.5, 4.9), (6.0, 8.0)]) == [(1 * second, round(3.5 * second)),
                                                                    (8 * second, 11 * second)]
    assert unheard(window, [(0.0, 5.0), (6.1, 10.5)]) == []
    assert unheard(window, []) == [(0, 5 * second), (6 * second, 11 * second)]
