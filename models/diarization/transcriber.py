"""Whisper plus a diarization engine: the worker behind `gpt-4o-transcribe-diarize`.

Whisper transcribes with word timestamps; the engine says who spoke when; words are given
to the speaker talking at that moment and segments are split at speaker changes. With
`on_segment`, each speaker segment is handed over as soon as it is final: the diarization
runs first (it needs the whole recording), then Whisper's segments are split and emitted
one by one as Whisper decodes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from models.diarization.align import split_segment
from models.diarization.base import DiarizationEngine, anonymous_label
from models.diarization.live import SessionSpeakers, transcribe_turn
from models.errors import Cancelled
from models.options import DiarizeOptions, TranscribeOptions
from models.types import Segment, Transcript


class DiarizingTranscriber:
    """A Whisper worker and a diarization engine used together."""

    def __init__(self, name: str, whisper: Any, engine: DiarizationEngine):
        self.name = name
        self.whisper = whisper
        self.engine = engine
        self.cancelled = 0  # requests stopped because the caller went away
        self._loaded = False

    @property
    def loaded(self) -> bool:
        return self._loaded and self.whisper.loaded

    def load(self) -> None:
        self.whisper.load()
        self.engine.load()
        self._loaded = True

    def unload(self) -> None:
        self._loaded = False

    def check_options(self, options: TranscribeOptions) -> None:
        """Refuse what the Whisper model cannot do (e.g. a language an English-only model lacks)."""
        self.whisper.check_options(options)

    def transcribe(
        self,
        samples: np.ndarray,
        options: TranscribeOptions,
        diarize: DiarizeOptions,
        on_segment: Callable[[Segment], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """A transcript whose segments each carry one speaker (and whose words carry theirs).

        A segment no turn covers (Whisper heard words where the engine found no speech) goes
        to the nearest turn's speaker, or to "A" when the engine found no speech at all.
        """
        self.load()
        try:
            _check(cancel)
            turns = self.engine.diarize(samples, diarize)
            _check(cancel)
            segments: list[Segment] = []

            def split(segment: Segment) -> None:
                for piece in split_segment(segment, turns):
                    piece = replace(piece, id=len(segments), speaker=piece.speaker or anonymous_label(0))
                    segments.append(piece)
                    if on_segment is not None:
                        on_segment(piece)

            transcript: Transcript = self.whisper.transcribe(
                samples, replace(options, word_timestamps=True), on_segment=split, cancel=cancel
            )
        except Cancelled:
            self.cancelled += 1
            raise
        return replace(transcript, segments=tuple(segments))


    def transcribe_turn(
        self,
        samples: np.ndarray,
        options: TranscribeOptions,
        speakers: SessionSpeakers,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """A live session's turn: its segments carry the session's speakers (models/diarization/live.py)."""
        self.load()
        try:
            _check(cancel)
            return transcribe_turn(self.whisper, self.engine, samples, options, speakers, cancel)
        except Cancelled:
            self.cancelled += 1
            raise


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("the client went away")
