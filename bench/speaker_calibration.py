"""Calibrate the custom-voice speaker check: consent recording vs voice sample, same or other speaker.

Speakers: the Piper voice en_US-joe (at three speaking rates) and espeak-ng voices of several
accents and variants. Each speaker says the consent phrase (the consent recording) and two
other passages (voice samples, clean and with noise at 15 dB SNR). Every consent is compared
with every sample by the speaker encoder the gateway uses (`models.speaker`); the cosine
similarities of same-speaker and other-speaker pairs are printed with the best threshold.

    python -m bench.speaker_calibration
"""

from __future__ import annotations

import sys
from itertools import product

import numpy as np

PHRASE = "I am the owner of this voice and I consent to OpenAI using this voice to create a synthetic voice model."
PASSAGES = (
    "Today the weather is sunny and warm. Tomorrow it will rain in the morning, so bring an umbrella.",
    "The quick brown fox jumps over the lazy dog. Speech recognition works on my own computer, without a network.",
)
SPEAKERS = {
    "piper-joe": ("piper", 1.0),
    "piper-joe-slow": ("piper", 1.25),
    "piper-joe-fast": ("piper", 0.85),
    "espeak-en-us": ("espeak", "en-us"),
    "espeak-en-us+f2": ("espeak", "en-us+f2"),
    "espeak-en-gb+f3": ("espeak", "en-gb+f3"),
    "espeak-en-gb+m3": ("espeak", "en-gb+m3"),
    "espeak-scotland+m7": ("espeak", "en-gb-scotland+m7"),
    "espeak-en-029+f4": ("espeak", "en-029+f4"),
    "espeak-en-us+klatt": ("espeak", "en-us+klatt"),
}
SAME_PERSON = {"piper-joe", "piper-joe-slow", "piper-joe-fast"}  # one voice at three rates


def speak(speaker: str, text: str) -> np.ndarray:
    from tests.helpers import espeak_speech, piper_speech, read_audio

    kind, arg = SPEAKERS[speaker]
    return read_audio(piper_speech(text, length_scale=arg) if kind == "piper" else espeak_speech(text, voice=arg))


def noisy(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = float(np.mean(samples**2))
    return (samples + rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), len(samples))).astype(np.float32)


def main(argv: list[str]) -> None:
    from models.speaker import SpeakerEncoder

    encoder = SpeakerEncoder()
    encoder.load()
    rng = np.random.default_rng(0)
    consents = {s: encoder.embed(speak(s, PHRASE)) for s in SPEAKERS}
    samples: dict[tuple[str, str], np.ndarray] = {}
    for speaker in SPEAKERS:
        for n, passage in enumerate(PASSAGES):
            clean = speak(speaker, passage)
            samples[(speaker, f"p{n}")] = encoder.embed(clean)
            samples[(speaker, f"p{n}+snr15")] = encoder.embed(noisy(clean, 15, rng))
        print(f"embedded {speaker}", file=sys.stderr, flush=True)
    same, other = [], []
    for consent_speaker, (sample_speaker, condition) in product(SPEAKERS, samples):
        score = encoder.similarity(consents[consent_speaker], samples[(sample_speaker, condition)])
        is_same = consent_speaker == sample_speaker or {consent_speaker, sample_speaker} <= SAME_PERSON
        (same if is_same else other).append((score, consent_speaker, sample_speaker, condition))
    same.sort()
    other.sort(reverse=True)
    print(f"same speaker : n={len(same)} min={same[0][0]:.3f} median={np.median([s[0] for s in same]):.3f}")
    print(f"other speaker: n={len(other)} max={other[0][0]:.3f} median={np.median([s[0] for s in other]):.3f}")
    print("lowest same-speaker pairs:")
    for row in same[:6]:
        print(f"  {row[0]:.3f} {row[1]} vs {row[2]} {row[3]}")
    print("highest other-speaker pairs:")
    for row in other[:6]:
        print(f"  {row[0]:.3f} {row[1]} vs {row[2]} {row[3]}")
    piper_vs_espeak = [s for s in other if s[1].startswith("piper") != s[2].startswith("piper")]
    print(f"piper vs espeak: max={max(s[0] for s in piper_vs_espeak):.3f}")
    if same[0][0] > other[0][0]:
        print(f"gap: {other[0][0]:.3f} .. {same[0][0]:.3f}; midpoint {(same[0][0] + other[0][0]) / 2:.3f}")
    else:
        best = max(
            (t for t in np.arange(0.5, 1.0, 0.005)),
            key=lambda t: sum(s[0] >= t for s in same) / len(same) + sum(o[0] < t for o in other) / len(other),
        )
        far = sum(o[0] >= best for o in other) / len(other)
        frr = sum(s[0] < best for s in same) / len(same)
        print(f"overlap; best threshold {best:.3f}: false accept {far:.1%}, false reject {frr:.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
