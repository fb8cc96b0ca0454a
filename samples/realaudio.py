"""Real recordings and what we measure on them (issue 11): the recordings with where their speech
is, variants built from them (leading silence, a quiet gap, a mid-word cut), non-speech signals, and
the timestamp/loop metrics that tests/api/test_real_recordings.py asserts and bench/realaudio.py
prints.

Recordings (all real human voices, shipped by packages, see each folder's README.md):
- pyannote.audio's 30 s two-speaker telephone sample, with its RTTM;
- five LibriVox utterances of *Sense and Sensibility* from pocketsphinx's test data, with their
  transcripts, speech labels (.lab) and word alignments (.json);
- pocketsphinx's `chan3.wav` (a meeting-room recording, 11.025 kHz) with the speech regions its
  endpointer test expects.

Times are seconds; samples are float32 mono at 16 kHz.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from samples import speech
from samples.audio import word_error_rate

SAMPLE_RATE = speech.SAMPLE_RATE
FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures"
LIBRIVOX_DIR = FIXTURES / "pocketsphinx_librivox"
LIBRIVOX_IDS = tuple(f"sense_and_sensibility_01_austen_64kb-{n}" for n in ("0870", "0880", "0890", "0920", "0930"))
CHAN3_DIR = FIXTURES / "pocketsphinx_chan3"

COLLAR = 0.5
"""Seconds around labelled speech that still count as speech (the issue's collar)."""
SAMPLE_SPEECH_START = 6.69
"""First speech in pyannote's sample per its RTTM; the issue asks for a first segment >= 6.2 s."""
GAP_AT = 21.6
"""A pause of pyannote's sample (21.49-21.78 s in its RTTM) where the quiet gap goes in."""
CUT_AT = 26.45
"""Inside the word "Yankee" (26.26-26.68 s, faster-whisper base word timestamps) of pyannote's sample."""

Span = tuple[float, float]


@dataclass(frozen=True)
class Recording:
    """Audio with where its speech is (empty for non-speech) and, where known, what is said."""

    name: str
    samples: np.ndarray
    speech: tuple[Span, ...] = ()
    text: str | None = None
    words: tuple[tuple[str, float, float], ...] = field(default=())  # (word, start, end) reference alignment

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def wav(self) -> bytes:
        return _wav(self.samples)


def _wav(samples: np.ndarray) -> bytes:
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1, 1), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def merge(spans: Iterable[tuple[Any, ...]]) -> tuple[Span, ...]:  # (start, end, ...)
    """Union of (start, end) spans, sorted."""
    merged: list[list[float]] = []
    for start, end in sorted((float(s), float(e)) for s, e, *_ in spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def _read(path: Path) -> np.ndarray:
    import soundfile as sf

    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    return speech.resample(samples.mean(axis=1), rate)


# ---- the recordings ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def pyannote_sample() -> Recording:
    conv = speech.pyannote_sample()
    return Recording("sample", conv.samples, merge(conv.turns))


def librivox(utterance: str) -> Recording:
    """One LibriVox utterance: reference text, speech label, pocketsphinx's forced word alignment."""
    base = LIBRIVOX_DIR / utterance
    marks = [line.split() for line in (base.with_suffix(".lab")).read_text().splitlines() if line.strip()]
    onset = next(float(m[0]) for m in marks if m[2] == "speech")
    offset = next(float(m[0]) for m in marks if m[2] == "silence")
    alignment = json.loads(base.with_suffix(".json").read_text())
    words = tuple(
        (re.sub(r"\(\d+\)$", "", w["t"]), w["b"], w["b"] + w["d"])
        for w in alignment["w"]
        if not w["t"].startswith("<")
    )
    return Recording(utterance[-4:], _read(base.with_suffix(".wav")), ((onset, offset),),
                     base.with_suffix(".txt").read_text().strip(), words)


@functools.lru_cache(maxsize=1)
def librivox_track() -> Recording:
    """The five utterances one after another (24.7 s), as pocketsphinx's make_single_track.py does."""
    parts = [librivox(u) for u in LIBRIVOX_IDS]
    return concatenate("librivox", parts)


def concatenate(name: str, parts: list[Recording]) -> Recording:
    offset, spans, words, texts = 0.0, [], [], []
    for part in parts:
        spans += [(s + offset, e + offset) for s, e in part.speech]
        words += [(w, s + offset, e + offset) for w, s, e in part.words]
        texts.append(part.text or "")
        offset += part.duration
    return Recording(name, np.concatenate([p.samples for p in parts]), merge(spans), " ".join(texts), tuple(words))


@functools.lru_cache(maxsize=1)
def chan3() -> Recording:
    """pocketsphinx's chan3.wav; speech = the regions its endpointer test expects (+-0.3/0.8 s)."""
    marks = [line.split() for line in (CHAN3_DIR / "chan3.lab").read_text().splitlines() if line.strip()]
    return Recording("chan3", _read(CHAN3_DIR / "chan3.wav"), tuple((float(s), float(e)) for s, e, _ in marks))


# ---- variants of pyannote's sample -------------------------------------------------------------


def brown_noise(seconds: float, rms: float, seed: int) -> np.ndarray:
    """Brown (1/f^2) noise at `rms`: integrated white noise with a slow leak against drift."""
    from scipy.signal import lfilter

    white = np.random.default_rng(seed).normal(0, 1, int(seconds * SAMPLE_RATE))
    brown = lfilter([1.0], [1.0, -0.995], white)
    brown -= brown.mean()
    noise: np.ndarray = (brown * (rms / np.sqrt(np.mean(brown**2)))).astype(np.float32)
    return noise


def with_leading_silence(rec: Recording, seconds: float = 20.0) -> Recording:
    pad = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
    return Recording(f"{rec.name}+lead{seconds:g}s", np.concatenate([pad, rec.samples]),
                     tuple((s + seconds, e + seconds) for s, e in rec.speech))


def with_quiet_gap(rec: Recording, at: float = GAP_AT, seconds: float = 20.0, rms: float = 1e-3) -> Recording:
    """`seconds` of very quiet brown noise (-60 dBFS) inserted at `at` (which must be in a pause)."""
    assert not any(s < at < e for s, e in rec.speech), "the gap must go into a pause"
    split = int(at * SAMPLE_RATE)
    samples = np.concatenate([rec.samples[:split], brown_noise(seconds, rms, seed=11), rec.samples[split:]])
    spans = tuple((s, e) if e <= at else (s + seconds, e + seconds) for s, e in rec.speech)
    return Recording(f"{rec.name}+gap{seconds:g}s", samples, spans)


def cut(rec: Recording, at: float = CUT_AT) -> Recording:
    """The recording cut at `at` (mid-word for the sample's default)."""
    spans = tuple((s, min(e, at)) for s, e in rec.speech if s < at)
    return Recording(f"{rec.name}-cut{at:g}s", rec.samples[: int(at * SAMPLE_RATE)], spans)


# ---- non-speech ----------------------------------------------------------------------------------


def silence(seconds: float = 8.0) -> Recording:
    return Recording("silence", np.zeros(int(seconds * SAMPLE_RATE), np.float32))


def dither(seconds: float = 8.0) -> Recording:
    """Near-silence: every sample -1, 0 or +1 in 16-bit terms."""
    rng = np.random.default_rng(3)
    return Recording("dither", rng.integers(-1, 2, int(seconds * SAMPLE_RATE)).astype(np.float32) / 32768)


def white_noise(seconds: float = 8.0, rms: float = 0.02) -> Recording:
    """White noise at -34 dBFS."""
    rng = np.random.default_rng(5)
    return Recording("white-noise", (rng.normal(0, rms, int(seconds * SAMPLE_RATE))).astype(np.float32))


def brown(seconds: float = 8.0, rms: float = 0.05) -> Recording:
    """Brown noise at -26 dBFS (a rumble like traffic or a fan)."""
    return Recording("brown-noise", brown_noise(seconds, rms, seed=7))


def chords(seconds: float = 8.0) -> Recording:
    """Music-like tones: four triads of harmonic-rich notes, each struck and decaying (C, Am, F, G)."""
    progression = [(261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63),
                   (196.00, 246.94, 293.66)]
    per = int(seconds * SAMPLE_RATE / len(progression))
    t = np.arange(per) / SAMPLE_RATE
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-t / 0.9)
    pieces = []
    for chord in progression:
        tone = sum(
            sum(np.sin(2 * np.pi * f * k * t) / k**1.5 for k in range(1, 5)) for f in chord
        )
        pieces.append(0.12 * envelope * tone)
    return Recording("chords", np.concatenate(pieces).astype(np.float32))


def non_speech() -> list[Recording]:
    return [silence(), dither(), white_noise(), brown(), chords()]


def sample_variants() -> list[Recording]:
    """pyannote's sample and the variants the issue names."""
    sample = pyannote_sample()
    return [sample, with_leading_silence(sample), with_quiet_gap(sample), cut(sample)]


# ---- asking the server -------------------------------------------------------------------------


@dataclass
class Answer:
    """One response, reduced to what the checks read."""

    text: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    words: list[tuple[str, float, float]] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    body: Any = None  # the JSON body, the srt/vtt/text string, or the list of stream events

    @property
    def spans(self) -> list[tuple[float, float]]:
        return [(s, e) for s, e, _ in self.segments]


def transcribe(client: Any, rec: Recording, model: str, fmt: str) -> Answer:
    """`rec` through the official SDK as `fmt`, reduced to an Answer. `fmt` is a response format
    (json, verbose_json with the default segment granularity, diarized_json, srt, vtt, text),
    "verbose_json+words" (`timestamp_granularities=["word", "segment"]`) or "stream"."""
    file = (f"{rec.name}.wav", rec.wav)
    if fmt in ("json", "verbose_json", "verbose_json+words", "diarized_json"):
        extra: dict[str, Any] = {}
        if fmt == "verbose_json+words":
            extra["timestamp_granularities"] = ["word", "segment"]
        raw = client.audio.transcriptions.with_raw_response.create(
            model=model, file=file, response_format=fmt.split("+")[0], **extra
        )
        body = raw.http_response.json()
        segments = [(s["start"], s["end"], s["text"]) for s in body.get("segments", [])]
        words = [(w["word"], w["start"], w["end"]) for w in body.get("words", []) or []]
        speakers = [s.get("speaker", "") for s in body.get("segments", [])]
        return Answer(body["text"], segments, words, speakers, body)
    if fmt == "stream":
        events = list(client.audio.transcriptions.create(model=model, file=file, stream=True))
        done = [e for e in events if e.type == "transcript.text.done"]
        assert len(done) == 1 and events[-1] is done[0], [e.type for e in events]
        return Answer(done[0].text, body=events)
    text = client.audio.transcriptions.create(model=model, file=file, response_format=fmt)
    if fmt in ("srt", "vtt"):
        return Answer(cue_texts(text), [(s, e, "") for s, e in cues(text)], body=text)
    return Answer(text.strip(), body=text)


# ---- metrics -------------------------------------------------------------------------------------

_NUMBERS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def normalise(text: str) -> list[str]:
    """Lower case, punctuation gone, hyphenated words split, a few abbreviations spelled out."""
    tokens = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    return [_NUMBERS.get(t, t) for t in tokens]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate on normalised words (numbers spelled out, hyphens split)."""
    return word_error_rate(reference, hypothesis, split=normalise)


def overlap(span: Span, spans: Iterable[Span]) -> float:
    start, end = span
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in spans)


def speech_share(segments: list[Span], speech_spans: Iterable[Span], collar: float = COLLAR) -> float:
    """Share of the segments' time that lies inside labelled speech widened by `collar` (1.0 if none)."""
    widened = merge((s - collar, e + collar) for s, e in speech_spans)
    total = sum(max(0.0, e - s) for s, e in segments)
    if total <= 0:
        return 1.0
    return sum(overlap((s, e), widened) for s, e in segments) / total


def time_outside_speech(segments: list[Span], speech_spans: Iterable[Span], collar: float = COLLAR) -> float:
    widened = merge((s - collar, e + collar) for s, e in speech_spans)
    return sum(max(0.0, e - s) - overlap((s, e), widened) for s, e in segments)


def repeated_sentences(text: str, *, min_words: int = 4, loop_words: int = 8) -> list[str]:
    """Sentences of `min_words`+ words said again anywhere in `text` (also inside a longer sentence),
    and runs of `loop_words` words that occur twice (loops without punctuation). Real speech of the
    recordings here repeats nothing that long."""
    words = normalise(text)
    joined = " " + " ".join(words) + " "
    found = []
    for sentence in re.split(r"[.?!]+", text):
        unit = normalise(sentence)
        if len(unit) >= min_words and joined.count(" " + " ".join(unit) + " ") >= 2:
            found.append(" ".join(unit))
    seen: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - loop_words + 1):
        gram = tuple(words[i : i + loop_words])
        if gram in seen and i - seen[gram] >= loop_words:
            found.append(" ".join(gram))
        seen.setdefault(gram, i)
    return sorted(set(found))


_CUE = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3}) --> (\d+):(\d\d):(\d\d)[,.](\d{3})")


def cues(subtitles: str) -> list[Span]:
    """(start, end) of every srt or vtt cue."""
    spans = []
    for m in _CUE.finditer(subtitles):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in m.groups())
        spans.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000))
    return spans


def cue_texts(subtitles: str) -> str:
    """The text lines of srt/vtt cues, joined (no header, numbers or times)."""
    lines = []
    for line in subtitles.splitlines():
        line = line.strip()
        if not line or line == "WEBVTT" or line.isdigit() or _CUE.search(line):
            continue
        lines.append(line)
    return " ".join(lines)


def word_start_errors(
    reference: tuple[tuple[str, float, float], ...], hypothesis: list[tuple[str, float, float]]
) -> list[float]:
    """|start difference| of the words that match between a reference alignment and returned words
    (matched in order by difflib on normalised words)."""
    import difflib

    ref = [(normalise(w) or [""])[0] for w, _, _ in reference]
    hyp = [(normalise(w) or [""])[0] for w, _, _ in hypothesis]
    errors = []
    for block in difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            errors.append(abs(reference[block.a + k][1] - hypothesis[block.b + k][1]))
    return errors
