"""Text to speech: time to first audio byte, real-time factor, throughput with 4 concurrent requests.

`audio-gateway serve` (default config) runs in its own process; the official `openai` SDK
streams the speech (`with_streaming_response`) and notes when the first and the last byte
arrive. Writes the `tts` section of docs/benchmarks.md.

    python -m bench.tts [--runs 5] [--base-url http://host:port/v1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bench.report import table, write_section
from bench.server import GatewayProcess

if TYPE_CHECKING:
    from openai import OpenAI

# 300 characters of ordinary prose, four sentences.
TEXT = (
    "The library opens at nine in the morning and closes at six in the evening. "
    "Visitors can borrow up to ten books at a time, and most loans last three weeks. "
    "If you want a book that is out now, ask at the front desk to reserve it. "
    "We will phone you as soon as it comes back, usually within a day or two."
)
assert len(TEXT) == 300, len(TEXT)
PCM_RATE = 24_000
CONCURRENCY = 4


@dataclass(frozen=True)
class Run:
    ttfb: float  # seconds from sending the request to the first audio byte
    total: float  # seconds until the last byte
    size: int  # bytes received


SpeechFormat = Literal["pcm", "mp3"]
FORMATS: tuple[SpeechFormat, ...] = ("pcm", "mp3")


def speak(client: OpenAI, response_format: SpeechFormat) -> Run:
    start = time.perf_counter()
    first = None
    size = 0
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format=response_format
    ) as response:
        for chunk in response.iter_bytes():
            if chunk and first is None:
                first = time.perf_counter() - start
            size += len(chunk)
    return Run(ttfb=first if first is not None else float("nan"), total=time.perf_counter() - start, size=size)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def measure(client: OpenAI, runs: int) -> str:
    for fmt in FORMATS:
        speak(client, fmt)  # warm-up
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    single = {fmt: [speak(client, fmt) for _ in range(runs)] for fmt in FORMATS}
    audio_seconds = single["pcm"][0].size / 2 / PCM_RATE
    rows = []
    for fmt, results in single.items():
        ttfb = [r.ttfb for r in results]
        total = statistics.median(r.total for r in results)
        rows.append(
            [
                f"`{fmt}`",
                ms(statistics.median(ttfb)),
                f"{ms(min(ttfb))} – {ms(max(ttfb))}",
                ms(total),
                f"{total / audio_seconds:.3f}",
            ]
        )

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        start = time.perf_counter()
        loaded = list(pool.map(lambda _: speak(client, "pcm"), range(CONCURRENCY)))
        wall = time.perf_counter() - start
    produced = sum(r.size for r in loaded) / 2 / PCM_RATE
    loaded_ttfb = [r.ttfb for r in loaded]

    return (
        "## Text to speech (Piper `en_US-joe-medium`, CPU)\n\n"
        f"A {len(TEXT)}-character input (four sentences, {audio_seconds:.1f} s of speech), model `tts-1`, voice "
        "`alloy`, streamed with the OpenAI SDK from `audio-gateway serve` (default config, Whisper limited to an "
        f"idle `tiny.en`); {runs} requests per "
        "format after a warm-up, medians. *First byte*: from sending the request to the first audio byte. "
        "RTF = whole response time / audio duration (lower is faster). Target: first byte under 150 ms. "
        f"Load average of the machine when measuring: {load:.1f} "
        "(it is shared: other work makes every figure larger).\n\n"
        + table(["format", "first byte ms", "range ms", "whole response ms", "RTF"], rows)
        + f"\n\n{CONCURRENCY} concurrent `pcm` requests of the same text: {wall:.2f} s for "
        f"{produced:.1f} s of audio, **{produced / wall:.1f} s of audio per second**; first byte median "
        f"{ms(statistics.median(loaded_ttfb))} ms, worst {ms(max(loaded_ttfb))} ms (the requests take turns on "
        "the CPU piece by piece).\n\n"
        "How the first byte comes early: the first piece of text is cut short (at most 30 characters, at a "
        "clause mark or after a content word) and sent as soon as it is synthesised; the rest follows sentence "
        "by sentence while the client plays."
    )


def main(argv: list[str] | None = None) -> None:
    from openai import OpenAI

    parser = argparse.ArgumentParser(description="Text-to-speech benchmark")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base-url", help="measure a running gateway instead of starting one (not written)")
    args = parser.parse_args(argv)
    if args.base_url:
        client = OpenAI(base_url=args.base_url, api_key="bench", max_retries=0, timeout=600)
        print(measure(client, args.runs))
        return
    with GatewayProcess(models=["tiny.en"]) as gateway:  # Whisper idle and small: the CPU is for Piper
        client = OpenAI(base_url=gateway.base_url, api_key="bench", max_retries=0, timeout=600)
        body = measure(client, args.runs)
    print(body)
    write_section("tts", body)


if __name__ == "__main__":
    main()
