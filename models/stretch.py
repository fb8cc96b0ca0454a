"""Shaping a synthesised piece: speed (length scale, then WSOLA), resampling, closing up cuts.

Tempo change without pitch change: WSOLA (waveform-similarity overlap-add).

Piper's length scale cannot make speech much more than twice as fast: every phoneme lasts
at least one frame, whatever the scale. Speeds beyond that are reached by shortening the
synthesised audio with WSOLA (Verhelst & Roelands, 1993): windowed frames are taken from the
input at `rate` times the output hop, each shifted within a small tolerance to where it best
continues the previous frame, and overlap-added.
"""

from __future__ import annotations

import math

import numpy as np

_MIN_LENGTH_FACTOR = 0.3  # below this, Piper mumbles
_CLOSE_UP_S = 0.03  # silence kept on each side of a cut between two words


def speed_plan(speed: float, scalable: float) -> tuple[float, float]:
    """(length-scale factor, tempo change after synthesis) that make speech `speed` times faster.

    Duration at length-scale factor f is about D * (scalable * f + 1 - scalable). The factor
    does what it can (down to `_MIN_LENGTH_FACTOR`); WSOLA does the rest.
    """
    factor = (1.0 / speed - (1.0 - scalable)) / scalable
    factor = max(factor, _MIN_LENGTH_FACTOR)
    achieved = 1.0 / (scalable * factor + 1.0 - scalable)
    return factor, speed / achieved


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited polyphase resampling (Kaiser-windowed FIR) of one piece of float audio."""
    if rate_in == rate_out or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = math.gcd(rate_in, rate_out)
    resampled: np.ndarray = resample_poly(audio, rate_out // g, rate_in // g)
    return resampled.astype(np.float32)


def close_up(audio: np.ndarray, rate: int, *, start: bool, end: bool, threshold: float = 0.02) -> np.ndarray:
    """Trim silence at the start and/or end of a piece down to `_CLOSE_UP_S`.

    Used where text was cut between two words: Piper pads each piece with silence, which
    would otherwise sound like a pause mid-phrase.
    """
    if not (start or end) or audio.size == 0:
        return audio
    loud = np.flatnonzero(np.abs(audio) > threshold * float(np.max(np.abs(audio))))
    if loud.size == 0:
        return audio
    keep = int(_CLOSE_UP_S * rate)
    first = max(0, loud[0] - keep) if start else 0
    last = min(audio.size, loud[-1] + keep) if end else audio.size
    return audio[first:last]


def change_tempo(audio: np.ndarray, rate: float, sample_rate: int) -> np.ndarray:
    """`audio` played `rate` times faster (rate > 1 shortens), at the same pitch."""
    if abs(rate - 1.0) < 1e-3 or audio.size == 0:
        return audio
    audio = np.asarray(audio, dtype=np.float32)
    frame = max(16, int(0.025 * sample_rate)) // 2 * 2  # 25 ms, even
    hop = frame // 2  # synthesis hop: Hann windows at 50 % overlap sum to one
    tolerance = int(0.008 * sample_rate)
    window = np.hanning(frame + 1)[:-1].astype(np.float32)  # periodic Hann

    out_len = round(audio.size / rate)
    frames = max(1, int(np.ceil(out_len / hop)))
    # Room on both sides for the search and the last frame.
    padded = np.concatenate(
        [np.zeros(tolerance, np.float32), audio, np.zeros(frame + tolerance + int(rate * hop) * 2, np.float32)]
    )
    out = np.zeros(frames * hop + frame, np.float32)

    previous = tolerance  # where the previous frame was taken from, in `padded`
    for k in range(frames):
        nominal = tolerance + round(k * hop * rate)
        if k == 0:
            start = nominal
        else:
            # The natural continuation of the previous frame, and where in the tolerance
            # region around the nominal position the input looks most like it.
            template = padded[previous + hop : previous + hop + frame]
            region = padded[nominal - tolerance : nominal + tolerance + frame]
            scores = np.correlate(region, template, mode="valid")
            start = nominal - tolerance + int(np.argmax(scores))
        out[k * hop : k * hop + frame] += window * padded[start : start + frame]
        previous = start
    return out[:out_len]
