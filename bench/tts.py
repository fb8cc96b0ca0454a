"""Text-to-speech benchmark: time to first byte, real-time factor, throughput under load.

Runs a real server (`python -m gateway serve`, default config) unless `--base-url` points at
one, drives it with the official `openai` SDK, and writes its section of
docs/benchmarks.md between the `<!-- tts:start -->` and `<!-- tts:end -->` markers.

    python -m bench.tts [--base-url http://127.0.0.1:8000/v1] [--runs 5] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from openai import OpenAI

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = REPO_ROOT / "docs" / "benchmarks.md"
START, END = "<!-- tts:start -->", "<!-- tts:end -->"

# 300 characters of ordinary prose, four sentences.
TEXT = (
    "The library opens at nine in the morning and closes at six in the evening. "
    "Visitors can borrow up to ten books at a time, and most loans last three weeks. "
    "If you want a book that is out now, ask at the front desk to reserve it. "
    "We will phone you as soon as it comes back, usually within a day or two."
)
assert len(TEXT) == 300, len(TEXT)
PCM_RATE = 24_000


@dataclass(frozen=True)
class Run:
    ttfb: float  # seconds from sending the request to the first audio byte
    total: float  # seconds until the last byte
    size: int  # bytes received


def speak(client: OpenAI, response_format: str, text: str = TEXT) -> Run:
    start = time.perf_counter()
    first = None
    size = 0
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=text, response_format=response_format
    ) as response:
        for chunk in response.iter_bytes():
            if chunk and first is None:
                first = time.perf_counter() - start
            size += len(chunk)
    return Run(ttfb=first or float("nan"), total=time.perf_counter() - start, size=size)


def median(values: list[float]) -> float:
    return statistics.median(values)


def measure(client: OpenAI, runs: int) -> dict[str, object]:
    speak(client, "pcm")  # warm-up: first request pays for lazy setup
    speak(client, "mp3")
    results: dict[str, object] = {"load": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")}
    for fmt in ("pcm", "mp3"):
        results[fmt] = [speak(client, fmt) for _ in range(runs)]
    pcm_runs: list[Run] = results["pcm"]  # type: ignore[assignment]
    audio_seconds = pcm_runs[0].size / 2 / PCM_RATE
    results["audio_seconds"] = audio_seconds
    results["rtf"] = median([r.total for r in pcm_runs]) / audio_seconds

    concurrency = 4
    with ThreadPoolExecutor(concurrency) as pool:
        start = time.perf_counter()
        loaded = list(pool.map(lambda _: speak(client, "pcm"), range(concurrency)))
        wall = time.perf_counter() - start
    results["concurrency"] = concurrency
    results["loaded"] = loaded
    results["wall"] = wall
    results["throughput"] = sum(r.size for r in loaded) / 2 / PCM_RATE / wall
    return results


def render(results: dict[str, object], runs: int) -> str:
    def ms(x: float) -> str:
        return f"{x * 1000:.0f} ms"

    rows = []
    for fmt in ("pcm", "mp3"):
        fmt_runs: list[Run] = results[fmt]  # type: ignore[assignment]
        ttfb = [r.ttfb for r in fmt_runs]
        total = [r.total for r in fmt_runs]
        rows.append(f"| `{fmt}` | {ms(median(ttfb))} | {ms(min(ttfb))} – {ms(max(ttfb))} | {ms(median(total))} |")
    loaded: list[Run] = results["loaded"]  # type: ignore[assignment]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return "\n".join(
        [
            "## Text to speech (Piper, `en_US-joe-medium`)",
            "",
            f"`python -m bench.tts` on {platform.machine()}, {cores} cores, {time.strftime('%Y-%m-%d')}; "
            f"default config (CPU). Input: {len(TEXT)} characters, four sentences, "
            f"{results['audio_seconds']:.1f} s of speech; model `tts-1`, voice `alloy`; {runs} runs each after a warm-up. "
            f"Load average when the measurement started: {results['load']:.1f} (the machine is shared; "
            "with other work running, every figure here grows).",
            "",
            "| format | time to first byte (median) | range | whole response (median) |",
            "|---|---|---|---|",
            *rows,
            "",
            f"- Real-time factor (one request, `pcm`, whole response / audio duration): **{results['rtf']:.3f}**",
            f"- {results['concurrency']} concurrent `pcm` requests: {results['wall']:.2f} s wall for "
            f"{results['concurrency']} × {results['audio_seconds']:.1f} s of audio, "
            f"throughput **{results['throughput']:.1f} s of audio per second**; time to first byte "
            f"median {ms(median([r.ttfb for r in loaded]))}, worst {ms(max(r.ttfb for r in loaded))}.",
            "- Target: first byte under 150 ms. The first piece of text is cut short (about 30 characters, "
            "at a clause mark or after a content word) so that the first audio is ready early; the rest "
            "follows sentence by sentence.",
        ]
    )


def write_section(section: str, path: Path = REPORT) -> None:
    """Replace the text between the tts markers, keeping every other section of the file."""
    block = f"{START}\n{section}\n{END}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server() -> Iterator[str]:
    """A gateway in a subprocess with the default config; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GATEWAY_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)], cwd=REPO_ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready in time")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="a running gateway; default: start one")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not update {REPORT.name}")
    args = parser.parse_args(argv)

    def run(base_url: str) -> str:
        client = OpenAI(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY", "bench"), max_retries=0)
        return render(measure(client, args.runs), args.runs)

    if args.base_url:
        section = run(args.base_url)
    else:
        with server() as base_url:
            section = run(base_url)
    print(section)
    if not args.no_write:
        write_section(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
