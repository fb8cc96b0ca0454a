"""Live transcription (`/v1/realtime?intent=transcription`): latency, accuracy and sessions per machine.

One `audio-gateway serve` process (tiny.en and base preloaded, default settings: server VAD with
500 ms of silence, interim decodes every 1000 ms of a turn). Real speech with known text (bench/
live_stream.py) is streamed in real time through the official SDK's realtime client, and in the
same run each turn is also sent as a file (`POST /v1/audio/transcriptions`, same model) after the
live pass: the baseline a client without live transcription would have.

Measured per model: the delay from the end of a turn's speech (the last 20 ms frame within 26 dB
of the loudest; VAD's 500 ms of silence included) to its `completed` event, against the time a
file upload of the same turn takes; the first interim delta after speech start; the word error
rate of the live turns and of the same turns as files. Then the ramp: 1, 2, 4, 6, 8 concurrent
sessions of tiny.en, each streaming real-time paced speech (staggered starts), and whether they
keep up: every turn completed, p95 delay within BOUND_P95_S, and the delay not growing (median of
the second half of each session's turns no more than GROWTH_S above the first half's).

`--quick`: each turn once per model and 30 s per session in the ramp (the full run: each turn twice
and 60 s per session).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

from bench.live_stream import Clip, SessionRun, TurnResult, clips, median, percentile, stream
from bench.report import table, write_section
from bench.server import GatewayProcess

MODELS = ("tiny.en", "base")
LEVELS = (1, 2, 4, 6, 8)
RAMP_MODEL = "tiny.en"
BOUND_P95_S = 3.0
"""A session keeps up only if 95% of its turns complete within this many seconds of their speech's end."""
GROWTH_S = 1.0
"""...and the median delay of its later turns is no more than this above its earlier turns'."""
RAMP_CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    "interim deltas on (default)": {},
    "interim deltas off": {"realtime": {"interim_interval_ms": 0}},
}
"""The ramp runs on a fresh server per configuration: the defaults, and without interim decodes."""
STAGGER_S = 0.7
READING = (
    "Reading the figures: the delay of a turn is the VAD's 500 ms of silence, then its final decode (the *of which "
    "after speech_stopped* column), which shares the cores with interim decodes: each one decodes the whole turn "
    "so far again after every further second of it (a 5 s turn is decoded about five times before its final "
    "decode), an interim decode still running when the turn ends holds its cores until its next model call, and "
    "a final decode may wait behind other sessions' interim decodes. The ramp without interim decodes shows what "
    "they cost in sessions."
)
"""Session i starts streaming i * STAGGER_S after the first: people do not pause in step."""
LATENCY_HEADERS = [
    "model", "turns done", "median speech s", "completed after speech end s (median)", "p95 s",
    "of which after speech_stopped s (median)", "file request s (median)", "file p95 s",
    "first interim delta s (median)", "p95 s", "turns with interim",
    "live WER %", "file WER %", "live - file", "client lag ms",
]  # fmt: skip
RAMP_HEADERS = [
    "configuration", "sessions", "turns", "completed after speech end s (median)", "p95 s", "max s",
    "first half median s",
    "second half median s", "interim", "missing or failed", "client lag ms", "verdict",
]  # fmt: skip


@dataclass
class FileResult:
    seconds: float  # request to answer
    text: str


def transcribe_files(base_url: str, model: str, turns: list[Clip]) -> list[FileResult]:
    from openai import OpenAI

    from samples.audio import encode

    client = OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=600)
    out = []
    for clip in turns:
        wav = encode(clip.samples, "wav", rate=24_000)
        start = time.perf_counter()
        answer = client.audio.transcriptions.create(model=model, file=("turn.wav", wav), language="en")
        out.append(FileResult(time.perf_counter() - start, answer.text))
    return out


def corpus_wer(pairs: list[tuple[str, str]]) -> float:
    """Word errors over all turns / reference words over all turns (normalised words, samples/realaudio.py)."""
    from samples.realaudio import normalise, wer

    words = sum(len(normalise(ref)) for ref, _ in pairs)
    return sum(wer(ref, hyp) * len(normalise(ref)) for ref, hyp in pairs) / words


def latency_rows(base_url: str, turns: list[Clip]) -> list[list[Any]]:
    rows = []
    for model in MODELS:
        run = asyncio.run(stream(base_url, model, turns))
        files = transcribe_files(base_url, model, turns)
        done = [t for t in run.turns if t.completed_after_end is not None]
        delays = [t.completed_after_end for t in done if t.completed_after_end is not None]
        after_stop = [t.completed_after_stopped for t in done if t.completed_after_stopped is not None]
        interim = [t.first_delta_after_start for t in run.turns if t.interim and t.first_delta_after_start is not None]
        file_s = [f.seconds for f in files]
        live_wer = corpus_wer([(t.clip.text, t.transcript) for t in run.turns])
        file_wer = corpus_wer([(c.text, f.text) for c, f in zip(turns, files, strict=True)])
        print(model, [round(d, 2) for d in delays], [round(d, 2) for d in interim], flush=True)
        rows.append(
            [f"`{model}`", f"{len(done)}/{len(run.turns)}",
             f"{median([c.speech[1] - c.speech[0] for c in turns]):.1f}",
             f"{median(delays):.2f}", f"{percentile(delays, 95):.2f}", f"{median(after_stop):.2f}",
             f"{median(file_s):.2f}",
             f"{percentile(file_s, 95):.2f}", f"{median(interim):.2f}", f"{percentile(interim, 95):.2f}",
             f"{len(interim)}/{len(run.turns)}", f"{100 * live_wer:.1f}", f"{100 * file_wer:.1f}",
             f"{100 * (live_wer - file_wer):+.1f}", f"{run.send_lag_max * 1000:.0f}"]
        )  # fmt: skip
    return rows


def session_turns(all_clips: list[Clip], index: int, seconds: float) -> list[Clip]:
    """Turns for session `index`: the clips from a different first one, repeated to about `seconds` of audio."""
    rotated = all_clips[index % len(all_clips) :] + all_clips[: index % len(all_clips)]
    out: list[Clip] = []
    while sum(c.seconds + 1.5 for c in out) < seconds:
        out.append(rotated[len(out) % len(rotated)])
    return out


async def _sessions(base_url: str, count: int, all_clips: list[Clip], seconds: float) -> list[SessionRun]:
    runs = [
        stream(base_url, RAMP_MODEL, session_turns(all_clips, i, seconds), start_delay=i * STAGGER_S)
        for i in range(count)
    ]
    return await asyncio.gather(*runs)


def verdict(runs: list[SessionRun]) -> tuple[list[Any], bool, float]:
    """A row of the ramp table, whether the sessions kept up, and their p95 delay."""
    turns: list[TurnResult] = [t for run in runs for t in run.turns]
    delays = [t.completed_after_end for t in turns if t.completed_after_end is not None]
    early, late = [], []
    for run in runs:
        half = len(run.turns) // 2
        early += [t.completed_after_end for t in run.turns[:half] if t.completed_after_end is not None]
        late += [t.completed_after_end for t in run.turns[half:] if t.completed_after_end is not None]
    missing = len(turns) - len(delays) + sum(t.failed for t in turns)
    p95 = percentile(delays, 95)
    growth = median(late) - median(early)
    keeps_up = missing == 0 and p95 <= BOUND_P95_S and growth <= GROWTH_S
    interim = sum(t.interim for t in turns)
    row = [
        len(runs), len(turns), f"{median(delays):.2f}", f"{p95:.2f}", f"{max(delays, default=float('nan')):.2f}",
        f"{median(early):.2f}", f"{median(late):.2f}", f"{100 * interim / max(1, len(turns)):.0f}%", missing,
        f"{max(r.send_lag_max for r in runs) * 1000:.0f}", "keeps up" if keeps_up else "falls behind",
    ]  # fmt: skip
    return row, keeps_up, p95


def ramp_rows(base_url: str, all_clips: list[Clip], seconds: float, name: str) -> tuple[list[list[Any]], int]:
    """The ramp's rows and the most sessions that kept up (with every smaller level keeping up too)."""
    rows, held, all_kept = [], 0, True
    for count in LEVELS:
        runs = asyncio.run(_sessions(base_url, count, all_clips, seconds))
        row, keeps_up, p95 = verdict(runs)
        print(name, count, row, flush=True)
        rows.append([name, *row])
        all_kept = all_kept and keeps_up
        if all_kept:
            held = count
        if p95 > 4 * BOUND_P95_S:  # far behind: more sessions would only wait longer
            break
    return rows, held


def run(quick: bool) -> str:
    load_before = os.getloadavg()
    all_clips = clips()
    turns = all_clips if quick else all_clips * 2
    seconds = 30.0 if quick else 60.0
    with GatewayProcess(models=list(MODELS)) as gateway:
        latency = latency_rows(gateway.base_url, turns)
    ramp, held = [], {}
    for name, sections in RAMP_CONFIGS.items():
        with GatewayProcess(models=[RAMP_MODEL], sections=sections) as gateway:
            rows, held[name] = ramp_rows(gateway.base_url, all_clips, seconds, name)
            ramp += rows
    load_after = os.getloadavg()
    return render(latency, ramp, held, len(turns), seconds, quick, (load_before[0], load_after[0]))


def render(
    latency: list[list[Any]],
    ramp: list[list[Any]],
    held: dict[str, int],
    turns: int,
    seconds: float,
    quick: bool,
    load: tuple[float, float],
) -> str:
    mode = " (`--quick`)" if quick else ""
    return (
        f"## Live transcription (Realtime API, CPU){mode}\n\n"
        "One `audio-gateway serve` (`tiny.en` and `base` preloaded, default settings: server VAD with 500 ms of "
        "silence, interim decodes every 1000 ms of a turn). Real speech with known text (the five LibriVox "
        "utterances of pocketsphinx's test data, 3-7 s, one human reader; `en_fox` and `en_weather`), each "
        f"followed by 1.5 s of silence, {turns} turns per model, streamed through the official `openai` SDK's "
        "realtime client as a microphone delivers it: pcm16 at 24 kHz in 100 ms appends, each sent when its audio "
        "has been spoken. In the same run each turn is also sent as a file (`POST /v1/audio/transcriptions`, same "
        "model, `language=en`) after the live pass: the baseline of a client that uploads a turn once it is "
        "spoken.\n\n"
        "*completed after speech end*: from the end of a turn's speech (its last 20 ms frame within 26 dB of the "
        "loudest) to its `conversation.item.input_audio_transcription.completed`, so the VAD's 500 ms of silence "
        "is included; *of which after speech_stopped*: from the server's `speech_stopped` event to `completed` "
        "(the transcription's own share). *file request*: the upload of the same turn to its answer. "
        "*first interim delta*: from the "
        "start of the turn's speech to its first `delta` sent while it was still spoken (turns with one / all). "
        "*WER*: word errors over all turns / reference words (normalised words), live turns and the same turns as "
        "files. *client lag*: how late the benchmark client sent an append at worst (its own share of a delay). "
        "Targets (issue 14): completed within 1.0 s of the end of a 5 s turn with `tiny.en` (median), first "
        "interim delta within 1.5 s, live WER within 2 points of the file's.\n\n"
        + table(LATENCY_HEADERS, latency)
        + f"\n\n**Concurrent sessions of `{RAMP_MODEL}`.** N sessions at once, each streaming about {seconds:.0f} s "
        f"of the same real-time paced turns (each from a different first turn; session i starts {STAGGER_S} s "
        "after session i-1), on a fresh server per configuration: the defaults, and with interim decodes off "
        "(`realtime.interim_interval_ms: 0`: only each turn's final decode). A level *keeps up* when every turn "
        "completes, the p95 delay from speech end to "
        f"`completed` is at most {BOUND_P95_S:.1f} s, and the delay does not grow: the median of the second half "
        f"of each session's turns is at most {GROWTH_S:.1f} s above the first half's. *interim*: turns that got a "
        "delta while still spoken (interim decodes are best effort: under load they are folded or skipped).\n\n"
        + table(RAMP_HEADERS, ramp)
        + "\n\n"
        + READING
        + f"\n\nSessions of `{RAMP_MODEL}` this machine held in real time: "
        + ", ".join(f"**{count}** with {name}" for name, count in held.items())
        + " (target: at least 6). "
        f"Load average of the machine before / after the run: {load[0]:.1f} / {load[1]:.1f}: the machine is shared "
        "with other work, so every delay here may be larger than on a quiet 2-core machine (rerun "
        "`python -m bench realtime` there for the figures to quote)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns and shorter sessions (a few minutes)")
    parser.add_argument("--no-write", action="store_true", help="print the section only, leave docs/benchmarks.md")
    args = parser.parse_args(argv)
    body = run(args.quick)
    print(body)
    if not args.no_write:
        write_section("realtime", body)


if __name__ == "__main__":
    main()
