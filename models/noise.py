"""Noise reduction of live input audio, before turn detection and the model (OpenAI's `noise_reduction`).

Two filters, both streaming (state carried from chunk to chunk, so chunk edges leave no mark)
and built on scipy:

- `near_field` (a headset or a phone held close): a 4th-order Butterworth high-pass at 80 Hz.
  A close microphone picks up the speaker loud and clear; what it adds is low-frequency
  rumble, handling noise, mains hum and DC, all below the voice's fundamental.
- `far_field` (a laptop or room microphone): the same high-pass at 100 Hz, then spectral
  subtraction against a tracked noise floor. Frames of 32 ms (hop 16 ms, square-root Hann
  windows, overlap-add); the noise power of each frequency bin follows the bin's minima
  (falling fast, rising 0.5 dB a second, so speech, which comes and goes, does not become
  the floor); each bin is scaled by `max(1 - 2 * noise / power, 0.15)`, smoothed over two
  frames. It delays the audio by 16 ms. Stationary noise (fans, hiss, air conditioning)
  drops by up to 16 dB; speech, well above the floor, passes nearly untouched.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from models.types import SAMPLE_RATE

NoiseReductionType = Literal["near_field", "far_field"]

FRAME = 512
HOP = FRAME // 2
OVERSUBTRACT = 2.0
GAIN_FLOOR = 0.15
FLOOR_FALL = 0.8  # a bin below its floor pulls the floor this far toward itself per frame
FLOOR_RISE = 10 ** (0.5 / 10 * HOP / SAMPLE_RATE)  # 0.5 dB a second, per frame
SMOOTHING = 0.7  # of each bin's power over frames, before its minima are tracked
MINIMUM_BIAS = 2.0  # the mean noise power over the minima of its smoothed power
EPSILON = 1e-10


class NoiseReducer:
    """One session's filter: `process` float32 16 kHz chunks, in order."""

    def __init__(self, kind: NoiseReductionType):
        from scipy.signal import butter, get_window, sosfilt_zi

        self.kind = kind
        cutoff = 80 if kind == "near_field" else 100
        self._sos = butter(4, cutoff, btype="highpass", fs=SAMPLE_RATE, output="sos")
        self._zi = sosfilt_zi(self._sos) * 0.0
        self._spectral = kind == "far_field"
        self._window = np.sqrt(get_window("hann", FRAME, fftbins=True)).astype(np.float32)
        self._pending = np.zeros(FRAME - HOP, dtype=np.float32)  # input not yet a whole frame (primed)
        self._overlap = np.zeros(FRAME - HOP, dtype=np.float32)  # output still to be added to
        self._floor: np.ndarray | None = None
        self._smoothed: np.ndarray | None = None
        self._gain = np.ones(FRAME // 2 + 1, dtype=np.float32)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """The filtered chunk: as long as `samples` for near_field; for far_field whole hops (16 ms) of it."""
        from scipy.signal import sosfilt

        if not len(samples):
            return samples
        out, self._zi = sosfilt(self._sos, samples, zi=self._zi)
        filtered: np.ndarray = np.asarray(out, dtype=np.float32)
        if not self._spectral:
            return filtered
        return self._subtract(filtered)

    def _subtract(self, samples: np.ndarray) -> np.ndarray:
        audio = np.concatenate([self._pending, samples])
        frames = (len(audio) - (FRAME - HOP)) // HOP
        out = np.zeros(frames * HOP, dtype=np.float32)
        for i in range(frames):
            frame = audio[i * HOP : i * HOP + FRAME] * self._window
            spectrum = np.fft.rfft(frame)
            power = spectrum.real**2 + spectrum.imag**2 + EPSILON
            self._smoothed = power if self._smoothed is None else SMOOTHING * self._smoothed + (1 - SMOOTHING) * power
            self._track(self._smoothed)
            assert self._floor is not None
            gain = np.maximum(1.0 - OVERSUBTRACT * MINIMUM_BIAS * self._floor / self._smoothed, GAIN_FLOOR)
            self._gain = (0.5 * self._gain + 0.5 * gain).astype(np.float32)
            frame_out = np.fft.irfft(spectrum * self._gain, FRAME).astype(np.float32) * self._window
            frame_out[: FRAME - HOP] += self._overlap
            out[i * HOP : (i + 1) * HOP] = frame_out[:HOP]
            self._overlap = frame_out[HOP:]
        self._pending = audio[frames * HOP :].copy()
        return out

    def _track(self, power: np.ndarray) -> None:
        if self._floor is None:
            self._floor = power.copy()
            return
        below = power < self._floor
        self._floor = np.where(below, FLOOR_FALL * self._floor + (1 - FLOOR_FALL) * power, self._floor * FLOOR_RISE)
