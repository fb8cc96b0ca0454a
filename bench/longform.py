"""Long audio: peak memory of the server against the recording's length, and first delta time.

A 10-minute and a 60-minute recording (the test prose, repeated with pauses, as 24 kbit/s
Opus so an hour fits the 25 MiB upload limit) are streamed through `tiny.en` in fresh
server processes; the server's peak resident memory (VmHWM) is read after each.
"""

from __future__ import annotations

import argparse
import io
import threading
import time

import av
import numpy as np

from bench.report import table, write_section
from bench.server import FIXTURES, GatewayProcess


def long_recording(minutes: float) -> bytes:
    from tests.helpers import read_audio

    story = read_audio(FIXTURES / "en_story.flac")
    weather = read_audio(FIXTURES / "en_weather.flac")
    pause = np.zeros(16000, np.float32)
    unit = np.concatenate([story, pause, weather, pause])
    total = int((minutes * 60 - 1) * 16000)  # a second short of the length: the encoder pads a little
    repeats = int(np.ceil(total / len(unit)))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000, layout="mono")
        stream.bit_rate = 24000
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=48000)
        for index in range(repeats):
            part = unit[: total - index * len(unit)]
            frame = av.AudioFrame.from_ndarray((part * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = 16000
            for chunk in resampler.resample(frame):
                for packet in stream.encode(chunk):
                    out.mux(packet)
        for chunk in resampler.resample(None):
            for packet in stream.encode(chunk):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def memory_mb(pid: int, field: str = "VmHWM") -> float:
    """The process's peak (VmHWM) or current (VmRSS) resident memory."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Sampler:
    """The resident memory of a process, once a second, in a thread."""

    def __init__(self, pid: int):
        self.pid, self.samples, self._stop = pid, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(memory_mb(self.pid, "VmRSS"))

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def quarter_peaks(self) -> tuple[float, float]:
        """Highest memory in the first and in the last quarter of the sampled time."""
        quarter = max(1, len(self.samples) // 4)
        return max(self.samples[:quarter]), max(self.samples[-quarter:])


def run(minutes: list[float]) -> str:
    from openai import OpenAI

    rows = []
    for length in minutes:
        audio = long_recording(length)
        with GatewayProcess(models=["tiny.en"]) as gateway:
            client = OpenAI(base_url=gateway.base_url, api_key="bench", max_retries=0, timeout=7200)
            idle = memory_mb(gateway.process.pid)
            start = time.perf_counter()
            first = None
            deltas = 0
            with Sampler(gateway.process.pid) as sampler:
                stream = client.audio.transcriptions.create(model="tiny.en", file=("long.ogg", audio), stream=True)
                for event in stream:
                    if event.type == "transcript.text.delta":
                        deltas += 1
                        first = first or time.perf_counter() - start
            total = time.perf_counter() - start
            peak = memory_mb(gateway.process.pid)
            early, late = sampler.quarter_peaks()
        rows.append(
            [f"{length:g} min", f"{len(audio) / 2**20:.1f}", f"{first:.1f}", deltas, f"{total:.0f}",
             f"{total / (length * 60):.3f}", f"{idle:.0f}", f"{early:.0f}", f"{late:.0f}", f"{peak:.0f}"]
        )  # fmt: skip
    return (
        "## Long audio in bounded memory\n\n"
        "Recordings streamed (`stream=true`) through `tiny.en` in a fresh server each; audio is decoded block by "
        "block and transcribed in 5-minute pieces. *Idle*: the server's peak memory after start; *first quarter* "
        "and *last quarter*: the highest resident memory sampled (once a second) in the first and in the last "
        "quarter of the request; *peak*: the server's peak after the request. Memory bounded by a constant shows "
        "as a last quarter no higher than the first, whatever the length.\n\n"
        + table(
            ["length", "upload MiB", "first delta s", "deltas", "total s", "RTF", "idle MiB", "first quarter MiB",
             "last quarter MiB", "peak MiB"],
            rows,
        )  # fmt: skip
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, action="append")
    args = parser.parse_args(argv)
    body = run(args.minutes or [10, 60])
    print(body)
    write_section("longform", body)


if __name__ == "__main__":
    main()
