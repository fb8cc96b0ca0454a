"""Latency and throughput of transcription under concurrency, per model; models loaded together.

For each model and each concurrency c in 1, 2, 4, 8, the same recording is sent
`requests` times by c concurrent clients (the official OpenAI SDK over HTTP); latency
percentiles and requests per minute are recorded. `--base-url` runs the same workload
against any other OpenAI-compatible server (give its model ids with `--model`), so its
figures can be set beside ours from the same run on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.report import DOC, table, write_section
from bench.server import GatewayProcess, recording

CONCURRENCY = (1, 2, 4, 8)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(base_url: str, model: str, audio: bytes, concurrency: int, requests: int) -> dict[str, float]:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=900)

    def one(_: int) -> float:
        start = time.perf_counter()
        client.audio.transcriptions.create(model=model, file=("audio", audio))
        return time.perf_counter() - start

    one(0)  # warm up (loads the model if lazy)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(requests)))
    wall = time.perf_counter() - start
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "max": max(latencies),
        "rpm": requests / wall * 60,
    }


def single_latency(base_url: str, model: str, audio: bytes, repeats: int) -> float:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=900)
    client.audio.transcriptions.create(model=model, file=("audio", audio))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.audio.transcriptions.create(model=model, file=("audio", audio))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plot(results: dict[str, dict[int, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for label, rows in results.items():
        levels = sorted(rows)
        left.plot(levels, [rows[c]["rpm"] for c in levels], marker="o", label=label)
        right.plot(levels, [rows[c]["p95"] for c in levels], marker="o", label=label)
    left.set(xlabel="concurrent requests", ylabel="requests per minute", title="Throughput", xticks=CONCURRENCY)
    right.set(xlabel="concurrent requests", ylabel="seconds", title="95th-percentile latency", xticks=CONCURRENCY)
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def run(models: list[str], requests: int, base_url: str | None, label: str, repeats: int) -> str:
    audio, seconds = recording()
    results: dict[str, dict[int, dict[str, float]]] = {}
    isolation_rows = []
    if base_url:
        for model in models:
            results[f"{label} {model}"] = {c: measure(base_url, model, audio, c, max(requests, c)) for c in CONCURRENCY}
    else:
        with GatewayProcess(models=models) as gateway:
            for model in models:
                results[f"{label} {model}"] = {
                    c: measure(gateway.base_url, model, audio, c, max(requests, c)) for c in CONCURRENCY
                }
            together = {m: single_latency(gateway.base_url, m, audio, repeats) for m in models}
        for model in models:
            with GatewayProcess(models=[model]) as alone_gateway:
                alone = single_latency(alone_gateway.base_url, model, audio, repeats)
            isolation_rows.append([model, f"{alone:.2f}", f"{together[model]:.2f}", f"{together[model] / alone:.3f}"])
    rows = []
    for name, levels in results.items():
        serial = levels[1]["rpm"]
        for c, figures in levels.items():
            rows.append(
                [name, c, f"{figures['p50']:.2f}", f"{figures['p95']:.2f}", f"{figures['rpm']:.1f}", f"{figures['rpm'] / serial:.2f}x"]
            )
    image = DOC.parent / f"throughput-{label}.png"
    plot(results, image)
    body = (
        f"## Transcription throughput and latency ({label})\n\n"
        f"pyannote's real {seconds:.1f} s two-speaker recording sent {requests} times (at least c) by c concurrent OpenAI SDK "
        "clients, for c = 1, 2, 4, 8, after one warm-up request. Latency in seconds; rpm = requests per minute; "
        "speed-up against c = 1 on the same server.\n\n"
        + table(["server model", "c", "p50 s", "p95 s", "rpm", "vs serial"], rows)
        + f"\n\n![throughput]({image.name})\n"
    )
    if isolation_rows:
        body += (
            "\n### Loading more models slows none of them\n\n"
            f"Median single-request latency ({repeats} requests) of each model in a server where it is the only "
            "model, and in the default server where every default model is loaded.\n\n"
            + table(["model", "alone s", "all loaded s", "ratio"], isolation_rows)
        )
    return body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", action="append", help="model ids (default: tiny.en and base)")
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base-url", help="measure another OpenAI-compatible server instead of starting ours")
    parser.add_argument("--label", help="name of the server in the report (default: audio-gateway)")
    args = parser.parse_args(argv)
    label = args.label or ("audio-gateway" if not args.base_url else "other")
    body = run(args.model or ["tiny.en", "base"], args.requests, args.base_url, label, args.repeats)
    print(body)
    write_section(f"throughput-{label}", body)


if __name__ == "__main__":
    main()
