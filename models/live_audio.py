"""Live audio: the realtime wire formats as a stream of 16 kHz samples, and turns found in it.

`LiveDecoder` turns the bytes of `input_audio_buffer.append` events (pcm16 at 24 kHz, G.711
mu-law or A-law at 8 kHz) into float32 mono 16 kHz, chunk by chunk, with PyAV's codecs and
resampler (state is kept across chunks, so chunk edges leave no clicks).

`TurnDetector` runs the bundled Silero VAD over the samples as they arrive, frame by frame
(512 samples, 32 ms), and says where speech starts and where a turn ends (OpenAI's
`server_vad`: `threshold`, `prefix_padding_ms`, `silence_duration_ms`, `idle_timeout_ms`).
It works on audio time only: audio sent faster than real time gives the same turns.

For `semantic_vad` it stops at each pause of `pause_check_ms` (`PauseCandidate`) and waits
for the caller, who has the turn decoded, to say whether the words sound finished
(`sounds_finished`): yes ends the turn there, no waits for more speech or for the long
silence (`silence_duration_ms`) that ends a turn anyway.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from models.errors import InvalidRequest
from models.options import VadParameters
from models.types import SAMPLE_RATE
from models.vad import SpeechProbabilities

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext

LiveFormat = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]

_CODECS: dict[str, tuple[str, int]] = {
    "audio/pcm": ("pcm_s16le", 24_000),
    "audio/pcmu": ("pcm_mulaw", 8_000),
    "audio/pcma": ("pcm_alaw", 8_000),
}

FRAME = 512
"""Samples of one Silero VAD frame at 16 kHz (32 ms)."""


def bytes_per_second(fmt: LiveFormat) -> int:
    """Bytes of one second of audio in a wire format (pcm16 is 2 bytes a sample)."""
    codec, rate = _CODECS[fmt]
    return rate * (2 if codec == "pcm_s16le" else 1)


class LiveDecoder:
    """Wire bytes of one format -> float32 mono 16 kHz, keeping the resampler's state between chunks."""

    def __init__(self, fmt: LiveFormat):
        import av

        codec, rate = _CODECS[fmt]
        self.format = fmt
        self._codec = cast("AudioCodecContext", av.CodecContext.create(codec, "r"))
        self._codec.sample_rate = rate
        self._codec.layout = "mono"
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self._odd = b""  # half a pcm16 sample left from the last chunk

    def decode(self, data: bytes) -> np.ndarray:
        """The 16 kHz samples of the next chunk (the resampler may hold back a few until the next)."""
        import av

        if self.format == "audio/pcm":
            data, self._odd = self._odd + data, b""
            if len(data) % 2:
                data, self._odd = data[:-1], data[-1:]
        if not data:
            return np.zeros(0, dtype=np.float32)
        try:
            frames = self._codec.decode(av.Packet(data))
        except av.FFmpegError as exc:  # pragma: no cover - raw PCM codecs accept any bytes
            raise InvalidRequest(f"The audio could not be decoded as {self.format}: {exc}", param="audio") from exc
        out = [f.to_ndarray().reshape(-1) for frame in frames for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class SpeechStarted:
    """Speech found: the turn's audio starts at `sample` (prefix padding included), session time."""

    sample: int


@dataclass(frozen=True)
class SpeechStopped:
    """The turn that began at `start` ended at `sample` (session time): after `silence_duration_ms`
    of silence, or cut at the most a turn may last."""

    sample: int
    start: int


@dataclass(frozen=True)
class IdleTimeout:
    """No speech from `start` to `sample` (session time): `idle_timeout_ms` of silence since the last turn."""

    sample: int
    start: int


@dataclass(frozen=True)
class PauseCandidate:
    """Semantic VAD: the turn that began at `start` paused until `sample`; `decide` whether it ended there."""

    sample: int
    start: int


TurnEvent = SpeechStarted | SpeechStopped | IdleTimeout | PauseCandidate


class TurnDetector:
    """Incremental server VAD over 16 kHz samples; `feed` returns the turn events the new audio completes.

    Speech starts at the first frame whose speech probability reaches `threshold`; it stops
    once the probability stayed under `threshold - 0.15` (Silero's hysteresis) for
    `silence_duration_ms`. A turn longer than `max_turn_samples` is cut there. Runs Silero on
    the calling thread (a fraction of a millisecond per frame); the same audio gives the same
    events however it is cut into chunks.
    """

    def __init__(
        self,
        vad: VadParameters,
        max_turn_samples: int,
        model: Any = None,
        *,
        idle_timeout_ms: int | None = None,
        pause_check_ms: int | None = None,
    ):
        self.vad = vad
        self.max_turn_samples = max_turn_samples
        self._probabilities = SpeechProbabilities(model)  # the file path's probabilities (models/vad.py)
        self.idle_samples = idle_timeout_ms * SAMPLE_RATE // 1000 if idle_timeout_ms else None
        self.check_samples = pause_check_ms * SAMPLE_RATE // 1000 if pause_check_ms else None
        self.position = 0  # session samples seen in whole frames
        self.floor = 0  # no turn starts before this sample (the end of the last commit)
        self.quiet_since = 0  # where the silence the idle timeout counts began
        self.speech_start: int | None = None  # set while speech is on
        self._silence_since: int | None = None
        self._checked = False  # semantic VAD: this pause was judged unfinished
        self._queued: deque[float] = deque()  # probabilities of frames not stepped yet (a decision is awaited)
        self.waiting: PauseCandidate | None = None
        self._pending = np.zeros(0, dtype=np.float32)  # less than a frame

    @property
    def speaking(self) -> bool:
        return self.speech_start is not None

    def start_at(self, sample: int) -> None:
        """The detector's first sample is session sample `sample`."""
        self.position = self.floor = self.quiet_since = sample

    def reset(self, floor: int) -> None:
        """Forget speech in progress (the buffer was committed or cleared up to `floor`)."""
        self.speech_start = None
        self._silence_since = None
        self._checked = False
        self.floor = self.quiet_since = max(floor, 0)

    def decide(self, ended: bool) -> list[TurnEvent]:
        """Semantic VAD: whether the turn of the awaited `PauseCandidate` ended; then the events of the
        audio fed meanwhile."""
        candidate, self.waiting = self.waiting, None
        events: list[TurnEvent] = []
        if candidate is not None and ended and self.speech_start is not None:
            start = self.speech_start
            self.reset(candidate.sample)
            events.append(SpeechStopped(candidate.sample, start))
        elif candidate is not None:
            self._checked = True
        return events + self._drain()

    def feed(self, samples: np.ndarray) -> list[TurnEvent]:
        """Add float32 16 kHz samples; the starts and stops they complete, in order."""
        audio = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(audio) - len(audio) % FRAME
        self._pending = audio[whole:].copy()
        if whole == 0:
            return []
        self._queued.extend(float(p) for p in self._probabilities(audio[:whole].reshape(-1, FRAME)))
        return self._drain()

    def _drain(self) -> list[TurnEvent]:
        """Step through the queued frames until they are done or a pause awaits a decision."""
        events: list[TurnEvent] = []
        while self._queued and self.waiting is None:
            events += self._step(self._queued.popleft())
            self.position += FRAME
            if events and isinstance(events[-1], PauseCandidate):
                self.waiting = events[-1]
        return events

    def _step(self, prob: float) -> list[TurnEvent]:
        vad = self.vad
        frame_start, frame_end = self.position, self.position + FRAME
        if self.speech_start is None:
            if prob < vad.threshold:
                if self.idle_samples and frame_end - self.quiet_since >= self.idle_samples:
                    start, self.quiet_since = self.quiet_since, frame_end
                    return [IdleTimeout(frame_end, start)]
                return []
            pad = vad.prefix_padding_ms * SAMPLE_RATE // 1000
            self.speech_start = max(frame_start - pad, self.floor)
            self._silence_since = None
            return [SpeechStarted(self.speech_start)]
        if prob >= vad.threshold:
            self._silence_since = None
            self._checked = False
        elif prob < max(vad.threshold - 0.15, 0.01) and self._silence_since is None:
            self._silence_since = frame_start
        silence = vad.silence_duration_ms * SAMPLE_RATE // 1000
        paused = frame_end - self._silence_since if self._silence_since is not None else 0
        too_long = frame_end - self.speech_start >= self.max_turn_samples
        if self.check_samples and not self._checked and not too_long and self.check_samples <= paused < silence:
            return [PauseCandidate(frame_end, self.speech_start)]
        ended = self._silence_since is not None and paused >= silence
        if ended or too_long:
            start = self.speech_start
            self.reset(frame_end)
            return [SpeechStopped(frame_end, start)]
        return []


_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f]['\"\u201d\u2019)\]]*$")
CONTINUING_WORDS = frozenset(
    """
    a an the and or but so because if when while that which who whose whom to of in on at by for with from
    into onto about as than then my your his her its our their this these those is are was were be been
    am um uh er erm like i we you he she they it not very just also
    """.split()
)
"""Words after which an English sentence is not over, whatever the punctuation Whisper put there."""


def sounds_finished(text: str) -> bool:
    """Whether a turn's text ends a sentence: closing punctuation, and not on a word that wants more.

    Whisper ends the decode of audio that stops with a period more often than not, so the
    punctuation alone says little; a last word such as "and" or "the" says the speaker paused
    mid-sentence. A text without words (nothing heard yet) is not finished.
    """
    text = text.strip()
    words = re.findall(r"[\w']+", text.lower())
    if not words or not _SENTENCE_END.search(text):
        return False
    return words[-1] not in CONTINUING_WORDS
