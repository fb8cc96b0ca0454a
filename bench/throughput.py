"""Latency and throughput of transcription under concurrency, per model; models loaded together.

For each model and each concurrency c in 1, 2, 4, 8, the same recording is sent
`requests` times by c concurrent clients (the official OpenAI SDK over HTTP); latency
percentiles and requests per minute are recorded. `--base-url` runs the same workload
against any other OpenAI-compatible server (give its model ids with `--model ID=OURS`,
OURS naming the gateway model it runs), so its figures can be set beside ours from the
same machine: every run also keeps its figures in docs/throughput-<label>.json, and the
side-by-side section is rebuilt from all of them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.report import DOC, machine, table, write_section
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


def alternating_latency(urls: list[str], model: str, audio: bytes, repeats: int) -> list[float]:
    """Median single-request latency on each server, their requests taking turns (drift hits all alike)."""
    from openai import OpenAI

    clients = [OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=900) for url in urls]
    for client in clients:
        client.audio.transcriptions.create(model=model, file=("audio", audio))  # warm up
    times: list[list[float]] = [[] for _ in clients]
    for _ in range(repeats):
        for client, kept in zip(clients, times, strict=True):
            start = time.perf_counter()
            client.audio.transcriptions.create(model=model, file=("audio", audio))
            kept.append(time.perf_counter() - start)
    return [statistics.median(kept) for kept in times]


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


def run(models: list[str], requests: int, base_url: str | None, label: str, repeats: int, note: str = "") -> str:
    audio, seconds = recording()
    results: dict[str, dict[int, dict[str, float]]] = {}
    isolation_rows = []
    if base_url:
        for model in models:
            served, _, ours = model.partition("=")
            runs = {c: measure(base_url, served, audio, c, max(requests, c)) for c in CONCURRENCY}
            results[f"{label} {ours or served}"] = runs
    else:
        with GatewayProcess(models=models) as gateway:
            for model in models:
                results[f"{label} {model}"] = {
                    c: measure(gateway.base_url, model, audio, c, max(requests, c)) for c in CONCURRENCY
                }
            for model in models:
                with GatewayProcess(models=[model]) as alone_gateway:
                    alone, together = alternating_latency(
                        [alone_gateway.base_url, gateway.base_url], model, audio, repeats
                    )
                isolation_rows.append([model, f"{alone:.2f}", f"{together:.2f}", f"{together / alone:.3f}"])
    rows = []
    for name, levels in results.items():
        serial = levels[1]["rpm"]
        for c, figures in levels.items():
            rows.append(
                [
                    name,
                    c,
                    f"{figures['p50']:.2f}",
                    f"{figures['p95']:.2f}",
                    f"{figures['rpm']:.1f}",
                    f"{figures['rpm'] / serial:.2f}x",
                ]
            )
    image = DOC.parent / f"throughput-{label}.png"
    plot(results, image)
    keep(label, results, models, requests, note)
    body = (
        f"## Transcription throughput and latency ({label})\n\n"
        f"pyannote's real {seconds:.1f} s two-speaker recording sent {requests} times (at least c) by c concurrent "
        "OpenAI SDK "
        "clients, for c = 1, 2, 4, 8, after one warm-up request. Latency in seconds; rpm = requests per minute; "
        "speed-up against c = 1 on the same server.\n\n"
        + table(["server model", "c", "p50 s", "p95 s", "rpm", "vs serial"], rows)
        + f"\n\n![throughput]({image.name})\n"
    )
    if isolation_rows:
        body += (
            "\n### Loading more models slows none of them\n\n"
            f"Median single-request latency ({repeats} requests each) of each model in a server where it is the only "
            "model, and in the server where every default model is loaded; both servers run at once (idle but for "
            "the request), their requests taking turns. Target: ratio within 1.10.\n\n"
            + table(["model", "alone s", "all loaded s", "ratio"], isolation_rows)
        )
    return body


def keep(
    label: str, results: dict[str, dict[int, dict[str, float]]], models: list[str], requests: int, note: str
) -> None:
    """This run's figures, for the side-by-side section."""
    figures = {name.removeprefix(f"{label} "): levels for name, levels in results.items()}
    record = {
        "label": label, "models": models, "requests": requests, "machine": machine(), "note": note, "figures": figures
    }
    (DOC.parent / f"throughput-{label}.json").write_text(json.dumps(record, indent=1) + "\n")


def side_by_side() -> str | None:
    """Every kept run, each model's figures beside the gateway's; None without another server."""
    runs, notes = {}, []
    for path in sorted(DOC.parent.glob("throughput-*.json")):
        record = json.loads(path.read_text())
        runs[record["label"]] = {m: {int(c): f for c, f in levels.items()} for m, levels in record["figures"].items()}
        if record.get("note"):
            notes.append(f"- **{record['label']}**: {record['note']}")
    ours = runs.pop("audio-gateway", None)
    if not ours or not runs:
        return None
    rows, plotted = [], {}
    for model, levels in ours.items():
        plotted[f"audio-gateway {model}"] = levels
        for label, other in runs.items():
            if model not in other:
                continue
            plotted[f"{label} {model}"] = other[model]
            for c in CONCURRENCY:
                a, b = levels[c], other[model][c]
                rows.append(
                    [model, c, f"{a['rpm']:.1f}", f"{b['rpm']:.1f}", f"{a['rpm'] / b['rpm']:.2f}x",
                     f"{a['p95']:.2f}", f"{b['p95']:.2f}", label]
                )  # fmt: skip
    image = DOC.parent / "throughput-side-by-side.png"
    plot(plotted, image)
    return (
        "## Side by side with another server\n\n"
        "The same workload (the throughput section above) against each server, same machine, same recording; "
        "each server's own section says when it ran.\n\n" + "\n".join(notes) + "\n\n"
        + table(
            ["model", "c", "gateway rpm", "other rpm", "gateway / other", "gateway p95 s", "other p95 s", "other"], rows
        )
        + f"\n\n![side by side]({image.name})\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--model", action="append", help="model ids (default: tiny.en and base); another server's as ID=OURS"
    )
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--base-url", help="measure another OpenAI-compatible server instead of starting ours")
    parser.add_argument("--label", help="name of the server in the report (default: audio-gateway)")
    parser.add_argument(
        "--note", default="", help="how that server ran (version, settings), for the side-by-side section"
    )
    args = parser.parse_args(argv)
    label = args.label or ("audio-gateway" if not args.base_url else "other")
    note = args.note or (
        "this repository, `configs/default.yaml` (int8; decoding one thread per call, two side by side; "
        "batched decoding; beam 5 with temperature fallback; no VAD unless asked)"
        if not args.base_url else ""
    )
    body = run(args.model or ["tiny.en", "base"], args.requests, args.base_url, label, args.repeats, note)
    print(body)
    write_section(f"throughput-{label}", body)
    comparison = side_by_side()
    if comparison:
        write_section("throughput-side-by-side", comparison)


if __name__ == "__main__":
    main()
