"""Speech text made safe for the phonemizer (models/text.py): every character class, one by one."""

from __future__ import annotations

import random
import sys
import unicodedata

import pytest

from models.text import UnspeakableText, has_speech, require_speech, speech_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Good morning\x00 everyone.", "Good morning  everyone."),  # NUL: a space
        ("a\x01b\x1bc\x7fd\x9be", "a b c d e"),  # C0, ESC, DEL, C1 controls: spaces
        ("one\vtwo\fthree\x85four\x1cfive", "one\ntwo\nthree\nfour\nfive"),  # line-breaking controls
        ("tab\tkept", "tab\tkept"),
        ("a\u2028b\u2029c", "a\nb\nc"),  # line and paragraph separators
        ("no\u00a0break\u3000wide\u2009thin", "no break wide thin"),  # other spaces
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zerowidth"),  # zero-width characters, BOM
        ("\u202eevil\u202c \u2066iso\u2069 \u200emark\u200f", "evil iso mark"),  # bidi controls
        ("soft\u00adhyphen", "softhyphen"),
        ("tag\U000e0041\U000e007f", "tag"),  # tag characters
        ("pri\ue000vate\U000f0000 non\ufffe\uffffchar \U0010fffe", "private nonchar "),  # Co, Cn
        ("hi 😀👍🏽 🇫🇷 1️⃣ ❤️ 👨‍👩‍👧", "hi   1  "),  # emoji, skin tones, flags, keycaps, ZWJ sequences
        ("© 2026 Acme™ → ½ 50% $5", "© 2026 Acme™ → ½ 50% $5"),  # text symbols are read out
        ("say [[ hɛˈloʊ ]] now", "say [ hɛˈloʊ ] now"),  # Piper's raw-phoneme markup disarmed
        ("[[[x]]]", "[x]"),
        ("cafe\u0301", "café"),  # NFC
        ("𝐇𝐞𝐥𝐥𝐨 𝐰𝐨𝐫𝐥𝐝", "Hello world"),  # math bold: espeak spelled it "letter 1, departs 0, ..."
        ("𝐻𝑒𝓁𝓁𝑜 𝔴𝔬𝔯𝔩𝔡 𝚃𝚎𝚜𝚝 𝕏", "Hello world Test X"),  # math italic, script, fraktur, monospace, double-struck
        ("Ｈｅｌｌｏ　ｗｏｒｌｄ！１２", "Hello world!12"),  # fullwidth Latin, digits, punctuation
        ("ﬁne ﬂow ﬀ", "fine flow ff"),  # ligatures
        ("① ⑫ x² H₂O ⁵", "1 12 x2 H2O 5"),  # circled, super- and subscript digits
        ("ｶﾀｶﾅ", "カタカナ"),  # halfwidth katakana
        ("Hello 世界 مرحبا שלום Привет", "Hello 世界 مرحبا שלום Привет"),  # scripts untouched
    ],
)
def test_each_character_class(text, expected):
    assert speech_text(text) == expected


@pytest.mark.parametrize("text", ["\ud800", "ok \udfff", "x\ud83d"])  # high and low halves, alone
def test_unpaired_surrogates_are_refused_naming_input(text):
    with pytest.raises(UnspeakableText, match=r"unpaired surrogate \(U\+D[89A-F][0-9A-F]{2}\)") as error:
        speech_text(text)
    assert (error.value.param, error.value.code) == ("input", "invalid_value")


@pytest.mark.parametrize("text", ["", " ", "😀🎉", "?!", "...", "\x00" * 5, "\u200b", "\ue000", "-- ** ##", "🇫🇷"])
def test_nothing_to_speak(text):
    assert not has_speech(speech_text(text))
    with pytest.raises(UnspeakableText, match="nothing to speak") as error:
        require_speech(text)
    assert error.value.param == "input"


@pytest.mark.parametrize("text", ["a", "7", "½", "中", "Ω!", "x\x00"])
def test_something_to_speak(text):
    assert require_speech(text)


def test_random_text_comes_out_clean_and_stays_clean():
    """Seeded random code points from every plane: nothing a phonemizer must not see is left,
    and normalising again changes nothing."""
    rng = random.Random(12)
    forbidden = {"Cs", "Cf", "Co", "Cn", "Zl", "Zp"}
    for _ in range(300):
        chars = []
        for _ in range(rng.randrange(1, 60)):
            code = rng.choice([rng.randrange(0x20), rng.randrange(0x80, 0x3000), rng.randrange(0x1F000, 0x1FB00),
                               rng.randrange(0xE000, 0x10000), rng.randrange(0x10000, sys.maxunicode + 1)])  # fmt: skip
            if not 0xD800 <= code <= 0xDFFF:
                chars.append(chr(code))
        cleaned = speech_text("".join(chars))
        assert speech_text(cleaned) == cleaned
        assert "[[" not in cleaned and "]]" not in cleaned
        for char in cleaned:
            assert unicodedata.category(char) not in forbidden, hex(ord(char))
            assert char in "\t\n" or unicodedata.category(char) != "Cc", hex(ord(char))
