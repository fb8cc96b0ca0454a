"""Checks on what Whisper decoded: text that is not speech, and repetition loops.

Whisper's failures on real recordings have known shapes (openai/whisper #679, #1783,
faster-whisper #10): punctuation or `...` for noise, a window it believes holds no speech
but still decodes, and a phrase repeated over and over. These pure functions find them in
decoded segments, so the worker can drop or cut them before anyone sees them.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from models.types import Segment, Word

NO_SPEECH_PROB = 0.6
LOGPROB_FLOOR = -1.0
"""Whisper's own silence rule: a segment is not speech when the decoder's <|nospeech|>
probability is above 0.6 and its average log-probability is below -1 (openai/whisper
`transcribe`, which faster-whisper applies to whole windows only)."""

LOOP_COPIES = 5
"""Back-to-back copies of a phrase that make a loop whatever their timing."""
SQUEEZED_LOOP_COPIES = 3
"""Copies of a phrase of two words or more that make a loop when the copies after the first
are squeezed (see `MIN_WORD_SECONDS`): people repeat themselves ("that's what I said, that's
what I said, that's what I said"), but each copy then takes the time of its words."""
MIN_WORD_SECONDS = 0.1
"""Words aligned shorter than this on average were not spoken there: Whisper wrote more text
than the audio holds (a hallucination squeezed into the little audio left)."""
LONGEST_PHRASE = 12

MAX_WORD_GAP = 1.5
"""Seconds of silence between two words at which a segment is cut in two, so that no
segment (nor subtitle cue) spans a stretch without speech."""


def has_words(text: str) -> bool:
    """Whether `text` has any letter or digit in any script (not only punctuation, symbols, space)."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def is_speech(segment: Segment) -> bool:
    """False for a decoded segment that is not speech: no words, three words or more squeezed
    into no time (under `MIN_WORD_SECONDS` each on average), or Whisper's silence rule."""
    if not has_words(segment.text) or (len(segment.words) >= 3 and squeezed(segment.words)):
        return False
    return not (segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < LOGPROB_FLOOR)


def normalised(text: str) -> str:
    """Lower-case letters and digits, words separated by one space: for comparing texts."""
    kept = "".join(char.lower() if has_words(char) else " " for char in text)
    return " ".join(kept.split())


def squeezed(words: Sequence[Word], seconds: float = MIN_WORD_SECONDS) -> bool:
    """Whether `words` (two or more) take less than `seconds` each on average."""
    return len(words) >= 2 and sum(w.end - w.start for w in words) / len(words) < seconds


def loop_start(words: Sequence[Word]) -> int | None:
    """Index where a phrase starts repeating back to back (its second copy), or None.

    A loop is a phrase of n words (n <= LONGEST_PHRASE) repeated `LOOP_COPIES` times in a row,
    or `SQUEEZED_LOOP_COPIES` times (n >= 2) when the repeats are squeezed in time; the
    earliest such loop is reported, so the first copy is kept and the repeats are cut.
    """
    keys = [normalised(word.word) for word in words]
    best: int | None = None
    for n in range(1, min(LONGEST_PHRASE, len(keys) // 2) + 1):
        for start in range(0, len(keys) - 2 * n + 1):
            phrase = keys[start : start + n]
            if not any(phrase):
                continue
            copies = 1
            while keys[start + copies * n : start + (copies + 1) * n] == phrase:
                copies += 1
            repeats = words[start + n : start + copies * n]
            loop = copies >= LOOP_COPIES or (n >= 2 and copies >= SQUEEZED_LOOP_COPIES and squeezed(repeats))
            if loop:
                if best is None or start + n < best:
                    best = start + n
                break
    return best


def cut_loop(segment: Segment) -> Segment:
    """The segment with a repetition loop in its words cut after the phrase's first copy."""
    if not segment.words:
        return segment
    cut = loop_start(segment.words)
    if cut is None:
        return segment
    words = segment.words[:cut]
    return replace(segment, words=words, text="".join(w.word for w in words), end=words[-1].end, tokens=())


def drop_repeats(segments: Sequence[Segment], previous: str = "") -> list[Segment]:
    """Segments without a segment that only repeats the one before it with its words squeezed.

    `previous` is the text of the segment before the first one (from an earlier window). A
    repeat whose words take their time is kept: people say a sentence twice ("Yes." answered
    twice, a phrase said again for emphasis).
    """
    kept: list[Segment] = []
    last = normalised(previous)
    for segment in segments:
        text = normalised(segment.text)
        if text and text == last and (squeezed(segment.words) or not segment.words):
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
        for a, b in itertools.pairwise(bounds)
    ]


def bounded_by_words(segment: Segment) -> Segment:
    """The segment's start and end moved to its first word's start and last word's end."""
    spoken: tuple[Word, ...] = tuple(w for w in segment.words if has_words(w.word)) or segment.words
    if not spoken:
        return segment
    return replace(segment, start=spoken[0].start, end=max(spoken[0].start, spoken[-1].end))
