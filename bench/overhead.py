"""Gateway overhead and real-time factor of the default Whisper models.

The same recording is transcribed (a) by faster-whisper called directly in this process and
(b) through the gateway's HTTP API with the official OpenAI SDK, with the same options
(beam 5, temperature fallback, int8, the same thread count), alternating, several times each.
The gateway runs in its own process, idle while the direct path runs. faster-whisper runs
with one thread and with one thread per core; the faster of the two is the baseline.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path
from typing import Any

from bench.report import table, write_section
from bench.server import GatewayProcess, recording

MODELS = {"tiny.en": "whisper-tiny.en", "base": "whisper-base"}


def direct_model(name: str, threads: int, cache: Path) -> Any:  # faster_whisper.WhisperModel
    from faster_whisper import WhisperModel

    from models.assets import embedded_whisper_dir

    path = str(embedded_whisper_dir(MODELS[name], cache))
    return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=threads)


def run(repeats: int) -> str:
    from openai import OpenAI

    from models.compute import available_cores

    audio_bytes, seconds = recording()
    variants = sorted({1, available_cores()})
    rows = []
    with GatewayProcess() as gateway:
        client = OpenAI(base_url=gateway.base_url, api_key="bench", max_retries=0, timeout=600)
        for name in MODELS:
            models = {threads: direct_model(name, threads, gateway.data_dir / "cache") for threads in variants}
            client.audio.transcriptions.create(model=name, file=("audio", audio_bytes))  # load + warm up
            direct: dict[int, list[float]] = {threads: [] for threads in variants}
            texts: set[str] = set()
            http = []
            for model in models.values():
                list(model.transcribe(io.BytesIO(audio_bytes), beam_size=5)[0])
            for _ in range(repeats):
                for threads, model in models.items():
                    start = time.perf_counter()
                    segments, _ = model.transcribe(io.BytesIO(audio_bytes), beam_size=5)
                    texts.add("".join(s.text for s in segments).strip())
                    direct[threads].append(time.perf_counter() - start)
                start = time.perf_counter()
                http_text = client.audio.transcriptions.create(model=name, file=("audio", audio_bytes)).text
                http.append(time.perf_counter() - start)
            del models
            same = "yes" if texts == {http_text} else "no"
            medians = {threads: statistics.median(times) for threads, times in direct.items()}
            best, h = min(medians.values()), statistics.median(http)
            rows.append(
                [name, *(f"{medians[t]:.2f}" for t in variants), f"{h:.2f}", f"{h / best:.3f}",
                 f"{best / seconds:.3f}", f"{h / seconds:.3f}", same]
            )
    body = (
        "## Gateway overhead and real-time factor (Whisper, CPU)\n\n"
        f"pyannote's real {seconds:.1f} s two-speaker recording, transcribed {repeats} times each way, "
        "alternating; medians. *Direct* is faster-whisper in-process with the same options (beam 5, temperature "
        "fallback, int8), with 1 thread and with one per core; *gateway* is the OpenAI SDK over HTTP to "
        "`audio-gateway serve` (upload, decode, queue, transcribe, render), which decodes on one thread and encodes "
        "on every core. The ratio is against the faster direct run; RTF = processing time / audio duration (lower "
        "is faster). Target: ratio at most 1.05. The gateway also encodes the first window once where "
        "faster-whisper encodes it twice when it detects the language (`base`, multilingual).\n\n"
        + table(
            ["model", *(f"direct {t} thread{'s' if t > 1 else ''} s" for t in variants), "gateway s", "ratio",
             "RTF direct", "RTF gateway", "same text"],
            rows,
        )
    )
    return body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    body = run(args.repeats)
    print(body)
    write_section("overhead", body)


if __name__ == "__main__":
    main()
