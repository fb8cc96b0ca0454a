"""Checks on what Whisper decoded: text that is not speech, and repetition loops.

Whisper's failures on real recordings have known shapes (openai/whisper #679, #1783,
faster-whisper #10): punctuation or `...` for noise, a window it believes holds no speech
but still decodes, and a phrase repeated over and over. These pure functions find them in
decoded segments, so the worker can drop or cut them before anyone sees them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from models.types import Segment, Word

NO_SPEECH_PROB = 0.6
LOGPROB_FLOOR = -1.0
"""Whisper's own silence rule: a segment is not speech when the decoder's <|nospeech|>
probability is above 0.6 and its average log-probability is below -1 (openai/whisper
`transcribe`, which faster-whisper applies to whole windows only)."""

LOOP_REPEATS = {1: 5}
"""How many back-to-back repeats of a phrase of n words make a loop; 3 for n >= 2 (one word
said three times in a row happens in speech: "no, no, no")."""
LONGEST_PHRASE = 12

MAX_WORD_GAP = 1.5
"""Seconds of silence between two words at which a segment is cut in two, so that no
segment (nor subtitle cue) spans a stretch without speech."""


def has_words(text: str) -> bool:
    """Whether `text` has any letter or digit in any script (not only punctuation, symbols, space)."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def is_speech(segment: Segment) -> bool:
    """False for a decoded segment that is not speech: no words, or Whisper's silence rule."""
    if not has_words(segment.text):
        return False
    return not (segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < LOGPROB_FLOOR)


def normalised(text: str) -> str:
    """Lower-case letters and digits, words separated by one space: for comparing texts."""
    kept = "".join(char.lower() if has_words(char) else " " for char in text)
    return " ".join(kept.split())


def loop_start(words: Sequence[str]) -> int | None:
    """Index where a phrase starts repeating back to back (its second copy), or None.

    A loop is a phrase of n words (n <= LONGEST_PHRASE) repeated at least
    `LOOP_REPEATS.get(n, 3)` times in a row; the earliest such loop is reported, so the
    first copy is kept and the repeats are cut.
    """
    keys = [normalised(word) for word in words]
    best: int | None = None
    for n in range(1, min(LONGEST_PHRASE, len(keys) // 2) + 1):
        needed = LOOP_REPEATS.get(n, 3)
        for start in range(0, len(keys) - n * needed + 1):
            phrase = keys[start : start + n]
            if not any(phrase):
                continue
            copies = 1
            while keys[start + copies * n : start + (copies + 1) * n] == phrase:
                copies += 1
            if copies >= needed:
                if best is None or start + n < best:
                    best = start + n
                break
    return best


def cut_loop(segment: Segment) -> Segment:
    """The segment with a repetition loop in its words cut after the phrase's first copy."""
    if not segment.words:
        return segment
    cut = loop_start([w.word for w in segment.words])
    if cut is None:
        return segment
    words = segment.words[:cut]
    return replace(segment, words=words, text="".join(w.word for w in words), end=words[-1].end, tokens=())


def drop_repeats(segments: Sequence[Segment], previous: str = "") -> list[Segment]:
    """Segments without a segment whose text only repeats the one before it.

    `previous` is the text of the segment before the first one (from an earlier window).
    Short texts (under three words) may repeat: "Yes." answered twice is speech.
    """
    kept: list[Segment] = []
    last = normalised(previous)
    for segment in segments:
        text = normalised(segment.text)
        if text and text == last and len(text.split()) >= 3:
            continue
        kept.append(segment)
        last = text
    return kept


def split_at_pauses(segment: Segment, max_gap: float = MAX_WORD_GAP) -> list[Segment]:
    """The segment cut where its words leave a pause of `max_gap` seconds or more.

    Parts have the text of their words and no tokens (`tokens == ()`); a segment without
    such a pause comes back whole.
    """
    words = segment.words
    cuts = [i for i in range(1, len(words)) if words[i].start - words[i - 1].end >= max_gap]
    if not cuts:
        return [segment]
    bounds = [0, *cuts, len(words)]
    return [
        replace(segment, words=words[a:b], text="".join(w.word for w in words[a:b]), tokens=(), logprobs=())
        for a, b in zip(bounds, bounds[1:])
    ]


def bounded_by_words(segment: Segment) -> Segment:
    """The segment's start and end moved to its first word's start and last word's end."""
    spoken: tuple[Word, ...] = tuple(w for w in segment.words if has_words(w.word)) or segment.words
    if not spoken:
        return segment
    return replace(segment, start=spoken[0].start, end=max(spoken[0].start, spoken[-1].end))
