"""Audio shaping of the Piper worker: tempo change, speed plan, resampling, closing up cuts."""

from __future__ import annotations

import numpy as np
import pytest

from models.stretch import change_tempo, close_up, resample, speed_plan

RATE = 22_050


def sine(freq: float, seconds: float, rate: int = RATE) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def dominant_frequency(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.fft.rfftfreq(audio.size, 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("rate", [1.5, 2.0, 0.5])
def test_change_tempo_changes_length_not_pitch(rate):
    audio = sine(220.0, 2.0)
    out = change_tempo(audio, rate, RATE)
    assert out.size == round(audio.size / rate)
    middle = out[out.size // 4 : 3 * out.size // 4]
    assert dominant_frequency(middle, RATE) == pytest.approx(220.0, abs=3.0)
    # Overlap-add of well-aligned frames keeps the level (no comb-filter dips).
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(np.sqrt(np.mean(audio**2)), rel=0.1)


def test_change_tempo_at_rate_one_is_identity():
    audio = sine(300.0, 0.3)
    assert change_tempo(audio, 1.0, RATE) is audio


@pytest.mark.parametrize("speed", [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
def test_speed_plan_reaches_the_speed(speed):
    scalable = 0.75
    factor, tempo = speed_plan(speed, scalable)
    duration = (scalable * factor + 1 - scalable) / tempo
    assert duration == pytest.approx(1 / speed)
    assert factor >= 0.3
    assert tempo >= 1.0 - 1e-9


def test_speed_plan_uses_the_length_scale_alone_when_it_can():
    assert speed_plan(1.0, 0.7) == pytest.approx((1.0, 1.0))
    assert speed_plan(0.5, 0.7)[1] == pytest.approx(1.0)
    assert speed_plan(4.0, 0.7)[1] > 1.0


def test_resample_22050_to_24000_keeps_duration_and_pitch():
    out = resample(sine(1000.0, 1.0), RATE, 24_000)
    assert out.size == 24_000
    assert dominant_frequency(out, 24_000) == pytest.approx(1000.0, abs=2.0)
    # Polyphase filtering does not add energy above the original band.
    spectrum = np.abs(np.fft.rfft(out))
    freqs = np.fft.rfftfreq(out.size, 1 / 24_000)
    assert spectrum[freqs > 11_100].max() < 1e-3 * spectrum.max()


def test_close_up_trims_silence_at_the_cut_only():
    silence = np.zeros(RATE // 5, np.float32)
    audio = np.concatenate([silence, sine(200.0, 0.5), silence])
    keep = int(0.03 * RATE)
    end_cut = close_up(audio, RATE, start=False, end=True)
    assert abs(end_cut.size - (silence.size + int(0.5 * RATE) + keep)) <= 3
    both = close_up(audio, RATE, start=True, end=True)
    assert abs(both.size - (int(0.5 * RATE) + 2 * keep)) <= 3
    assert close_up(audio, RATE, start=False, end=False) is audio
