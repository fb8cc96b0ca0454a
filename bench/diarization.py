"""Diarization error rate and real-time factor of the embedded diarization engine.

- DER with pyannote.metrics (no collar, overlapped speech scored) on pyannote.audio's 30 s
  two-speaker sample and on conversations of espeak-ng and Piper voices made here with exact
  references (1 to 4 speakers).
- Known speakers: how often a named speaker comes back under its name, and the similarities
  that calibrate `known_threshold` (reference clip vs. the engine's speaker vectors, for the
  same voice and for other voices).
- Real-time factor: engine seconds per second of audio, the median of a few runs, with the
  engine's CPU budget (all cores of this machine).
- The whole request: `gpt-4o-transcribe-diarize` through HTTP with the OpenAI SDK against
  `audio-gateway serve` (Whisper base + the embedded engine): real-time factor of the
  diarized_json response, time to the first streamed segment, and how much of the speech
  the returned segments give to the right speaker (section `diarization-request`).

Run: `python -m bench diarization` (or `python -m bench.diarization [--request-only]`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.report import table, write_section
from bench.server import GatewayProcess
from models.diarization.embedded import EmbeddedDiarizer
from models.options import DiarizeOptions, KnownSpeaker
from samples import speech

if TYPE_CHECKING:
    from openai import OpenAI

    from models.diarization.embedded import Analysis
    from models.types import SpeakerTurn

REFERENCE_TEXT = "Please remember to lock the front door tonight, and leave the key with the neighbours."

CONVERSATIONS = {
    "1 voice (Piper joe)": (["piper:joe"], 6),
    "2 voices (espeak m3, f4)": (["en-us+m3", "en-us+f4"], 8),
    "3 voices (Piper joe, espeak m3, f4)": (["piper:joe", "en-us+m3", "en-us+f4"], 9),
    "4 voices (+ espeak scotland m7)": (["piper:joe", "en-us+m3", "en-us+f4", "en-gb-scotland+m7"], 12),
}


def timed(
    engine: EmbeddedDiarizer, samples: np.ndarray, options: DiarizeOptions, repeats: int
) -> tuple[list[SpeakerTurn], float]:
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
        assert analysis is not None, "a conversation has speech"
        for label, vector in enumerate(analysis.speaker_vectors):
            who = majority_voice(conv, analysis, label)
            for voice, ref in refs.items():
                (genuine if voice == who else impostor).append(float(vector @ ref))
    # the sample: its two speakers, references cut from the recording itself
    sample = speech.pyannote_sample()
    analysis = engine.analyse(sample.samples, DiarizeOptions())
    assert analysis is not None, "the sample has speech"
    for label, vector in enumerate(analysis.speaker_vectors):
        who = majority_voice(sample, analysis, label)
        for speaker in ("speaker90", "speaker91"):
            ref = engine.encoder.embed(speech.cut(sample, speaker))
            (genuine if speaker == who else impostor).append(float(vector @ ref))
    return genuine, impostor


def majority_voice(conv: speech.Conversation, analysis: Analysis, label: int) -> str:
    totals: dict[str, float] = {}
    centers = analysis.short.centers
    for center in centers[analysis.path == label]:
        for lo, _ in analysis.timeline.to_original(center, center + 1e-3):
            for start, end, voice in conv.turns:
                if start <= lo < end:
                    totals[voice] = totals.get(voice, 0.0) + 1
    return max(totals, key=totals.__getitem__) if totals else "?"


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
    sample_known = tuple(
        KnownSpeaker(n, speech.cut(sample, s)) for n, s in (("alice", "speaker90"), ("bob", "speaker91"))
    )
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
        [[label, len(x), *(f"{v:.3f}" for v in (x.min(), *np.percentile(x, [5, 50, 95]), x.max()))]
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


MODEL = "gpt-4o-transcribe-diarize"


def _wav(samples: np.ndarray) -> bytes:
    from samples.audio import encode

    return encode(samples, "wav")


def _request(client: OpenAI, audio: bytes, **fields: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = client.audio.transcriptions.create(model=MODEL, file=("audio.wav", audio), response_format="diarized_json",
                                                **fields)
    return time.perf_counter() - start, result


def _first_segment(client: OpenAI, audio: bytes, **fields: Any) -> tuple[float, float]:
    """Seconds to the first transcript.text.segment event and to the end of the stream."""
    start = time.perf_counter()
    first = None
    for event in client.audio.transcriptions.create(model=MODEL, file=("audio.wav", audio),
                                                    response_format="diarized_json", stream=True, **fields):
        if event.type == "transcript.text.segment" and first is None:
            first = time.perf_counter() - start
    return first if first is not None else float("nan"), time.perf_counter() - start


def request_section(client: OpenAI, repeats: int) -> str:
    """The whole diarized transcription request through HTTP."""
    from samples.audio import data_url, encode

    sample = speech.pyannote_sample()
    conv = speech.round_robin(CONVERSATIONS["3 voices (Piper joe, espeak m3, f4)"][0], 9, seed=12)
    known = {"joe": data_url(encode(reference("piper:joe"), "mp3"), "audio/mpeg"),
             "fiona": data_url(encode(reference("en-us+f4"), "ogg"), "audio/ogg")}
    names = {"joe": "piper:joe", "fiona": "en-us+f4"}
    cases: list[tuple[str, speech.Conversation, dict[str, Any]]] = [
        ("pyannote sample (real, 2 speakers)", sample, {}),
        ("3 voices, `chunking_strategy=auto`", conv, {"chunking_strategy": "auto"}),
        ("3 voices, 2 named (`known_speaker_*`), `auto`", conv,
         {"chunking_strategy": "auto", "known_speaker_names": list(known),
          "known_speaker_references": list(known.values())}),
    ]
    _request(client, _wav(sample.samples))  # warm-up: loads torch, the speaker encoder, Whisper
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = []
    for name, recording, fields in cases:
        # the real sample as published (written again as 16-bit WAV it scores differently; see below)
        audio = speech.PYANNOTE_SAMPLE_WAV.read_bytes() if recording is sample else _wav(recording.samples)
        runs = [_request(client, audio, **fields) for _ in range(repeats)]
        seconds = statistics.median(t for t, _ in runs)
        segments = runs[-1][1].segments
        spans = [(s.start, s.end, names.get(s.speaker, s.speaker)) for s in segments]
        accuracy = speech.speaker_accuracy(recording.turns, spans)
        rows.append([name, f"{recording.duration:.1f}", len(segments), sorted({s.speaker for s in segments}),
                     f"{accuracy * 100:.1f}%", f"{speech.der(recording.turns, spans) * 100:.1f}%",
                     f"{seconds:.1f}", f"{seconds / recording.duration:.3f}"])
    # how much the sample's figure moves with inaudible changes of its samples
    rng = np.random.default_rng(1)
    altered = [_wav(sample.samples)] + [
        _wav(sample.samples + rng.normal(0, 1e-4, len(sample.samples)).astype(np.float32)) for _ in range(3)
    ]
    moved = []
    for audio in altered:
        segments = _request(client, audio)[1].segments
        moved.append(speech.der(sample.turns, [(s.start, s.end, s.speaker) for s in segments]) * 100)
    frames = np.zeros(int(sample.duration * 100) + 1, int)
    for start, end, _ in sample.turns:
        frames[round(start * 100) : round(end * 100)] += 1
    overlap = (frames >= 2).sum() / max(1, (frames >= 1).sum()) * 100
    first, whole = _first_segment(client, _wav(sample.samples))
    plain = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("audio.wav", _wav(sample.samples)))
        plain.append(time.perf_counter() - start)
    return "\n".join([
        "## Diarized transcription request (`gpt-4o-transcribe-diarize`)",
        "",
        "The whole request through HTTP: the OpenAI SDK against `audio-gateway serve` (default config: Whisper "
        f"`base` int8 on the CPU + the embedded engine), `response_format=diarized_json`, median of {repeats} runs "
        "after a warm-up. RTF = response time / audio duration. *Right speaker*: share of the speech time inside "
        "the returned segments that goes to the reference speaker (each label renamed to the reference speaker it "
        "overlaps most; names mapped to their voices). *Segment DER*: the segments scored as speaker turns "
        "(pyannote.metrics, no collar), which also counts the pauses Whisper's segments leave out as missed "
        f"speech. Load average of the shared machine when measuring: {load:.1f}.",
        "",
        table(["recording", "seconds", "segments", "speakers", "right speaker", "segment DER", "response s", "RTF"],
              rows),
        "",
        "The real sample is sent as published. Its segment DER moves with inaudible changes: written again as "
        f"16-bit WAV {moved[0]:.1f}%, with white noise at -80 dBFS added {min(moved[1:]):.1f}-{max(moved[1:]):.1f}%. "
        f"Overlapped speech, which segments of one speaker each cannot cover, is {overlap:.1f}% of its speech.",
        "",
        f"Streamed (`stream=true`), pyannote sample: first `transcript.text.segment` after {first:.1f} s, "
        f"stream done after {whole:.1f} s (the engine needs the whole recording before the first segment; "
        "then segments follow as Whisper decodes). The same recording without diarization "
        f"(`gpt-4o-transcribe`, json): {statistics.median(plain):.1f} s, RTF "
        f"{statistics.median(plain) / sample.duration:.3f}.",
    ])


def main(argv: list[str] | None = None) -> None:
    from openai import OpenAI

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--request-only", action="store_true", help="measure only the HTTP request section")
    args = parser.parse_args(argv)
    if not args.request_only:
        body = run(args.repeats)
        print(body)
        write_section("diarization", body)
    with GatewayProcess(models=["base"]) as gateway:
        client = OpenAI(base_url=gateway.base_url, api_key="bench", max_retries=0, timeout=900)
        body = request_section(client, args.repeats)
    print(body)
    write_section("diarization-request", body)


if __name__ == "__main__":
    main()
