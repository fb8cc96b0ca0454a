"""Speakers of a live session: each turn's voices matched to the speakers heard so far.

A Realtime session transcribes turn by turn, so no single diarization sees the whole
conversation. Each committed turn is diarized alone (a turn may hold several voices); every
voice in it is embedded (the engine's speaker embedding: resemblyzer for the embedded
engine) and matched one-to-one to the session's speakers by cosine similarity to their
centroids. A voice under `threshold` from every speaker becomes a new one ("A", "B", ... in
order of first appearance) unless it spoke less than `min_new_s` (too little for a reliable
embedding: it joins the nearest speaker). Centroids are running means weighted by seconds
of speech, so later turns are matched against everything a speaker said.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from models.diarization.align import split_segment
from models.diarization.base import DiarizationEngine, anonymous_label
from models.errors import Cancelled
from models.options import DiarizeOptions, TranscribeOptions
from models.speaker import unit
from models.types import SAMPLE_RATE, Segment, SpeakerTurn, Transcript

LIVE_SPEAKER_THRESHOLD = 0.7
"""Cosine similarity (resemblyzer) a voice needs to be a speaker already heard. Calibrated on the
test recordings: one speaker's turns 0.84-0.90, two voices 0.39-0.43, pyannote's sample's two
speakers 0.61-0.72 against a 0.4 s first turn (docs: README, Realtime)."""


@dataclass
class SessionSpeakers:
    """The speakers one session has heard: a centroid and seconds of speech each. Used by one thread at a time."""

    threshold: float = LIVE_SPEAKER_THRESHOLD
    min_new_s: float = 1.0
    max_speakers: int = 8
    centroids: list[np.ndarray] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def assign(self, voices: list[tuple[np.ndarray, float]]) -> list[str]:
        """Session labels of a turn's distinct voices (unit vector, seconds of speech), one speaker each."""
        labels: list[int | None] = [None] * len(voices)
        taken: set[int] = set()
        sims = np.array([[float(c @ v) for c in self.centroids] for v, _ in voices]).reshape(len(voices), -1)
        if self.centroids:
            for flat in np.argsort(-sims, axis=None):
                i, j = divmod(int(flat), len(self.centroids))
                if labels[i] is None and j not in taken and sims[i, j] >= self.threshold:
                    labels[i] = j
                    taken.add(j)
        for i, (vector, seconds) in enumerate(voices):
            if labels[i] is not None:
                continue
            if self.centroids and (seconds < self.min_new_s or len(self.centroids) >= self.max_speakers):
                free = [j for j in range(len(self.centroids)) if j not in taken] or list(range(len(self.centroids)))
                labels[i] = max(free, key=lambda j: sims[i, j])
            else:
                self.centroids.append(vector)
                self.seconds.append(0.0)
                labels[i] = len(self.centroids) - 1
            taken.add(int(labels[i]))  # type: ignore[arg-type]
        chosen = [int(j) for j in labels if j is not None]
        for (vector, seconds), k in zip(voices, chosen, strict=True):
            heard = self.seconds[k]
            self.centroids[k] = unit(self.centroids[k] * heard + vector * seconds) if heard else vector
            self.seconds[k] = heard + seconds
        return [anonymous_label(k) for k in chosen]


def transcribe_turn(
    whisper: Any,
    engine: DiarizationEngine,
    samples: np.ndarray,
    options: TranscribeOptions,
    speakers: SessionSpeakers,
    cancel: threading.Event | None = None,
) -> Transcript:
    """One turn's transcript whose segments carry the session's speaker labels (times within the turn)."""
    turns = engine.diarize(samples, DiarizeOptions())
    if cancel is not None and cancel.is_set():
        raise Cancelled("the client went away")
    if not turns:  # the engine heard no speech: the turn is one voice
        turns = [SpeakerTurn(start=0.0, end=len(samples) / SAMPLE_RATE, speaker="A")]
    local = sorted({t.speaker for t in turns})
    clips = [
        np.concatenate(
            [samples[int(t.start * SAMPLE_RATE) : int(t.end * SAMPLE_RATE)] for t in turns if t.speaker == name]
        )
        for name in local
    ]
    voiced = [(name, clip) for name, clip in zip(local, clips) if len(clip) >= SAMPLE_RATE // 10]
    names: dict[str, str] = {}
    if voiced:
        vectors = engine.embed([clip for _, clip in voiced])
        labels = speakers.assign([(unit(v), len(c) / SAMPLE_RATE) for v, (_, c) in zip(vectors, voiced)])
        names = {name: label for (name, _), label in zip(voiced, labels)}
    main = max(local, key=lambda name: sum(t.end - t.start for t in turns if t.speaker == name))
    fallback = names.get(main, anonymous_label(0))
    turns = [replace(t, speaker=names.get(t.speaker, fallback)) for t in turns]
    transcript: Transcript = whisper.transcribe(samples, replace(options, word_timestamps=True), cancel=cancel)
    segments: list[Segment] = []
    for segment in transcript.segments:
        for piece in split_segment(segment, turns):
            segments.append(replace(piece, id=len(segments), speaker=piece.speaker or fallback))
    return replace(transcript, segments=tuple(segments))
