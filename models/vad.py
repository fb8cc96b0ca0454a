"""Speech timestamps from the bundled Silero VAD, with a bounded memory.

faster-whisper's `get_speech_timestamps` runs Silero's recurrent state over the whole
recording. After a long stretch without speech (digital silence, room tone, quiet noise)
that state holds the probabilities of the next quiet words down: pyannote's telephone
sample has its first "Hello. Hello." (6.7 s) at up to 0.55, but only 0.22 after 30 s of
silence or of noise are put in front, so the words were lost. Here the recording is run
in blocks of `BLOCK_WINDOWS` windows (8 s), each from a fresh state warmed on the
`WARM_WINDOWS` windows (1 s) before it, so what Silero hears depends on the last 9 s at
most, as when a clip is given to it alone. The blocks are also faster than one long run
(10 minutes: 1.5 s against 1.9 s on one core).

From those probabilities, speech is found exactly as faster-whisper's
`get_speech_timestamps` (Silero's own `utils_vad`) finds it, with the same options;
`tests/unit/test_vad.py` checks the two agree on the same probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.types import SAMPLE_RATE

WINDOW = 512  # samples per Silero probability (32 ms)
BLOCK_WINDOWS = 250  # 8 s per fresh state
WARM_WINDOWS = 32  # 1 s heard before each block, not reported


@dataclass(frozen=True)
class VadOptions:
    """What counts as speech (the names and meanings of faster-whisper's `VadOptions`; our own
    dataclass so that importing this module, as the web side does through models/live_audio.py,
    does not load faster-whisper)."""

    threshold: float = 0.5  # a window at or above this probability is speech
    neg_threshold: float | None = None  # below it, silence (default: threshold - 0.15)
    min_speech_duration_ms: int = 0  # shorter speech is dropped
    max_speech_duration_s: float = float("inf")  # longer speech is split at its last pause
    min_silence_duration_ms: int = 2000  # shorter pauses stay inside the speech
    speech_pad_ms: int = 400  # added on both sides of every region


class SpeechProbabilities:
    """Silero's speech probability of each 512-sample window (32 ms at 16 kHz) of a recording
    that arrives in any number of calls: the same probabilities however it is cut.

    Silero's recurrent state is carried from call to call within a block of `BLOCK_WINDOWS`
    windows; each block starts from a fresh state warmed on the `WARM_WINDOWS` windows before
    it. Each window is heard with the last 64 samples of the window before it, as Silero's
    ONNX graph expects. Runs on the calling thread, one ONNX thread.
    """

    CONTEXT = 64  # samples of the previous window heard with each window

    def __init__(self, model: Any = None):
        if model is None:
            from faster_whisper.vad import get_vad_model

            model = get_vad_model()
        self.session = model.session
        self.windows = 0  # windows heard so far
        self._recent = np.zeros((0, WINDOW), np.float32)  # the last WARM_WINDOWS of them
        self._context = np.zeros(self.CONTEXT, np.float32)
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities, shape (n,), of the next `windows`, shape (n, 512) float32."""
        out: list[np.ndarray] = [np.zeros(0, np.float32)]
        done = 0
        while done < len(windows):
            if self.windows and self.windows % BLOCK_WINDOWS == 0:  # a new block: a fresh, warmed state
                self._h, self._c = np.zeros_like(self._h), np.zeros_like(self._c)
                self._context = np.zeros(self.CONTEXT, np.float32)
                self._run(self._recent)
            take = min(len(windows) - done, BLOCK_WINDOWS - self.windows % BLOCK_WINDOWS)
            chunk = windows[done : done + take]
            out.append(self._run(chunk))
            self._recent = np.concatenate([self._recent, chunk])[-WARM_WINDOWS:]
            self.windows += take
            done += take
        return np.concatenate(out)

    def _run(self, windows: np.ndarray) -> np.ndarray:
        if len(windows) == 0:
            return np.zeros(0, np.float32)
        context = np.concatenate([self._context[None], windows[:-1, -self.CONTEXT :]])
        batch = np.concatenate([context, windows], axis=1)
        out, self._h, self._c = self.session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = windows[-1, -self.CONTEXT :].copy()
        return np.asarray(out, np.float32).reshape(-1)


def speech_probabilities(samples: np.ndarray, model: Any = None) -> np.ndarray:
    """Silero's speech probability of every 512-sample window of `samples` (16 kHz mono float32),
    the last one padded with zeros: shape (ceil(len / 512),)."""
    padded = np.pad(np.asarray(samples, np.float32), (0, (-len(samples)) % WINDOW))
    return SpeechProbabilities(model)(padded.reshape(-1, WINDOW))


def speech_timestamps(samples: np.ndarray, options: VadOptions, model: Any = None) -> list[tuple[int, int]]:
    """Sample ranges (start, end) of speech in `samples`, in order, none empty, none past the end."""
    if len(samples) == 0:
        return []
    found = timestamps_from_probabilities(speech_probabilities(samples, model), options, len(samples))
    return [(start, min(end, len(samples))) for start, end in found if min(end, len(samples)) > start]


def timestamps_from_probabilities(probabilities: np.ndarray, options: VadOptions, length: int) -> list[tuple[int, int]]:
    """Speech regions of a recording of `length` samples from its window probabilities.

    The hysteresis, the split of over-long speech at its last pause and the padding of
    faster-whisper's `get_speech_timestamps` (from Silero's `utils_vad`), unchanged.
    """
    threshold = options.threshold
    negative = options.neg_threshold if options.neg_threshold is not None else max(threshold - 0.15, 0.01)
    min_speech = SAMPLE_RATE * options.min_speech_duration_ms / 1000
    pad = SAMPLE_RATE * options.speech_pad_ms / 1000
    max_speech = SAMPLE_RATE * options.max_speech_duration_s - WINDOW - 2 * pad
    min_silence = SAMPLE_RATE * options.min_silence_duration_ms / 1000
    min_silence_at_max = SAMPLE_RATE * 98 / 1000

    speeches: list[list[int]] = []
    start: int | None = None  # of the speech in progress
    temp_end = prev_end = next_start = 0
    for i, probability in enumerate(probabilities):
        here = WINDOW * i
        if probability >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = here
        if probability >= threshold and start is None:
            start = here
            continue
        if start is not None and here - start > max_speech:
            if prev_end:  # cut at the last pause; this window is then read as below
                speeches.append([start, prev_end])
                # the pause reached silence and is still not speech: wait for the next onset
                start = None if next_start < prev_end else next_start
                prev_end = next_start = temp_end = 0
            else:
                speeches.append([start, here])
                start = None
                prev_end = next_start = temp_end = 0
                continue
        if probability < negative and start is not None:
            if not temp_end:
                temp_end = here
            if here - temp_end > min_silence_at_max:
                prev_end = temp_end
            if here - temp_end < min_silence:
                continue
            if temp_end - start > min_speech:
                speeches.append([start, temp_end])
            start = None
            prev_end = next_start = temp_end = 0
    if start is not None and length - start > min_speech:
        speeches.append([start, length])

    for i, speech in enumerate(speeches):
        if i == 0:
            speech[0] = int(max(0, speech[0] - pad))
        if i != len(speeches) - 1:
            silence = speeches[i + 1][0] - speech[1]
            if silence < 2 * pad:
                speech[1] += int(silence // 2)
                speeches[i + 1][0] = int(max(0, speeches[i + 1][0] - silence // 2))
            else:
                speech[1] = int(min(length, speech[1] + pad))
                speeches[i + 1][0] = int(max(0, speeches[i + 1][0] - pad))
        else:
            speech[1] = int(min(length, speech[1] + pad))
    return [(int(s), int(e)) for s, e in speeches]
