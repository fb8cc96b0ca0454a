"""models/noise.py: the filters take away hum and steady noise, leave speech alone, and ignore chunk edges."""

from __future__ import annotations

import numpy as np
import pytest

from models.noise import HOP, NoiseReducer
from models.types import SAMPLE_RATE
from tests.helpers import read_audio


def db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(samples, dtype=np.float64)) + 1e-20))


@pytest.fixture(scope="module")
def speech(fixture_audio) -> np.ndarray:
    """A sentence between two seconds of silence (16 kHz)."""
    gap = np.zeros(SAMPLE_RATE, dtype=np.float32)
    return np.concatenate([gap, gap, read_audio(fixture_audio("en_fox.flac")), gap, gap])


def run(kind: str, audio: np.ndarray, chunk: int) -> np.ndarray:
    reducer = NoiseReducer(kind)  # type: ignore[arg-type]
    return np.concatenate([reducer.process(audio[i : i + chunk]) for i in range(0, len(audio), chunk)])


@pytest.mark.parametrize("kind", ["near_field", "far_field"])
def test_chunking_does_not_change_the_output(speech, kind):
    whole = run(kind, speech, len(speech))
    live = run(kind, speech, 1600)
    odd = run(kind, speech, 999)
    n = min(len(whole), len(live), len(odd))
    assert n >= len(speech) - HOP * 2
    assert np.max(np.abs(whole[:n] - live[:n])) < 1e-5 and np.max(np.abs(whole[:n] - odd[:n])) < 1e-5


@pytest.mark.parametrize("kind", ["near_field", "far_field"])
def test_mains_hum_is_removed_and_speech_kept(speech, kind):
    t = np.arange(len(speech)) / SAMPLE_RATE
    hum = (0.05 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
    out = run(kind, speech + hum, 1600)
    pause = slice(-SAMPLE_RATE, None)  # the last second: hum alone
    assert db(out[pause]) < db(hum[pause]) - 15
    voiced = slice(2 * SAMPLE_RATE + 8000, 2 * SAMPLE_RATE + 40000)
    assert abs(db(out[voiced]) - db(speech[voiced])) < 1.0


def test_far_field_lowers_steady_noise_and_keeps_speech(speech):
    noise = (np.random.default_rng(0).standard_normal(len(speech)) * 0.01).astype(np.float32)
    out = run("far_field", speech + noise, 1600)
    pause = slice(-SAMPLE_RATE, None)
    assert db(out[pause]) < db(noise[pause]) - 8  # hiss alone, after the filter has learnt it
    near = run("near_field", speech + noise, 1600)
    assert db(near[pause]) > db(noise[pause]) - 1  # a high-pass leaves broadband noise as it is
    voiced = slice(2 * SAMPLE_RATE + 8000, 2 * SAMPLE_RATE + 40000)
    assert abs(db(out[voiced]) - db(speech[voiced])) < 1.0
