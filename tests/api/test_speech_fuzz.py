"""Hostile speech text, fuzzed (issue 12): a fixed seed, a few hundred texts, all asserting "2xx
with decodable audio or a 4xx envelope naming `input`, the connection reusable, the server alive,
its memory bounded". One keep-alive connection carries every request, so a response that breaks
the connection fails the test at once. The upload and JSON fuzzing lives elsewhere."""

from __future__ import annotations

import base64
import http.client
import json
import random
import string
import sys
from collections import Counter

import pytest

from tests.rss import watch_rss

SEED = 1212
COUNT = 300

_SCRIPTS = {
    "latin": "Good morning, the quick brown fox",
    "cyrillic": "Привет мир",
    "greek": "Καλημέρα κόσμε",
    "arabic": "مرحبا بالعالم",
    "hebrew": "שלום עולם",
    "devanagari": "नमस्ते दुनिया",
    "cjk": "你好世界",
    "hangul": "안녕하세요",
    "thai": "สวัสดี",
    "kana": "こんにちは",
}
_INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_EMOJI = ["😀", "👍🏽", "🇫🇷", "1️⃣", "❤️", "👨‍👩‍👧", "🎉", "🤖", "🏳️‍🌈", "\U0001faf6"]
_MARKUP = [
    "<speak><prosody rate='x-fast'>{w}</prosody><break time='3s'/></speak>",
    "<script>alert('{w}')</script>",
    "**{w}** _{w}_ `code` [link](http://example.com/{w})",
    "[[ hɛlˈoʊ wˈɜːld ]] {w} [[ \x00 ]]",
    '{{"input": "{w}", "voice": null}}',
    "https://example.com/{w}?q=1&r=2#frag",
    "def f(x):\n    return x ** 2  # {w}",
    "&lt;{w}&gt; &amp; &#0; &#x1F600;",
    "%s %n %x {w} %%",
    "\\x00\\u0000 {w} \\ud800",
]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters) for _ in range(rng.randrange(1, 9)))


def _words(rng: random.Random, n: int) -> list[str]:
    return [_word(rng) for _ in range(n)]


def hostile_text(rng: random.Random, kind: str) -> str:
    """One text of `kind`, at most a few hundred characters (a few long words excepted)."""
    if kind == "controls":
        return "".join(
            w + rng.choice(["\x00", chr(rng.randrange(0x20)), "\x7f", chr(rng.randrange(0x80, 0xA0)), " "])
            for w in _words(rng, 5)
        )
    if kind == "surrogate":
        return " ".join(_words(rng, 3)) + chr(rng.randrange(0xD800, 0xE000)) + _word(rng)
    if kind == "invisible":
        return "".join(w + "".join(rng.choices(_INVISIBLE, k=rng.randrange(1, 4))) for w in _words(rng, 6))
    if kind == "emoji_only":  # a keycap emoji ("1️⃣") is a digit to say: not among these
        return "".join(rng.choices([e for e in _EMOJI if not e[0].isdigit()], k=rng.randrange(1, 8)))
    if kind == "emoji_mixed":
        return " ".join(w + rng.choice(_EMOJI) for w in _words(rng, 5))
    if kind == "punctuation_only":
        return "".join(rng.choices("?!.,;:-—…*#~^\"'()[]{}<>/\\|_ ", k=rng.randrange(1, 40)))
    if kind == "scripts":
        names = rng.sample(sorted(_SCRIPTS), k=rng.randrange(1, 4))
        return " ".join(_SCRIPTS[n] if n != "cjk" else _SCRIPTS[n][: rng.randrange(1, 4)] for n in names)
    if kind == "markup":
        return rng.choice(_MARKUP).format(w=_word(rng))
    if kind == "combining":
        return " ".join(
            w + "".join(chr(rng.randrange(0x300, 0x370)) for _ in range(rng.randrange(1, 30))) for w in _words(rng, 3)
        )
    if kind == "long_word":
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randrange(200, 700)))
    if kind == "numbers":
        return " ".join(
            rng.choice(
                [
                    str(rng.randrange(10**6)),
                    f"${rng.random() * 1e3:.2f}",
                    "3.14e-9",
                    "2026-11-30",
                    "½ ¾ ⅞",
                    "IV XLII",
                    "+1 (555) 010-9999",
                ]
            )
            for _ in range(2)
        )
    if kind == "whitespace":
        return "".join(
            w + "".join(rng.choices(" \t\n\r\u00a0\u2028\u3000\x0b\x0c", k=rng.randrange(1, 6))) for w in _words(rng, 5)
        )
    if kind == "random_code_points":
        points = [
            rng.choice(
                [
                    rng.randrange(0x20, 0x3000),
                    rng.randrange(0xE000, 0x10000),
                    rng.randrange(0x10000, sys.maxunicode + 1),
                ]
            )
            for _ in range(rng.randrange(1, 16))
        ]
        return "".join(chr(p) for p in points if not 0xD800 <= p < 0xE000) or "x"
    raise ValueError(kind)


KINDS = (
    "controls", "surrogate", "invisible", "emoji_only", "emoji_mixed", "punctuation_only", "scripts",
    "markup", "combining", "long_word", "numbers", "whitespace", "random_code_points",
)  # fmt: skip
MUST_REFUSE = {"surrogate", "emoji_only", "punctuation_only"}


def corpus(seed: int = SEED, count: int = COUNT) -> list[tuple[str, str]]:
    """(kind, text) pairs: every kind equally often, except few long words (each takes seconds)."""
    rng = random.Random(seed)
    kinds = [k for k in KINDS if k != "long_word"]
    texts = [(kinds[i % len(kinds)], "") for i in range(count - 6)] + [("long_word", "")] * 6
    return [(kind, hostile_text(rng, kind)) for kind, _ in texts]


def test_the_corpus_is_fixed_and_covers_every_kind():
    assert corpus() == corpus()
    assert {kind for kind, _ in corpus()} == set(KINDS)
    assert len(corpus()) == COUNT


def test_hostile_text_fuzz(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    outcomes: Counter[tuple[str, int]] = Counter()
    socket = None
    with watch_rss() as rss:
        for index, (kind, text) in enumerate(corpus()):
            sse = index % 7 == 0
            body = {"model": "gpt-4o-mini-tts" if sse else "tts-1", "voice": "alloy", "input": text[:4096],
                    "response_format": "pcm", "speed": 4.0, **({"stream_format": "sse"} if sse else {})}  # fmt: skip
            connection.request(
                "POST", "/v1/audio/speech", body=json.dumps(body), headers={"content-type": "application/json"}
            )
            response = connection.getresponse()
            data = response.read()
            case = f"#{index} {kind} {text!r}"
            assert response.status == 200 or 400 <= response.status < 500, f"{case}: {response.status} {data[:300]!r}"
            assert not response.will_close, f"{case}: the server closed the connection"
            socket = socket or connection.sock
            assert connection.sock is socket, f"{case}: the connection was not reused"
            outcomes[kind, response.status] += 1
            if response.status == 200:
                audio = _sse_audio(data, case) if sse else data
                assert len(audio) > 0 and len(audio) % 2 == 0, f"{case}: {len(audio)} bytes of pcm"
                assert kind not in MUST_REFUSE, f"{case}: spoken"
            else:
                error = json.loads(data)["error"]
                assert set(error) == {"message", "type", "param", "code"}, case
                assert (error["type"], error["param"], error["code"]) == (
                    "invalid_request_error",
                    "input",
                    "invalid_value",
                ), f"{case}: {error}"
                assert kind in MUST_REFUSE or not any(c in string.ascii_letters for c in text), (
                    f"{case}: refused {error}"
                )
    connection.close()
    print(
        "\nhostile speech text:",
        dict(sorted(outcomes.items())),
        f"RSS +{rss.peak_growth_mib:.0f} MiB peak, +{rss.kept_mib:.0f} kept",
    )
    assert {status for (kind, status) in outcomes if kind in MUST_REFUSE} == {400}
    assert rss.peak_growth_mib < 1024 and rss.kept_mib < 200, (rss.peak_growth_mib, rss.kept_mib)
    # alive, and still speaking
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    connection.request("GET", "/health")
    assert connection.getresponse().status == 200


def _sse_audio(data: bytes, case: str) -> bytes:
    events = [json.loads(line[5:]) for line in data.decode().splitlines() if line.startswith("data:")]
    assert events and events[-1]["type"] == "speech.audio.done", f"{case}: {events[-1:]}"
    return b"".join(base64.b64decode(e["audio"]) for e in events[:-1])


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_makes_what_it_says(kind):
    """The generator really makes hostile text of each kind (a fuzz test of nothing passes too)."""
    from models.text import speech_text

    rng = random.Random(SEED)
    texts = [hostile_text(rng, kind) for _ in range(20)]
    if kind == "surrogate":
        assert all(any(0xD800 <= ord(c) < 0xE000 for c in t) for t in texts)
    elif kind in ("controls", "invisible", "whitespace"):
        assert all(speech_text(t) != t for t in texts)
    elif kind == "long_word":
        assert all(len(t) >= 200 and " " not in t for t in texts)
    elif kind in ("emoji_only", "emoji_mixed"):
        assert all(len(speech_text(t)) < len(t) for t in texts)
