"""Cut text into the pieces a TTS worker synthesises one at a time.

Streaming speech means synthesising sentence by sentence: the first sentence can be sent
while the rest is still being computed. Two refinements keep the first byte early and the
work per step bounded:

- the first piece is kept short (`first_chars`), cut at a clause mark or, failing that,
  after a content word, so that the first audio is ready after a fraction of a second;
- a sentence longer than `max_chars` is cut at clause marks, then at word boundaries, and a
  word longer than `max_chars` inside: no piece is longer, whatever the text (a piece's
  cost in time and memory grows with its length, faster than linearly).

Each piece says how it joins the next one (`Joint`), so the worker knows whether the pause
after it is a natural one (sentence or clause end) or an artificial cut to close up.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

# Abbreviations whose period does not end a sentence (lower case, without the final period).
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt vs etc e.g i.e cf al approx no nos fig figs vol pp ed eds
    inc ltd co corp dept est gen gov lt col capt sgt rev jan feb mar apr jun jul aug sep sept
    oct nov dec a.m p.m u.s u.k
    """.split()
)

# Words a cut should not follow: a phrase rarely pauses right after them (English only;
# for other languages every word boundary is as good as another).
_WEAK_WORDS = frozenset(
    """
    a an the of to in on at for with from by as into onto about than and or but nor so if
    is are was were be been am my your his her its our their this that these those who which
    i you he she we they it not no very
    """.split()
)

_TERMINATORS = ".!?…。！？"
# A run of sentence-ending marks, then closing quotes or brackets, then whitespace.
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+[\"'”’»)\]]*")
_CLAUSE = re.compile(r"(?:[,;:、，；：]|\s[-–—]|[–—])[\"'”’»)\]]*(?=\s)")
_SPACE = re.compile(r"\s+")


class Joint(enum.Enum):
    """How a piece of text meets the next one."""

    SENTENCE = "sentence"  # end of a sentence or line: keep the natural pause
    CLAUSE = "clause"  # a comma, colon, dash...: keep the natural pause
    WORD = "word"  # cut between two words: close up the pause
    END = "end"  # the last piece


@dataclass(frozen=True)
class Piece:
    """One stretch of text to synthesise in one step."""

    text: str
    joint: Joint


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; a line break always ends one. Whitespace is collapsed."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = _SPACE.sub(" ", line).strip()
        start = 0
        for match in _END.finditer(line):
            end = match.end()
            if not _ends_sentence(line, match.start(), end):
                continue
            sentence = line[start:end].strip()
            if sentence:
                sentences.append(sentence)
            start = end
        rest = line[start:].strip()
        if rest:
            sentences.append(rest)
    # Nothing to say in a run of punctuation alone ("...", "--").
    return [s for s in sentences if any(ch.isalnum() for ch in s)]


def _ends_sentence(line: str, mark: int, end: int) -> bool:
    """Whether the terminator run at line[mark:end] really ends a sentence."""
    if line[mark] in "。！？":
        return True
    following = line[end:].lstrip()
    if not following:
        return True
    if line[mark] != "." or line[mark:end].startswith(".."):
        # "!", "?", "…" and "..." end a sentence unless lower case follows.
        return not following[0].islower()
    word = line[:mark].rsplit(" ", 1)[-1].lstrip("\"'“‘«([")
    if word.lower() in ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial: "J. Smith"
    return not following[0].islower()


def speech_pieces(text: str, *, first_chars: int = 0, max_chars: int = 300) -> list[Piece]:
    """Sentences of `text` as pieces to synthesise, the first one short when `first_chars` > 0.

    `max_chars` bounds every piece, hard (0: unbounded): a piece is cut at a clause mark in
    reach, else between words, and a word longer than `max_chars` is cut inside. The first
    piece ends at a clause mark or between words within `first_chars`; a first word longer
    than that stays whole up to twice `first_chars`, and is cut inside beyond.
    """
    pieces: list[Piece] = []
    for sentence in split_sentences(text):
        if not pieces and 0 < first_chars < len(sentence):
            hard = 2 * first_chars if max_chars <= 0 else min(2 * first_chars, max_chars)
            cut, joint = _cut_point(sentence, first_chars, hard)
            parts = [(sentence[:cut].strip(), joint), *_cut(sentence[cut:].strip(), max_chars)]
        else:
            parts = _cut(sentence, max_chars)
        pieces.extend(Piece(t, j) for t, j in parts if t)
    if pieces:
        pieces[-1] = Piece(pieces[-1].text, Joint.END)
    return pieces


def _cut(sentence: str, limit: int) -> list[tuple[str, Joint]]:
    """Cut one sentence into parts of at most `limit` characters (0: no limit)."""
    parts: list[tuple[str, Joint]] = []
    rest = sentence
    while limit > 0 and len(rest) > limit:
        cut, joint = _cut_point(rest, limit, limit)
        parts.append((rest[:cut].strip(), joint))
        rest = rest[cut:].strip()
    if rest:
        parts.append((rest, Joint.SENTENCE))
    return parts


def _cut_point(text: str, limit: int, hard: int) -> tuple[int, Joint]:
    """Where to cut `text` (longer than `limit`), and what kind of cut it is.

    Within `limit`: at a clause mark, else after a content word, else at any space. Failing
    those, at the first space within `hard` (a long word stays whole), else inside the word
    at `hard` (never before a combining mark). Always 0 < cut < len(text).
    """
    clauses = [m.end() for m in _CLAUSE.finditer(text, 0, limit + 1) if m.end() <= limit]
    # A clause mark is worth it if it keeps at least a third of the allowed length.
    if clauses and clauses[-1] >= limit // 3:
        return clauses[-1], Joint.CLAUSE
    spaces = [m.start() for m in re.finditer(r" ", text[: limit + 1]) if m.start() > 0]
    strong = [i for i in spaces if text[:i].rsplit(" ", 1)[-1].lower().strip("\"'“‘") not in _WEAK_WORDS]
    if strong and strong[-1] >= limit // 3:
        return strong[-1], Joint.WORD
    if spaces:
        return spaces[-1], Joint.WORD
    first = text.find(" ", 1, hard + 1)
    if first > 0:
        return first, Joint.WORD
    cut = max(1, min(hard, len(text) - 1))
    while cut > 1 and unicodedata.combining(text[cut]):
        cut -= 1  # an accent stays with its letter
    return cut, Joint.WORD
