"""Speakers of a live session: each turn's voices matched to the speakers heard so far.

A Realtime session transcribes turn by turn, so no single diarization sees the whole
conversation. Each committed turn is diarized alone (a turn may hold several voices; two of
the engine's speakers nearly alike, `SAME_VOICE_IN_TURN`, are taken as one voice); every voice in it
is embedded (the engine's speaker embedding: resemblyzer for the embedded
engine) and matched one-to-one to the session's speakers by cosine similarity to their
centroids. A voice under `threshold` from every speaker becomes a new one ("A", "B", ... in
order of first appearance) unless it spoke less than `min_new_s` (too little for a reliable
embedding: it joins the nearest speaker). A speaker first heard that briefly (a session that
opens with "Hello?") is tentative: the next long voice unlike every speaker takes its label.
Centroids are running means weighted by seconds of speech, so later turns are matched against
everything a speaker said.
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


SAME_VOICE_IN_TURN = 0.88
"""Cosine similarity at which two of the engine's speakers in one turn are one voice: the embedded engine split
a clip of one voice (en_fox) into two scoring 0.906; the two people of pyannote's sample, in one turn, score 0.863."""


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
                long_enough = voices[i][1] >= self.min_new_s  # short voices go to the nearest, below
                if long_enough and labels[i] is None and j not in taken and sims[i, j] >= self.threshold:
                    labels[i] = j
                    taken.add(j)
        for i, (vector, seconds) in enumerate(voices):
            if labels[i] is not None:
                continue
            if self.centroids and seconds < self.min_new_s:  # too short to tell: the nearest, taken or not
                labels[i] = int(np.argmax(sims[i]))
            elif (tentative := self._tentative(taken)) is not None:
                labels[i] = tentative  # the first long voice unlike every speaker takes the label of a brief one
                self.seconds[tentative] = 0.0  # and replaces its centroid (below)
            elif self.centroids and len(self.centroids) >= self.max_speakers:
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

    def _tentative(self, taken: set[int]) -> int | None:
        """A speaker known only from a voice too brief to embed reliably (under `min_new_s`, e.g. a first
        "Hello?"), not already given a voice of this turn: the next new long voice is taken to be it,
        so a brief first turn does not leave a speaker of its own that nobody matches again."""
        brief = [j for j, heard in enumerate(self.seconds) if heard < self.min_new_s and j not in taken]
        return brief[0] if brief else None


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
    voiced = [(name, clip) for name, clip in zip(local, clips, strict=True) if len(clip) >= SAMPLE_RATE // 10]
    names: dict[str, str] = {}
    if voiced:
        vectors = unit(engine.embed([clip for _, clip in voiced]))
        voices, owner = _one_voice_each(vectors, [len(c) / SAMPLE_RATE for _, c in voiced], SAME_VOICE_IN_TURN)
        labels = speakers.assign(voices)
        names = {name: labels[owner[i]] for i, (name, _) in enumerate(voiced)}
    main = max(local, key=lambda name: sum(t.end - t.start for t in turns if t.speaker == name))
    fallback = names.get(main, anonymous_label(0))
    turns = [replace(t, speaker=names.get(t.speaker, fallback)) for t in turns]
    transcript: Transcript = whisper.transcribe(samples, replace(options, word_timestamps=True), cancel=cancel)
    segments: list[Segment] = []
    for segment in transcript.segments:
        for piece in split_segment(segment, turns):
            segments.append(replace(piece, id=len(segments), speaker=piece.speaker or fallback))
    return replace(transcript, segments=tuple(segments))


def _one_voice_each(
    vectors: np.ndarray, seconds: list[float], threshold: float
) -> tuple[list[tuple[np.ndarray, float]], list[int]]:
    """The engine's speakers of one turn, those at least `threshold` alike taken as one voice
    (the embedded engine may split a short clip of one voice in two). The voices, and each speaker's voice."""
    owner = list(range(len(vectors)))
    for i in range(len(vectors)):
        for j in range(i):
            if owner[j] == j and float(vectors[i] @ vectors[j]) >= threshold:
                owner[i] = j
                break
    roots = sorted(set(owner))
    voices = []
    for root in roots:
        members = [i for i in range(len(vectors)) if owner[i] == root]
        total = sum(seconds[i] for i in members)
        voices.append((unit(sum(vectors[i] * seconds[i] for i in members)), total))
    return voices, [roots.index(o) for o in owner]
