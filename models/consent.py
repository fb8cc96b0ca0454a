"""Consent phrase verification: does a transcript contain the approved phrase for its language?

Whisper's text is compared with each approved phrase by a word-level alignment that is
free to start and end anywhere in the transcript (the best-matching window):

- a heard word within half its length of character edits of the expected one is a near miss
  and costs that fraction (`Inhaberin` for `Inhaber` 0.22, `voise` for `voice` 0.2); any other
  word costs 1, as does a missing or an extra word; two heard words may stand for one expected
  word and the other way round when they are a near miss together (`Open AI` for `OpenAI`);
- the phrase is accepted when the cost divided by the phrase's word count is at most
  `max_error_rate`, *and* what was heard in place of the organisation's name is within
  `max_name_distance` of it, character by character, as written or both transliterated to
  Latin letters (a phrase consenting to a different company is refused however close the rest
  is), *and* the transcript holds no
  negation, retraction, conditional or other person the phrase lacks (`I am not the owner...`, `nobody`,
  `I take it back`, `if`, `he`), *and* every first-person key word of the phrase (`key_words`: en
  `I`, `am`) was heard in its place (`he is`, `you are`, `I were` refuse),
  *and* at most `max_extra_words` words were heard outside the phrase, at most
  `max_trailing_words` of them after it (an added clause is refused), *and* it is not a
  question (no question mark).

Words are compared after `fold`: marks that Whisper writes either way for a language are
dropped or unified first (Vietnamese tone marks, Hindi vowel length and candrabindu), in the
phrase, the transcript and the negations alike.

Everything here is pure text processing; the caller transcribes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from anyascii import anyascii

from models.consent_phrases import (
    DEFAULT_KEY_WORDS,
    DEFAULT_NEGATIONS,
    DEFAULT_PHRASES,
    DEFAULT_PROMPTS,
    ORGANIZATION,
)

__all__ = [
    "DEFAULT_KEY_WORDS",
    "DEFAULT_NEGATIONS",
    "DEFAULT_PHRASES",
    "DEFAULT_PROMPTS",
    "ORGANIZATION",
    "ConsentPhrases",
    "Verdict",
    "fold",
    "latin",
    "tokens",
    "words",
]

CHARACTER_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "yue"})
"""Languages written without spaces between words: compared character by character."""


def tokens(text: str, language: str = "en") -> list[str]:
    """Lower-case words of letters, their marks and digits, in any script.

    A vowel sign or accent (Unicode marks: Devanagari's ा ं, combining accents) stays with its
    letter; a word also ends where Latin letters meet another script (`OpenAI가` is `openai`,
    `가`). For languages written without spaces (ja, zh) every character of a non-Latin script
    is a token of its own, while a Latin name among them (`OpenAI`) stays one word.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    by_character = language in CHARACTER_LANGUAGES
    out: list[str] = []
    current, current_latin = "", False
    for ch in text:
        kind = unicodedata.category(ch)[0]
        if kind == "M" and current:
            current += ch
            continue
        if kind not in "LN":
            out.append(current)
            current = ""
            continue
        latin = _latin(ch)
        if (by_character and not latin) or (current and latin != current_latin):
            out.append(current)
            current = ""
        if by_character and not latin:
            out.append(ch)
            continue
        current, current_latin = current + ch, latin
    out.append(current)
    return [token for token in out if token]


SPELLING_FOLDS: dict[str, dict[str, str]] = {
    # Vietnamese: the five tone marks (huyền, sắc, ngã, hỏi, nặng) go; the vowel letters (â ê ô ơ ư ă)
    # and đ stay. Whisper base writes tôi as `tối`, sở as `sơ` on accented speech; a tone-only
    # difference is never the difference between consent and refusal (`không` is still `khong`).
    "vi": {"\u0300": "", "\u0301": "", "\u0303": "", "\u0309": "", "\u0323": ""},
    # Hindi: spellings used interchangeably: long and short i and u (`सहमती` for सहमति, `हुं` for हूं),
    # candrabindu as anusvara (`हूँ`, `हूं`), nukta (`ज़` and `ज`).
    "hi": {"\u0940": "\u093f", "\u0942": "\u0941", "\u0901": "\u0902", "\u093c": ""},
}
"""Per language, marks replaced (in canonical decomposition) before words are compared."""


def fold(word: str, language: str) -> str:
    """`word` with the marks that `SPELLING_FOLDS` lists for `language` replaced (composed again)."""
    table = SPELLING_FOLDS.get(language)
    if not table:
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFC", "".join(table.get(ch, ch) for ch in decomposed))


def words(text: str, language: str = "en") -> list[str]:
    """`tokens` of `text` as they are compared: each folded (`fold`), so that a Vietnamese tone or a
    Hindi vowel length that Whisper writes either way is not a different word."""
    return [fold(token, language) for token in tokens(text, language)]


def _latin(ch: str) -> bool:
    """Latin letters (with any accent) and digits: the script of names such as `OpenAI`."""
    return ch.isdigit() or unicodedata.name(ch, "").startswith("LATIN")


def negations_heard(heard: list[str], expected: list[str], negations: tuple[str, ...], language: str) -> list[str]:
    """The negations in `heard` that the phrase itself lacks.

    Whole words, or word beginnings for entries ending in `-`; for languages compared by
    characters, character sequences anywhere in the transcript.
    """
    if language in CHARACTER_LANGUAGES:
        heard_text, phrase_text = "".join(heard), "".join(expected)
        return [n for n in negations if n in heard_text and n not in phrase_text]
    phrase_words = set(expected)
    found = []
    for word in heard:
        if word in phrase_words:
            continue
        for negation in negations:
            if word == negation or (negation.endswith("-") and word.startswith(negation[:-1])):
                found.append(word)
                break
    return found


COURTESY = {"en": ("thank", "thanks", "you", "so", "very", "much", "bye", "goodbye")}
"""Words after the phrase that do not count as an added clause (Whisper adds "Thank you.")."""

NEAR_MISS = 0.5
"""A heard word within this normalised character distance of the expected one is a near miss
(`voise`, `Inhaberin`) and costs that distance; anything further is a wrong word and costs 1."""


def word_cost(expected: str, heard: str) -> float:
    """0 for the same word, the character distance for a near miss, 1 for another word."""
    distance = char_distance(expected, heard)
    return distance if distance <= NEAR_MISS else 1.0


def char_distance(expected: str, heard: str) -> float:
    """Character edit distance over the longer word's length (0..1)."""
    if expected == heard:
        return 0.0
    a, b = expected, heard
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return min(1.0, previous[-1] / max(len(a), len(b), 1))


@dataclass(frozen=True)
class Alignment:
    """The best window of the heard words for one phrase."""

    phrase: str
    cost: float
    error_rate: float  # cost / number of phrase words
    start: int  # heard-word index where the window starts
    end: int  # one past its last heard word
    pairs: tuple[tuple[int, int, float], ...]  # (phrase word, heard word, cost) for matched words


def align(expected: list[str], heard: list[str], phrase: str = "") -> Alignment:
    """Semi-global alignment of `expected` against any window of `heard`."""
    m, n = len(expected), len(heard)
    inf = float("inf")
    cost = [[inf] * (n + 1) for _ in range(m + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (n + 1) for _ in range(m + 1)]
    for j in range(n + 1):
        cost[0][j] = 0.0  # the window may start anywhere
    for i in range(1, m + 1):
        cost[i][0] = float(i)
        back[i][0] = (i - 1, 0)
        for j in range(1, n + 1):
            options = [
                (cost[i - 1][j - 1] + word_cost(expected[i - 1], heard[j - 1]), (i - 1, j - 1)),
                (cost[i - 1][j] + 1.0, (i - 1, j)),  # an expected word was not heard
                (cost[i][j - 1] + 1.0, (i, j - 1)),  # an extra word inside the phrase
            ]
            # Two heard words for one expected word ("open ai" for "openai") and the other way round,
            # only as near misses: otherwise they would price two wrong words as one.
            if j >= 2 and (merged := word_cost(expected[i - 1], heard[j - 2] + heard[j - 1])) < 1:
                options.append((cost[i - 1][j - 2] + merged, (i - 1, j - 2)))
            if i >= 2 and (split := word_cost(expected[i - 2] + expected[i - 1], heard[j - 1])) < 1:
                options.append((cost[i - 2][j - 1] + split, (i - 2, j - 1)))
            cost[i][j], back[i][j] = min(options, key=lambda o: o[0])
    end = min(range(n + 1), key=lambda j: cost[m][j])
    pairs: list[tuple[int, int, float]] = []
    i, j = m, end
    while i > 0:
        step = back[i][j]
        assert step is not None
        pi, pj = step
        if pi < i and pj < j:  # a match, a merge or a split: record each expected word's counterpart
            for ei in range(pi, i):
                for hj in range(pj, j):
                    pairs.append((ei, hj, word_cost("".join(expected[pi:i]), "".join(heard[pj:j]))))
        i, j = pi, pj
    total = cost[m][end]
    return Alignment(
        phrase=phrase,
        cost=total,
        error_rate=total / max(m, 1),
        start=j,
        end=end,
        pairs=tuple(reversed(pairs)),
    )


def name_distance(result: Alignment, expected: list[str], heard: list[str], names: set[int]) -> float:
    """Character distance between the organisation's name and what was heard in its place.

    "In its place" is every heard word between the last matched word before the name and
    the first matched word after it, so that `hack this studio` for `Acme Studios` or
    `open the eye` for `OpenAI` are compared as wholes. A name in another script comes as
    syllable words, which the alignment may pair with the name's neighbours, as a near miss
    (`согласие Опен` for `согласие`) or as a wrong word (`Ай` for `на`): for words in another
    script, the span reaching over them is tried too, and the closest span counts.
    """
    first, last = min(names), max(names)
    before = [(e, h, c) for e, h, c in result.pairs if e < first]
    after = [(e, h, c) for e, h, c in result.pairs if e > last]
    start = max(h for _, h, _ in before) + 1 if before else result.start
    end = min(h for _, h, _ in after) if after else result.end
    starts, ends = {start}, {end}
    if before:
        neighbour = sorted(h for e, h, _ in before if e == before[-1][0])
        starts.add(neighbour[1] if len(neighbour) > 1 else start)  # a piece taken by a near miss
        starts.add(max((h for _, h, c in before if c < 1), default=result.start - 1) + 1)  # over wrong words
    if after:
        neighbour = sorted(h for e, h, _ in after if e == after[0][0])
        ends.add(neighbour[-2] + 1 if len(neighbour) > 1 else end)
        ends.add(min((h for _, h, c in after if c < 1), default=result.end))
    starts = {s for s in starts if all(_foreign(w) for w in heard[s:start])}
    ends = {e for e in ends if all(_foreign(w) for w in heard[end:e])}
    name = "".join(expected[first : last + 1])
    spans = ["".join(heard[s:e]) for s in starts for e in ends]
    return min(min(char_distance(name, said), char_distance(latin(name), latin(said))) for said in spans)


def _foreign(word: str) -> bool:
    """A word not in Latin letters."""
    return not all(_latin(ch) for ch in word)


def latin(text: str) -> str:
    """`text` in Latin letters (anyascii's transliteration), lower case, letters and digits only.

    Whisper often writes a brand in the script of the language it hears: `オープンAI` (`opunai`),
    `Опен Эй Ай` (`openeyay`), `오픈AI` (`opeunai`). Another company stays another name in any
    script (`Гугл` is `gugl`, `グーグル` `guguru`).
    """
    return "".join(ch for ch in anyascii(text).casefold() if ch.isalnum())


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one transcript."""

    accepted: bool
    heard: str
    expected: str  # the closest approved phrase
    error_rate: float
    reason: str = ""  # why it was refused, for the caller


@dataclass(frozen=True)
class ConsentPhrases:
    """Approved phrases per language and the tolerances of the check."""

    templates: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PHRASES))
    organizations: tuple[str, ...] = ("OpenAI",)
    negations: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_NEGATIONS))
    prompts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROMPTS))  # Whisper prompt: the script
    key_words: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_KEY_WORDS))
    max_error_rate: float = 0.35
    max_extra_words: int = 8  # heard outside the phrase, before and after it
    max_trailing_words: int = 3  # of those, after it (Whisper's "Thank you.")
    max_name_distance: float = 0.6  # characters of the organisation's name vs what was heard in its place

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.templates))

    def phrases(self, language: str) -> list[tuple[str, set[int]]]:
        """Each approved sentence for `language`, with the word positions of the organisation's name."""
        out: list[tuple[str, set[int]]] = []
        seen: set[str] = set()
        for template in self.templates.get(language, ()):
            for org in dict.fromkeys(self.organizations):
                text = template.replace(ORGANIZATION, org)
                if text in seen:
                    continue
                seen.add(text)
                before = words(template.split(ORGANIZATION, 1)[0], language) if ORGANIZATION in template else None
                names = set()
                if before is not None:
                    names = set(range(len(before), len(before) + len(words(org, language))))
                out.append((text, names))
        return out

    def verify(self, heard_text: str, language: str) -> Verdict:
        """Accept `heard_text` if it holds one approved phrase for `language` (see module doc)."""
        heard = words(heard_text, language)
        candidates = self.phrases(language)
        if not candidates:
            raise KeyError(language)
        verdicts = [self._check(heard_text, heard, language, phrase, names) for phrase, names in candidates]
        accepted = [v for v in verdicts if v.accepted]
        return min(accepted or verdicts, key=lambda v: v.error_rate)

    def _check(self, heard_text: str, heard: list[str], language: str, phrase: str, names: set[int]) -> Verdict:
        expected = words(phrase, language)
        result = align(expected, heard, phrase)

        def refuse(reason: str) -> Verdict:
            return Verdict(False, heard_text.strip(), phrase, result.error_rate, reason)

        if not heard:
            return refuse("no speech was recognised")
        if result.error_rate > self.max_error_rate:
            return refuse(f"it differs from the approved phrase in {result.error_rate:.0%} of its words")
        if names and name_distance(result, expected, heard, names) > self.max_name_distance:
            return refuse("it names another organisation than the one this consent is for")
        negations = tuple(fold(n, language) for n in self.negations.get(language, ()))
        negated = negations_heard(heard, expected, negations, language)
        if negated:
            return refuse(f"it contains a negation, retraction or condition ({negated[0]!r})")
        if missing := self.missing_key_words(result, expected, heard, language):
            return refuse(f"it is not the speaker's own consent in the first person ({missing[0]!r} was not heard)")
        extra = len(heard) - (result.end - result.start)
        if extra > self.max_extra_words:
            return refuse(f"it contains {extra} words besides the approved phrase")
        # courtesy after the phrase ("Thank you so much.") is not an added clause
        trailing = sum(1 for word in heard[result.end :] if word not in COURTESY.get(language, ()))
        if trailing > self.max_trailing_words:
            return refuse(f"it goes on for {trailing} words after the approved phrase")
        if any(mark in heard_text for mark in QUESTION_MARKS):
            return refuse("it is a question, not a declaration")
        return Verdict(True, heard_text.strip(), phrase, result.error_rate)

    def missing_key_words(self, result: Alignment, expected: list[str], heard: list[str], language: str) -> list[str]:
        """The phrase's first-person key words not heard in their place at least once.

        A key word counts as heard when what the alignment paired with it, on its own, is the word or a
        near miss of it: not another word (`he` for `I`, `were` for `am`), not missing, and not a piece
        of a near miss together with its neighbour (`and I` paired with a heard `and`).
        """
        keys = {fold(word, language) for key in self.key_words.get(language, ()) for word in tokens(key, language)}
        spans: dict[int, list[int]] = {}
        for e, h, _ in result.pairs:
            spans.setdefault(e, []).append(h)
        heard_in_place = {
            word
            for i, word in enumerate(expected)
            if word in keys and word_cost(word, "".join(heard[h] for h in sorted(spans.get(i, [])))) < 1
        }
        # each key word at least once: Whisper base hears the second "and I consent" as "and that
        # consent" in some genuine recordings; another person's word there is the lexicon's to refuse
        return sorted({word for word in expected if word in keys} - heard_in_place)


QUESTION_MARKS = ("?", "\uff1f", "¿", "؟")  # ASCII, full-width (ja, zh), Spanish opening, Arabic
"""A transcript with one of these is a question (`Am I the owner ...?`), never a declaration."""
