"""Issue 11's metrics on real recordings, per model, through the official SDK:

    python -m bench.realaudio [--model base --model tiny.en] [--url http://127.0.0.1:8000/v1] [--write]

For pyannote's real sample and its variants (20 s of leading silence, a 20 s quiet gap, a mid-word
cut): first segment start against the first labelled speech, share of segment time in speech
(0.5 s collar), segments ending past the audio, repeated sentences. For non-speech (silence,
dither, noise, chords): segments and text returned. For the LibriVox track: WER and the median
word-start error against the forced alignment. For `gpt-4o-transcribe-diarize`: the sample's
segment DER and segments on non-speech. Without `--url` a gateway (default config, the given
models preloaded) runs in its own process. `--write` also writes docs/benchmarks.md's section.
"""

from __future__ import annotations

import argparse
import statistics
from typing import TYPE_CHECKING

from bench.report import table, write_section
from samples import realaudio as ra
from samples import speech

if TYPE_CHECKING:
    from openai import OpenAI

DIARIZE = "gpt-4o-transcribe-diarize"


def speech_rows(client: OpenAI, model: str) -> list[list[object]]:
    rows = []
    for rec in ra.sample_variants():
        answer = ra.transcribe(client, rec, model, "verbose_json")
        srt = ra.transcribe(client, rec, model, "srt")
        first = answer.segments[0][0] if answer.segments else float("nan")
        late = [e for _, e, _ in answer.segments if e > rec.duration + 0.01]
        late_cues = [e for _, e in srt.spans if e > rec.duration + 0.01]
        rows.append([
            model, rec.name, f"{rec.duration:.2f}", f"{first:.2f} (speech {rec.speech[0][0]:.2f})",
            f"{ra.speech_share(answer.spans, rec.speech):.0%}",
            f"{ra.time_outside_speech(answer.spans, rec.speech):.1f}",
            f"{len(late)} (max {max((e for _, e, _ in answer.segments), default=0):.2f})",
            f"{len(late_cues)} (max {max((e for _, e in srt.spans), default=0):.2f})",
            len(ra.repeated_sentences(answer.text)), len(answer.segments), len(ra.normalise(answer.text)),
        ])
    return rows


def non_speech_rows(client: OpenAI, model: str) -> list[list[object]]:
    rows = []
    for rec in ra.non_speech():
        answer = ra.transcribe(client, rec, model, "verbose_json+words")
        last = max((e for _, e, _ in answer.segments), default=0.0)
        rows.append([model, rec.name, len(answer.segments), len(answer.words), f"{last:.1f}", repr(answer.text[:40])])
    return rows


def librivox_row(client: OpenAI, model: str) -> list[object]:
    rec = ra.librivox_track()
    answer = ra.transcribe(client, rec, model, "verbose_json")
    errors = ra.word_start_errors(rec.words, ra.transcribe(client, rec, model, "verbose_json+words").words)
    median = statistics.median(errors) if errors else float("nan")
    return [model, f"{ra.wer(rec.text or '', answer.text):.1%}", f"{ra.speech_share(answer.spans, rec.speech):.0%}",
            f"{len(errors)}/{len(rec.words)}", f"{median:.2f}", len(ra.repeated_sentences(answer.text))]


def diarize_rows(client: OpenAI) -> list[list[object]]:
    rows = []
    for rec in [ra.pyannote_sample(), ra.cut(ra.pyannote_sample()), *ra.non_speech()]:
        answer = ra.transcribe(client, rec, DIARIZE, "diarized_json")
        der = ""
        if rec.name == "sample":
            turns = [(s, e, who) for (s, e, _), who in zip(answer.segments, answer.speakers, strict=True)]
            der = f"{speech.der(speech.read_rttm(speech.PYANNOTE_SAMPLE_RTTM), turns):.1%}"
        share = f"{ra.speech_share(answer.spans, rec.speech):.0%}" if rec.speech else ""
        last = max((e for _, e, _ in answer.segments), default=0.0)
        rows.append([rec.name, f"{rec.duration:.2f}", len(answer.segments), share, f"{last:.2f}", der,
                     repr(answer.text[:40])])
    return rows


def run(client: OpenAI, models: list[str]) -> str:
    speech_table, silent, libri = [], [], []
    for model in models:
        speech_table += speech_rows(client, model)
        silent += non_speech_rows(client, model)
        libri.append(librivox_row(client, model))
    return "\n".join([
        "## Real recordings (issue 11)",
        "",
        "`verbose_json` (default: segment timestamps) and `srt` through the official SDK; *repeated*: sentences "
        "of 4+ words said again, or 8-word runs that recur (samples/realaudio.py `repeated_sentences`). "
        "Targets: first segment >= 6.2 s "
        "on the sample (speech at 6.69 s), >= 90% of segment time in speech (0.5 s collar), nothing past the "
        "audio, no repeated sentence; non-speech: no segment, empty text; diarized segment DER <= 15%.",
        "",
        table(["model", "recording", "s", "first segment", "in speech", "s outside", "ends past audio",
               "srt cues past audio", "repeated", "segments", "words"], speech_table),
        "",
        table(["model", "non-speech (8 s)", "segments", "words", "last end", "text"], silent),
        "",
        "Non-speech asked with word and segment timestamps. LibriVox track (5 utterances, 24.7 s, pocketsphinx "
        "test data): WER and segments from `verbose_json`; word starts (asked with word timestamps) against "
        "pocketsphinx's forced alignment.",
        "",
        table(["model", "WER", "in speech", "words matched", "median start error s", "repeated"], libri),
        "",
        f"`{DIARIZE}` (`diarized_json`); DER of its segments as speaker turns (pyannote.metrics, no collar).",
        "",
        table(["recording", "s", "segments", "in speech", "last end", "segment DER", "text"], diarize_rows(client)),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="Whisper model ids (default: whisper-1, base, tiny.en)")
    parser.add_argument("--url", help="an already running gateway's /v1 URL")
    parser.add_argument("--write", action="store_true", help="also write docs/benchmarks.md's section")
    args = parser.parse_args(argv)
    models = args.model or ["whisper-1", "base", "tiny.en"]
    from openai import OpenAI

    if args.url:
        body = run(OpenAI(base_url=args.url, api_key="bench", max_retries=0, timeout=600), models)
    else:
        from bench.server import GatewayProcess

        served = sorted({"base" if m == "whisper-1" else m for m in models}, key=lambda m: m != "base")
        with GatewayProcess(models=served) as gateway:
            body = run(OpenAI(base_url=gateway.base_url, api_key="bench", max_retries=0, timeout=600), models)
    print(body)
    if args.write:
        write_section("realaudio", body)


if __name__ == "__main__":
    main()
