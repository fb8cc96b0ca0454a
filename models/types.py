"""Internal results of the workers: frozen dataclasses, never wire schemas."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 16_000
"""Every worker that listens takes float32 mono audio at this rate."""


@dataclass(frozen=True)
class TokenLogprob:
    """One decoded text token with its log-probability under the decoder."""

    token: str
    logprob: float
    bytes: tuple[int, ...]


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float
    speaker: str | None = None


@dataclass(frozen=True)
class Segment:
    """A decoded stretch of speech, with Whisper's own quality figures."""

    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: tuple[int, ...]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: tuple[Word, ...] = ()
    logprobs: tuple[TokenLogprob, ...] = ()
    speaker: str | None = None


@dataclass(frozen=True)
class Transcript:
    """The whole result of one transcription or translation."""

    task: str  # "transcribe" | "translate"
    language: str  # ISO-639-1 code as detected or given
    duration: float  # seconds of input audio
    segments: tuple[Segment, ...]
    languages: tuple[str, ...] = ()  # reliably detected (or given) ISO-639-1 codes; () when none (models/languages.py)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @property
    def logprobs(self) -> tuple[TokenLogprob, ...]:
        return tuple(lp for s in self.segments for lp in s.logprobs)


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of time attributed to one speaker by a diarization engine."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class AudioChunk:
    """A piece of synthesised audio: int16 mono PCM at `sample_rate`."""

    pcm: bytes
    sample_rate: int
    text: str = ""

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True)
class Audio:
    """Decoded audio ready for the listening workers."""

    samples: np.ndarray = field(repr=False)  # float32, mono, SAMPLE_RATE
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate
