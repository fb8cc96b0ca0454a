"""Diarization error rate and real-time factor of the embedded diarization engine.

- DER with pyannote.metrics (no collar, overlapped speech scored) on pyannote.audio's 30 s
  two-speaker sample and on conversations of espeak-ng and Piper voices made here with exact
  references (1 to 4 speakers).
- Known speakers: how often a named speaker comes back under its name, and the similarities
  that calibrate `known_threshold` (reference clip vs. the engine's speaker vectors, for the
  same voice and for other voices).
- Real-time factor: engine seconds per second of audio, the median of a few runs, with the
  engine's CPU budget (all cores of this machine).

Run: `python -m bench diarization` (or `python -m bench.diarization`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench.report import table, write_section
from models.diarization.embedded import EmbeddedDiarizer
from models.options import DiarizeOptions, KnownSpeaker
from tests import speech

REFERENCE_TEXT = "Please remember to lock the front door tonight, and leave the key with the neighbours."

CONVERSATIONS = {
    "1 voice (Piper joe)": (["piper:joe"], 6),
    "2 voices (espeak m3, f4)": (["en-us+m3", "en-us+f4"], 8),
    "3 voices (Piper joe, espeak m3, f4)": (["piper:joe", "en-us+m3", "en-us+f4"], 9),
    "4 voices (+ espeak scotland m7)": (["piper:joe", "en-us+m3", "en-us+f4", "en-gb-scotland+m7"], 12),
}


def timed(engine: EmbeddedDiarizer, samples: np.ndarray, options: DiarizeOptions, repeats: int):
    times = []
    turns = []
    for _ in range(repeats):
        start = time.perf_counter()
        turns = engine.diarize(samples, options)
        times.append(time.perf_counter() - start)
    return turns, statistics.median(times)


def reference(voice: str) -> np.ndarray:
    return speech.speak(REFERENCE_TEXT, voice)


def calibration(engine: EmbeddedDiarizer, seeds: range) -> tuple[list[float], list[float]]:
    """Similarities of reference clips to speaker vectors: same voice, other voice."""
    genuine: list[float] = []
    impostor: list[float] = []
    pool = ["piper:joe", "en-us+m3", "en-us+f4", "en-gb-scotland+m7"]
    refs = {voice: engine.encoder.embed(reference(voice)) for voice in pool}
    for seed in seeds:
        voices = [pool[(seed + i) % len(pool)] for i in range(2 + seed % 2)]
        conv = speech.round_robin(voices, 3 * len(voices), seed=seed, first=seed)
        analysis = engine.analyse(conv.samples, DiarizeOptions())
        for label, vector in enumerate(analysis.speaker_vectors):
            who = majority_voice(conv, analysis, label)
            for voice, ref in refs.items():
                (genuine if voice == who else impostor).append(float(vector @ ref))
    # the sample: its two speakers, references cut from the recording itself
    sample = speech.pyannote_sample()
    analysis = engine.analyse(sample.samples, DiarizeOptions())
    for label, vector in enumerate(analysis.speaker_vectors):
        who = majority_voice(sample, analysis, label)
        for speaker in ("speaker90", "speaker91"):
            ref = engine.encoder.embed(speech.cut(sample, speaker))
            (genuine if speaker == who else impostor).append(float(vector @ ref))
    return genuine, impostor


def majority_voice(conv: speech.Conversation, analysis, label: int) -> str:
    totals: dict[str, float] = {}
    centers = analysis.short.centers
    for center in centers[analysis.path == label]:
        for lo, _ in analysis.timeline.to_original(center, center + 1e-3):
            for start, end, voice in conv.turns:
                if start <= lo < end:
                    totals[voice] = totals.get(voice, 0.0) + 1
    return max(totals, key=totals.get) if totals else "?"


def run(repeats: int) -> str:
    engine = EmbeddedDiarizer()
    engine.load()
    engine.diarize(speech.pyannote_sample().samples, DiarizeOptions())  # warm up
    rows = []
    sample = speech.pyannote_sample()
    turns, seconds = timed(engine, sample.samples, DiarizeOptions(), repeats)
    rows.append(["pyannote sample (real, 2 speakers)", f"{sample.duration:.1f}", "2", len({t.speaker for t in turns}),
                 f"{speech.der(sample.turns, turns) * 100:.1f}%", f"{seconds / sample.duration:.3f}"])
    for name, (voices, n) in CONVERSATIONS.items():
        conv = speech.round_robin(voices, n, seed=11)
        turns, seconds = timed(engine, conv.samples, DiarizeOptions(), repeats)
        rows.append([name, f"{conv.duration:.1f}", len(voices), len({t.speaker for t in turns}),
                     f"{speech.der(conv.turns, turns) * 100:.1f}%", f"{seconds / conv.duration:.3f}"])
    der_table = table(["recording", "seconds", "speakers", "found", "DER", "RTF"], rows)

    # known speakers: named DER (a wrong name is a confusion) on the 3-voice conversation
    conv = speech.round_robin(CONVERSATIONS["3 voices (Piper joe, espeak m3, f4)"][0], 9, seed=12)
    known = (KnownSpeaker("joe", reference("piper:joe")), KnownSpeaker("fiona", reference("en-us+f4")))
    turns = engine.diarize(conv.samples, DiarizeOptions(known_speakers=known))
    names = {"joe": "piper:joe", "fiona": "en-us+f4"}
    named = [(t.start, t.end, names.get(t.speaker, t.speaker)) for t in turns]
    sample_known = tuple(KnownSpeaker(n, speech.cut(sample, s)) for n, s in (("alice", "speaker90"), ("bob", "speaker91")))
    s_turns = engine.diarize(sample.samples, DiarizeOptions(known_speakers=sample_known))
    s_named = [(t.start, t.end, {"alice": "speaker90", "bob": "speaker91"}.get(t.speaker, t.speaker)) for t in s_turns]
    known_rows = [
        ["3 voices, 2 named by clips of other sentences", sorted({t.speaker for t in turns}),
         f"{speech.der(conv.turns, named, ) * 100:.1f}%"],
        ["pyannote sample, both named by clips cut from it", sorted({t.speaker for t in s_turns}),
         f"{speech.der(sample.turns, s_named) * 100:.1f}%"],
    ]
    known_table = table(["recording", "speakers returned", "DER with names as labels"], known_rows)

    genuine, impostor = calibration(engine, range(6))
    g, i = np.array(genuine), np.array(impostor)
    calib = table(
        ["pairs", "n", "min", "5th pct", "median", "95th pct", "max"],
        [[label, len(x), *(f"{v:.3f}" for v in (x.min(), np.percentile(x, 5), np.median(x), np.percentile(x, 95), x.max()))]
         for label, x in (("same voice", g), ("other voice", i))],
    )
    threshold = engine.config.known_threshold
    return "\n".join([
        "## Diarization (embedded engine)",
        "",
        "Silero VAD (faster-whisper's) + resemblyzer d-vectors + spectral clustering with an auto-tuned eigengap + "
        "Viterbi boundary refinement. DER by pyannote.metrics, no collar, overlapped speech scored "
        "(the engine labels one speaker at a time, so overlap counts as missed speech). RTF: engine seconds per "
        f"audio second, median of {repeats} runs.",
        "",
        der_table,
        "",
        "Known speakers:",
        "",
        known_table,
        "",
        f"Calibration of `known_threshold` (now {threshold}): cosine similarity between a reference clip's embedding "
        "and the engine's speaker vectors, over conversations of 2-3 of 4 voices (references: a sentence not in "
        "the conversation) and the pyannote sample (references cut from it).",
        "",
        calib,
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    body = run(args.repeats)
    print(body)
    write_section("diarization", body)


if __name__ == "__main__":
    main()
