"""Calibrate the custom-voice speaker check: consent recording vs voice sample, same or other speaker.

Speakers: the Piper voice en_US-joe (at three speaking rates) and espeak-ng voices of several
accents and variants. Each speaker says the consent phrase (the consent recording) and two
other passages (voice samples, clean and with noise at 15 dB SNR). Every consent is compared
with every sample by the speaker encoder the gateway uses (`models.speaker`); the cosine
similarities are printed per kind of pair. Embeddings are cached in data/cache.

    python -m bench.speaker_calibration [THRESHOLD]
"""

from __future__ import annotations

import sys
from pathlib import Path

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
    from samples.audio import espeak_speech, piper_speech, read_audio

    kind, arg = SPEAKERS[speaker]
    if kind == "piper":
        assert isinstance(arg, float)
        return read_audio(piper_speech(text, length_scale=arg))
    assert isinstance(arg, str)
    return read_audio(espeak_speech(text, voice=arg))


def noisy(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = float(np.mean(samples**2))
    return (samples + rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), len(samples))).astype(np.float32)


CACHE = Path("data/cache/speaker_calibration.npz")


def embeddings() -> dict[str, np.ndarray]:
    """Consent ('<speaker>/consent') and sample ('<speaker>/p0', '<speaker>/p0+snr15', ...) embeddings."""
    from models.speaker import SpeakerEncoder

    cached = dict(np.load(CACHE)) if CACHE.exists() else {}
    if all(f"{s}/consent" in cached for s in SPEAKERS):
        return cached
    encoder = SpeakerEncoder()
    encoder.load()
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    for speaker in SPEAKERS:
        out[f"{speaker}/consent"] = encoder.embed(speak(speaker, PHRASE))
        for n, passage in enumerate(PASSAGES):
            clean = speak(speaker, passage)
            out[f"{speaker}/p{n}"] = encoder.embed(clean)
            out[f"{speaker}/p{n}+snr15"] = encoder.embed(noisy(clean, 15, rng))
        print(f"embedded {speaker}", file=sys.stderr, flush=True)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, **out)  # type: ignore[arg-type]  # numpy's stub: a key could be `allow_pickle`
    return out


def category(consent: str, sample: str, condition: str) -> str:
    noisy_ = "+snr" in condition
    if consent == sample or {consent, sample} <= SAME_PERSON:
        return "same speaker, noisy sample" if noisy_ else "same speaker, clean sample"
    if consent.startswith("piper") != sample.startswith("piper"):
        return "Piper joe vs espeak-ng"
    def base(name: str) -> str:
        return name.split("+")[0] if not name.endswith("klatt") else name

    if base(consent) == base(sample):
        return "espeak-ng, variants of one voice"
    return "espeak-ng, different voices"


def main(argv: list[str]) -> None:
    vectors = embeddings()
    rows = []
    for consent in SPEAKERS:
        for key, vector in vectors.items():
            sample, _, condition = key.partition("/")
            if condition == "consent":
                continue
            score = float(np.dot(vectors[f"{consent}/consent"], vector))
            rows.append((category(consent, sample, condition), score, consent, key))
    cats = sorted({r[0] for r in rows})
    for cat in cats:
        scores = np.array([r[1] for r in rows if r[0] == cat])
        print(
            f"{cat:36} n={len(scores):3} min={scores.min():.3f} median={np.median(scores):.3f} max={scores.max():.3f}"
        )
    threshold = float(argv[0]) if argv else None
    if threshold is not None:
        for cat in cats:
            scores = np.array([r[1] for r in rows if r[0] == cat])
            print(f"at {threshold}: {cat:36} accepted {int((scores >= threshold).sum())}/{len(scores)}")
    print("lowest same-speaker pairs:")
    for row in sorted(r for r in rows if r[0].startswith("same"))[:5]:
        print(f"  {row[1]:.3f} {row[2]} vs {row[3]}")
    print("highest pairs of different voices (not variants of one espeak voice):")
    others = [r for r in rows if not r[0].startswith("same") and "variants" not in r[0]]
    for row in sorted(others, key=lambda r: -r[1])[:5]:
        print(f"  {row[1]:.3f} {row[2]} vs {row[3]}")


if __name__ == "__main__":
    main(sys.argv[1:])
