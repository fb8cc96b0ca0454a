"""What one Whisper model call costs by threads, batch size and calls side by side.

The evidence behind the CPU budget and the batcher (models/compute.py, models/batching.py):
the CTranslate2 calls of one real transcription (pyannote's 30 s recording, beam 5) are
recorded, then replayed directly on CTranslate2: each encode and generate call alone with 1
and with all cores' threads; the generate calls as batches of 1, 2 and 4 copies; and two
one-thread replays side by side on a model with two workers. Best of 3 per figure.
"""

from __future__ import annotations

import argparse
import functools
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import table, write_section
from bench.server import ROOT, recording

MODELS = {"tiny.en": "whisper-tiny.en", "base": "whisper-base"}


def best_of(run: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def recorded_calls(
    name: str, audio: bytes, cache: Path
) -> tuple[list[np.ndarray], list[tuple[np.ndarray, list[list[int]], dict[str, Any]]]]:
    """The encoder inputs and generate calls faster-whisper makes for `audio`."""
    from faster_whisper import WhisperModel

    from models.assets import embedded_whisper_dir

    model = WhisperModel(
        str(embedded_whisper_dir(MODELS[name], cache)), device="cpu", compute_type="int8", cpu_threads=1
    )
    inner = model.model
    encodes: list[np.ndarray] = []
    generates: list[tuple[np.ndarray, list[list[int]], dict[str, Any]]] = []

    class Recorder:
        def __getattr__(self, attr: str) -> object:
            return getattr(inner, attr)

        def encode(self, features: Any, to_cpu: bool = False) -> Any:
            encodes.append(np.array(features))
            return inner.encode(features, to_cpu=to_cpu)

        def generate(self, encoder_output: Any, prompts: list[list[int]], **kwargs: Any) -> Any:
            generates.append((np.array(encoder_output), prompts, kwargs))
            return inner.generate(encoder_output, prompts, **kwargs)

    model.model = Recorder()
    list(model.transcribe(io.BytesIO(audio), beam_size=5)[0])
    return encodes, generates


def measure(name: str, audio: bytes, cores: int, cache: Path) -> list[list[object]]:
    import ctranslate2

    from models.assets import embedded_whisper_dir

    encodes, generates = recorded_calls(name, audio, cache)
    path = str(embedded_whisper_dir(MODELS[name], cache))

    def storage(array: np.ndarray) -> ctranslate2.StorageView:
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(array))

    def replay(model: ctranslate2.models.Whisper, batch: int) -> None:
        for encoded, prompts, kwargs in generates:
            model.generate(storage(np.concatenate([encoded] * batch)), prompts * batch, **kwargs)

    def encode_batch(model: ctranslate2.models.Whisper, batch: int) -> None:
        model.encode(storage(np.concatenate([encodes[0]] * batch)))

    def side_by_side(model: ctranslate2.models.Whisper, batch: int) -> None:
        workers = [threading.Thread(target=replay, args=(model, batch)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    rows = []
    for threads in sorted({1, cores}):
        model = ctranslate2.models.Whisper(
            path, device="cpu", compute_type="int8", intra_threads=threads, inter_threads=1
        )
        for batch in (1, 2, 4):
            encode = best_of(functools.partial(encode_batch, model, batch))
            seconds = best_of(functools.partial(replay, model, batch))
            rows.append([name, threads, batch, 1, f"{encode / batch:.3f}", f"{seconds:.2f}", f"{seconds / batch:.2f}"])
        del model
    if cores >= 2:
        model = ctranslate2.models.Whisper(path, device="cpu", compute_type="int8", intra_threads=1, inter_threads=2)
        for batch in (1, 2, 4):
            seconds = best_of(functools.partial(side_by_side, model, batch))
            rows.append([name, 1, batch, 2, "", f"{seconds:.2f}", f"{seconds / (2 * batch):.2f}"])
        del model
    return rows


def run(models: list[str]) -> str:
    from models.compute import available_cores

    audio, seconds = recording()
    cores = available_cores()
    cache = ROOT / "data" / "cache"
    rows = [row for name in models for row in measure(name, audio, cores, cache)]
    return (
        "## What a Whisper call costs: threads, batch size, calls side by side\n\n"
        f"The CTranslate2 calls of one transcription of pyannote's {seconds:.0f} s recording (beam 5, int8) replayed "
        "directly: *encode* is one 30 s window sent as a batch of *batch* copies (seconds per window); *generate* is "
        "every decoding call of the transcription, each sent as a batch of *batch* copies; *side by side* 2 is two "
        "such replays at once on a model with two one-thread workers. *Per copy* = generate seconds / copies "
        "decoded. Best of 3.\n\n"
        + table(["model", "threads", "batch", "side by side", "encode s/window", "generate s", "per copy s"], rows)
        + "\n\nWhat the gateway does with this: one thread per decoding call, as many calls side by side as there "
        "are cores (`compute.threads.whisper`); generate calls of concurrent requests batched, split across free "
        "cores; encoder calls on every core (`compute.threads.whisper_encode`: they scale with threads) and never "
        "batched (the per-window cost does not fall with the batch)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", action="append", help="model ids (default: tiny.en and base)")
    args = parser.parse_args(argv)
    body = run(args.model or list(MODELS))
    print(body)
    write_section("calls", body)


if __name__ == "__main__":
    main()
