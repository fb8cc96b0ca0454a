"""Language detection restricted to the languages a caller allows (OpenAI's `languages[]`).

Whisper's language detection gives a probability for each of its ~100 languages (from the
first 30 s window of speech). With `languages[]`, the most probable allowed language is
chosen and the audio is transcribed in it, whatever Whisper would have picked.

"Reliably detected" (the language is reported in `languages`; else `languages` is empty):
- the chosen language has at least `RELIABLE_SHARE` (0.5, faster-whisper's own detection
  threshold) of the probability the allowed languages hold together: it is more likely than
  all the other allowed languages together;
- the allowed languages together hold at least `MIN_ALLOWED_MASS` (0.25) of Whisper's
  probability: the audio sounds like one of them at all (Portuguese told it is `en` or
  `de` is transcribed as German, but not reported as reliably German);
- some segment of the transcript is speech to Whisper (`no_speech_prob` under 0.6,
  Whisper's own no-speech threshold): noise or silence reports no language.
Without `languages[]` the first two reduce to Whisper's top language having probability
0.5. A language the caller named in `language` counts as known (probability 1); so does
English for an English-only model, which detects nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

RELIABLE_SHARE = 0.5
"""The chosen language's least share of the allowed languages' probability, to be reported."""
MIN_ALLOWED_MASS = 0.25
"""The least probability Whisper gives the allowed languages together, to report one of them."""
NO_SPEECH = 0.6
"""A segment with Whisper's `no_speech_prob` under this is speech (Whisper's `no_speech_threshold`)."""


@dataclass(frozen=True)
class LanguageGuess:
    """The language a transcription runs in and how sure the detection was."""

    code: str  # ISO-639-1 (Whisper's codes, e.g. `yue`, `haw`)
    share: float = 1.0  # 0..1: its probability over that of all allowed languages; 1 when given
    allowed_mass: float = 1.0  # 0..1: Whisper's probability of the allowed languages together

    @property
    def reliable(self) -> bool:
        return self.share >= RELIABLE_SHARE and self.allowed_mass >= MIN_ALLOWED_MASS


def choose_language(probabilities: Iterable[tuple[str, float]], allowed: Sequence[str] = ()) -> LanguageGuess | None:
    """The most probable language among `allowed` (all when empty), from (code, probability) pairs.

    None when no allowed language has any probability (which Whisper never gives: its softmax
    covers every language token).
    """
    every = [(code, float(p)) for code, p in probabilities]
    pairs = [(code, p) for code, p in every if not allowed or code in allowed]
    total = sum(p for _, p in pairs)
    if not pairs or total <= 0:
        return None
    code, best = max(pairs, key=lambda pair: pair[1])
    return LanguageGuess(code, best / total, total / (sum(p for _, p in every) or 1.0))


def detect_language(model: Any, samples: Any, allowed: Sequence[str] = ()) -> LanguageGuess | None:
    """Run faster-whisper's detection on float32 mono 16 kHz `samples`, restricted to `allowed`."""
    _, _, probabilities = model.detect_language(audio=samples)
    return choose_language(probabilities, allowed)


def from_info(info: Any, allowed: Sequence[str] = ()) -> LanguageGuess:
    """The guess behind faster-whisper's `TranscriptionInfo` (its own detection, or the given language)."""
    if info.all_language_probs:
        guess = choose_language(info.all_language_probs, allowed)
        if guess is not None:
            return guess
    return LanguageGuess(info.language)


def reported(guess: LanguageGuess | None, no_speech_probs: Iterable[float]) -> tuple[str, ...]:
    """What `languages` says: the language when it was reliably detected (or given) in speech, else nothing."""
    speech = any(p < NO_SPEECH for p in no_speech_probs)
    return (guess.code,) if guess is not None and guess.reliable and speech else ()
