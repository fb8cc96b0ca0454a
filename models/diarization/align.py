"""Word-level alignment of a transcript to speaker turns.

Every word goes to the speaker talking while it is spoken (the turn it overlaps most, else
the nearest turn); every segment is split where its words change speaker, so each returned
segment has exactly one speaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from models.types import Segment, SpeakerTurn, Transcript, Word


def speaker_at(start: float, end: float, turns: Sequence[SpeakerTurn]) -> str | None:
    """The speaker of the turn overlapping [start, end] most; the nearest turn if none overlaps."""
    if not turns:
        return None
    best, best_overlap = None, 0.0
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
    if best is not None:
        return best
    middle = (start + end) / 2
    nearest = min(
        turns, key=lambda t: 0.0 if t.start <= middle <= t.end else min(abs(t.start - middle), abs(t.end - middle))
    )
    return nearest.speaker


def assign_words(words: Sequence[Word], turns: Sequence[SpeakerTurn]) -> list[Word]:
    """`words` with their `speaker` set."""
    return [replace(w, speaker=speaker_at(w.start, w.end, turns)) for w in words]


def split_segment(segment: Segment, turns: Sequence[SpeakerTurn]) -> list[Segment]:
    """One segment per run of words of one speaker (the whole segment if it has no words)."""
    if not segment.words:
        return [replace(segment, speaker=speaker_at(segment.start, segment.end, turns))]
    words = assign_words(segment.words, turns)
    runs: list[list[Word]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [replace(segment, words=tuple(words), speaker=words[0].speaker)]
    pieces = []
    for run in runs:
        pieces.append(
            replace(
                segment,
                start=run[0].start,
                end=run[-1].end,
                text="".join(w.word for w in run),
                tokens=(),  # Whisper's tokens cannot be split by word reliably
                words=tuple(run),
                logprobs=(),
                speaker=run[0].speaker,
            )
        )
    return pieces


def diarize_transcript(transcript: Transcript, turns: Sequence[SpeakerTurn]) -> Transcript:
    """The transcript with speakers on words and segments, split at speaker changes, renumbered."""
    segments: list[Segment] = []
    for segment in transcript.segments:
        for piece in split_segment(segment, turns):
            segments.append(replace(piece, id=len(segments)))
    return replace(transcript, segments=tuple(segments))
