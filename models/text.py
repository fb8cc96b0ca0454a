"""Text made safe to hand to a TTS engine's phonemizer (espeak-ng under Piper).

The phonemizer is native code: a NUL ends its string early (Python refuses to pass one: a
500 before this module existed), a lone surrogate cannot be encoded to UTF-8 at all, and
invisible characters (bidi marks, zero-width characters, control codes) reach it as noise.
`speech_text` normalises every such character class, or refuses the text when it is not
Unicode at all, so that whatever the caller sends, the engine only sees text:

| class (Unicode category)                        | becomes                          |
|-------------------------------------------------|----------------------------------|
| unpaired surrogates (Cs)                        | refused: `UnspeakableText`       |
| control characters (Cc) that break lines        | a line break                     |
| other control characters (Cc), NUL included     | a space                          |
| line / paragraph separators (Zl, Zp)            | a line break                     |
| other spaces (Zs: no-break, ideographic, ...)   | a space                          |
| format characters (Cf: bidi marks and isolates, zero-width space/joiners, BOM, soft hyphen, tags) | removed |
| private use (Co), unassigned and noncharacters (Cn) | removed                      |
| emoji, skin tones, flags, keycaps, variation selectors | removed (espeak would read out "grinning face") |
| `[[ ... ]]` (Piper's raw-phoneme markup)        | plain brackets: input is text    |
| compatibility characters (NFKC): math `𝐇`, fullwidth `Ｈ`, ligatures `ﬁ`, `①`, `²` | plain `H`, `fi`, `1`, `2` |

Vulgar fractions (`½`) and `™`/`℠` keep their form: espeak reads them ("one half", "trademark"),
where NFKC would give `1⁄2` and `TM`. The result is in Unicode normal form C. Whether anything is left to say is
`has_speech`: a letter or digit somewhere (the sentence splitter drops sentences without
one, so text of only punctuation or symbols would give no audio).
"""

from __future__ import annotations

import unicodedata

import regex

from models.errors import InvalidRequest


class UnspeakableText(InvalidRequest):
    """The text cannot be spoken: it is not valid Unicode, or nothing in it can be said."""


# Emoji as Unicode defines them (UTS #51), with what builds sequences out of them. Extended_Pictographic
# also holds a few text symbols that are read out usefully ("©" copyright, "™" trademark): kept.
_EMOJI = regex.compile(
    r"(?![©®‼⁉™ℹ])\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}|[\uFE0E\uFE0F\u20E3]"
)
_PHONEME_MARKUP = regex.compile(r"\[\[+|\]\]+")
_LINE_BREAKING_CONTROLS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85")
_READ_AS_THEY_ARE = frozenset("™℠")
"""Compatibility characters espeak reads out better than their NFKC form."""


def _plain(char: str) -> str:
    """A compatibility character's plain form (NFKC); fractions and `_READ_AS_THEY_ARE` stay."""
    if char.isascii() or char in _READ_AS_THEY_ARE:
        return char
    if unicodedata.decomposition(char).startswith("<fraction>"):
        return char
    return unicodedata.normalize("NFKC", char)


def speech_text(text: str) -> str:
    """`text` with every character class a phonemizer must not see normalised (see the module).

    Raises UnspeakableText (param `input`) for an unpaired surrogate. Idempotent.
    """
    for index, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            raise UnspeakableText(
                f"`input` is not valid Unicode: an unpaired surrogate (U+{ord(char):04X}) at character {index}. "
                "Send the text as UTF-8, or as JSON with surrogate pairs kept together.",
                param="input",
                code="invalid_value",
            )
    text = _EMOJI.sub("", text)
    out = []
    for char in "".join(_plain(char) for char in text):
        category = unicodedata.category(char)
        if category == "Cc":
            out.append("\n" if char in _LINE_BREAKING_CONTROLS else (char if char == "\t" else " "))
        elif category in ("Zl", "Zp"):
            out.append("\n")
        elif category == "Zs":
            out.append(" ")
        elif category in ("Cf", "Co", "Cn"):
            continue
        else:
            out.append(char)
    text = _PHONEME_MARKUP.sub(lambda m: m.group(0)[0], "".join(out))
    return unicodedata.normalize("NFC", text)  # last: a removed character may have split a pair


def has_speech(text: str) -> bool:
    """Whether `text` has anything to say: a letter or a digit (Unicode categories L and N)."""
    return any(char.isalnum() for char in text)


def require_speech(text: str) -> str:
    """`speech_text(text)`, or UnspeakableText (param `input`) when nothing in it can be said."""
    cleaned = speech_text(text)
    if not has_speech(cleaned):
        raise UnspeakableText(
            "`input` has nothing to speak: it needs at least one letter or digit "
            "(emoji, punctuation, symbols, control and invisible characters are not read out).",
            param="input",
            code="invalid_value",
        )
    return cleaned
