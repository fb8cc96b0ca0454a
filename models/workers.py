"""What the serving side may call on a worker: one Protocol per kind of worker.

The registry (gateway/serving/registry.py) hands out a `WorkerEntry` typed by these, so the
call from the HTTP edge into a model is one a type checker sees. Every method here blocks:
the serving side calls them in the worker's threads (`WorkQueue.run`), except the quick
checks (`check_options`, `check`), made once the model is loaded, before any work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal, Protocol

import numpy as np

from models.options import DiarizeOptions, SynthesizeOptions, TranscribeOptions
from models.types import AudioChunk, Segment, Transcript

Kind = Literal["transcription", "diarization", "speech"]
"""A worker's interface: `Transcriber`, `SpeakerTranscriber` (transcribes and diarizes), `Synthesizer`."""

SegmentCallback = Callable[[Segment], None]


class Worker(Protocol):
    """A model that loads on demand and can be unloaded to make room.

    Optional: `footprint_estimate() -> int`, bytes the loaded model is expected to take.
    """

    name: str

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None:
        """Import heavy libraries and load weights (idempotent); ModelUnavailable if impossible."""

    def unload(self) -> None:
        """Drop the weights; the next `load` brings them back."""


class Transcriber(Worker, Protocol):
    """Whisper: speech to text in the spoken language, or translated into English."""

    def check_options(self, options: TranscribeOptions) -> None:
        """Refuse what the model cannot do (InvalidRequest naming the field), before any work."""

    def transcribe(
        self,
        audio: np.ndarray | Iterable[np.ndarray],
        options: TranscribeOptions,
        on_segment: SegmentCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """Float32 mono 16 kHz audio (one array or a stream of blocks) to a transcript.

        Segments reach `on_segment` in order as they are decoded; Cancelled soon after `cancel` is set.
        """
        ...


class SpeakerTranscriber(Worker, Protocol):
    """A transcriber and a diarization engine (`models.diarization.base.DiarizationEngine`) together."""

    def check_options(self, options: TranscribeOptions) -> None:
        """Refuse what the transcriber cannot do, before any work."""

    def transcribe(
        self,
        samples: np.ndarray,
        options: TranscribeOptions,
        diarize: DiarizeOptions,
        on_segment: SegmentCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """A transcript of the whole recording whose segments each carry one speaker."""
        ...


class Synthesizer(Worker, Protocol):
    """Piper: text to int16 mono PCM in an installed voice."""

    def check(self, voice: str, options: SynthesizeOptions) -> tuple[str, int | None]:
        """Refuse a voice or options that cannot be synthesised, before any work; the model and speaker id."""
        ...

    def synthesize(
        self, text: str, voice: str, options: SynthesizeOptions, cancel: threading.Event | None = None
    ) -> Iterator[AudioChunk]:
        """Speak `text` at `options.sample_rate`, one chunk per piece, computed as the caller iterates."""
        ...

    def resolve(self, voice: str) -> tuple[str, int | None]:
        """The model name and speaker id of an installed voice id; NotFound otherwise."""
        ...

    def voices(self) -> Sequence[VoiceInfo]:
        """The installed voices."""
        ...


class VoiceInfo(Protocol):
    """An installed voice, as `Synthesizer.voices` lists it."""

    @property
    def name(self) -> str: ...

    @property
    def language(self) -> str: ...
