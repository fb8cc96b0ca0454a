"""Cut text into the pieces a TTS worker synthesises one at a time.

Streaming speech means synthesising sentence by sentence: the first sentence can be sent
while the rest is still being computed. Two refinements keep the first byte early and the
work per step bounded:

- the first piece is kept short (`first_chars`), cut at a clause mark or, failing that,
  after a content word, so that the first audio is ready after a fraction of a second;
- a sentence longer than `max_chars` is cut at clause marks, then at word boundaries.

Each piece says how it joins the next one (`Joint`), so the worker knows whether the pause
after it is a natural one (sentence or clause end) or an artificial cut to close up.
"""

from __future__ import annotations

import enum
import re
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

    `max_chars` bounds every piece (0: unbounded); `first_chars` bounds the first one only.
    A piece is only ever cut between words, and at a clause mark where one is in reach.
    """
    pieces: list[Piece] = []
    for sentence in split_sentences(text):
        limit = first_chars if not pieces and first_chars > 0 else max_chars
        parts = _cut(sentence, limit) if limit > 0 else [(sentence, Joint.SENTENCE)]
        if not pieces and first_chars > 0 and len(parts) > 1 and max_chars > 0:
            # Only the first piece is short: the rest of the sentence gets the usual bound.
            rest = sentence[len(parts[0][0]) :].strip()
            parts = [parts[0], *_cut(rest, max_chars)]
        pieces.extend(Piece(t, j) for t, j in parts)
    if pieces:
        pieces[-1] = Piece(pieces[-1].text, Joint.END)
    return pieces


def _cut(sentence: str, limit: int) -> list[tuple[str, Joint]]:
    """Cut one sentence into parts of at most `limit` characters (a single long word stays whole)."""
    parts: list[tuple[str, Joint]] = []
    rest = sentence
    while len(rest) > limit:
        cut, joint = _cut_point(rest, limit)
        if cut <= 0:
            break
        parts.append((rest[:cut].strip(), joint))
        rest = rest[cut:].strip()
    if rest:
        parts.append((rest, Joint.SENTENCE))
    return parts


def _cut_point(text: str, limit: int) -> tuple[int, Joint]:
    """Where to cut `text` within its first `limit` characters, and what kind of cut it is."""
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
    # No space within reach: cut at the first space at all (a very long word stays whole).
    first = text.find(" ")
    return first, Joint.WORD
