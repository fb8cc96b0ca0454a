"""Language detection restricted to the languages a caller allows (OpenAI's `languages[]`).

Whisper's language detection gives a probability for each of its ~100 languages (from the
first 30 s window of speech). With `languages[]`, the most probable allowed language is
chosen, and its probability is renormalised over the allowed languages: the probability of
that language *given* that the audio is in one of them.

"Reliably detected" means that probability is at least `RELIABLE_PROBABILITY` (0.5, the
threshold faster-whisper itself uses): more likely than all the other allowed languages
together. Without `languages[]` that is Whisper's own probability of its top language. A
language the caller named in `language` counts as known (probability 1); so does English
for an English-only model, which detects nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

RELIABLE_PROBABILITY = 0.5
"""A chosen language at least this probable (renormalised over the allowed languages) is
reported in `languages`; below it the transcript says no language was reliably detected."""


@dataclass(frozen=True)
class LanguageGuess:
    """The language a transcription runs in and how sure the detection was."""

    code: str  # ISO-639-1 (Whisper's codes, e.g. `yue`, `haw`)
    probability: float = 1.0  # 0..1, renormalised over the allowed languages; 1 when given

    @property
    def reliable(self) -> bool:
        return self.probability >= RELIABLE_PROBABILITY


def choose_language(probabilities: Iterable[tuple[str, float]], allowed: Sequence[str] = ()) -> LanguageGuess | None:
    """The most probable language among `allowed` (all when empty), from (code, probability) pairs.

    None when no allowed language has any probability (which Whisper never gives: its softmax
    covers every language token).
    """
    pairs = [(code, float(p)) for code, p in probabilities if not allowed or code in allowed]
    total = sum(p for _, p in pairs)
    if not pairs or total <= 0:
        return None
    code, best = max(pairs, key=lambda pair: pair[1])
    return LanguageGuess(code, best / total)


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
    return LanguageGuess(info.language, 1.0 if not info.all_language_probs else float(info.language_probability))


def reported(guess: LanguageGuess | None) -> tuple[str, ...]:
    """What `languages` says: the language when it was reliably detected (or given), else nothing."""
    return (guess.code,) if guess is not None and guess.reliable else ()
