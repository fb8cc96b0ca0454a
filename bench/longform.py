"""Long audio in one request: time, first delta and memory, against faster-whisper itself.

A 10-minute and a 60-minute recording (pyannote's real two-speaker recording and the test
prose, repeated with pauses, as 24 kbit/s Opus so an hour fits the 25 MiB upload limit) are
streamed through `tiny.en` in fresh server processes; the server's peak resident memory
(VmHWM) is read after each. In the same run, the same audio goes through faster-whisper
called directly in a process of its own, sequential `transcribe` and `BatchedInferencePipeline`
(batch 8), same model files and machine: their wall time from the file (decoding it included,
as in the gateway), first segment and peak memory.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np

from bench.report import table, write_section
from bench.server import FIXTURES, ROOT, GatewayProcess


def long_recording(minutes: float) -> bytes:
    from samples.audio import read_audio

    real = read_audio(FIXTURES / "pyannote_sample" / "sample.wav")
    story = read_audio(FIXTURES / "en_story.flac")
    weather = read_audio(FIXTURES / "en_weather.flac")
    pause = np.zeros(16000, np.float32)
    unit = np.concatenate([real, story, pause, weather, pause])
    total = int((minutes * 60 - 1) * 16000)  # a second short of the length: the encoder pads a little
    repeats = int(np.ceil(total / len(unit)))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000, layout="mono")
        stream.bit_rate = 24000
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=48000)
        for index in range(repeats):
            part = unit[: total - index * len(unit)]
            pcm = (part * 32767).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
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
        self.pid, self._stop = pid, threading.Event()
        self.samples: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(memory_mb(self.pid, "VmRSS"))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def quarter_peaks(self) -> tuple[float, float]:
        """Highest memory in the first and in the last quarter of the sampled time."""
        quarter = max(1, len(self.samples) // 4)
        return max(self.samples[:quarter]), max(self.samples[-quarter:])


BASELINE = """
import json, sys, time, resource
from pathlib import Path
from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio
from models.assets import embedded_whisper_dir
model = WhisperModel(
    str(embedded_whisper_dir("whisper-tiny.en", Path(sys.argv[3]))),
    device="cpu",
    compute_type="int8",
    cpu_threads=int(sys.argv[4]),
)
start = time.perf_counter()  # from the file, as the gateway's time is: decoding it counts
audio = decode_audio(sys.argv[1])
decoding = time.perf_counter() - start
if sys.argv[2] == "batched":
    segments, _ = BatchedInferencePipeline(model).transcribe(audio, batch_size=8, language="en")
else:
    segments, _ = model.transcribe(audio, language="en")
first, count = None, 0
for segment in segments:
    first = first or time.perf_counter() - start
    count += 1
total = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first": first, "total": total, "decoding": decoding, "segments": count, "peak_mb": peak_mb}))
"""


def baseline(kind: str, audio: bytes, cache: Path) -> dict[str, float]:
    """faster-whisper called directly on `audio` in a fresh process: `sequential` or `batched`."""
    from models.compute import available_cores

    with tempfile.NamedTemporaryFile(suffix=".ogg") as handle:
        handle.write(audio)
        handle.flush()
        out = subprocess.run(
            [sys.executable, "-c", BASELINE, handle.name, kind, str(cache), str(available_cores())],
            check=True, capture_output=True, text=True, cwd=ROOT,
        )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def abandoned(model: str, audio: bytes) -> tuple[float, float]:
    """A client that hangs up after the first delta.

    Returns (seconds until the server is idle, CPU seconds it spent meanwhile).
    """
    import httpx

    with GatewayProcess(models=[model]) as gateway:
        pid = gateway.process.pid
        with httpx.Client(timeout=600) as client:
            files = {"file": ("long.ogg", audio)}
            data = {"model": model, "stream": "true"}
            with client.stream("POST", f"{gateway.base_url}/audio/transcriptions", files=files, data=data) as response:
                for line in response.iter_lines():
                    if "transcript.text.delta" in line:
                        break
        gone, spent = time.perf_counter(), cpu_seconds(pid)
        last, last_change = spent, gone
        while time.perf_counter() - last_change < 1.0:  # idle: no CPU time for a whole second
            time.sleep(0.1)
            now = cpu_seconds(pid)
            if now - last > 0.02:
                last, last_change = now, time.perf_counter()
        return last_change - gone, last - spent


def run(minutes: list[float]) -> str:
    from openai import OpenAI

    rows = []
    cache = Path(tempfile.mkdtemp(prefix="bench-longform-"))
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
            [f"{length:g} min", "gateway (stream)", f"{len(audio) / 2**20:.1f}", f"{first:.1f}", deltas, f"{total:.1f}",
             f"{total / (length * 60):.3f}", "", "1.00", f"{idle:.0f}", f"{early:.0f}", f"{late:.0f}", f"{peak:.0f}"]
        )
        for kind, label in (("sequential", "faster-whisper `transcribe`"), ("batched", "faster-whisper batched (8)")):
            result = baseline(kind, audio, cache)
            rows.append(
                [f"{length:g} min", label, "", f"{result['first']:.1f}", result["segments"], f"{result['total']:.1f}",
                 f"{result['total'] / (length * 60):.3f}", f"{result['decoding']:.1f}",
                 f"{total / result['total']:.2f}", "", "", "", f"{result['peak_mb']:.0f}"]
            )
    stops = []
    for model in ("tiny.en", "base"):
        seconds, cpu = abandoned(model, long_recording(10))
        stops.append([model, f"{seconds:.2f}", f"{cpu:.2f}"])
    return (
        "## Long audio in one request\n\n"
        "Recordings streamed (`stream=true`) through `tiny.en` in a fresh server each; audio is decoded block by "
        "block and transcribed in 5-minute pieces, the speech of each piece in 30-second windows decoded side by "
        "side. In the same run, faster-whisper called directly on the same audio and model files, in a process of "
        "its own on every core: sequential `transcribe` and `BatchedInferencePipeline` (batch 8), timed from the "
        "file as the gateway is (its *decoding* into samples included; the gateway decodes block by block while it "
        "transcribes). *gateway / it*: "
        "the gateway's time over the row's (below 1: the gateway is faster). *Idle*: the server's peak memory after "
        "start; *first quarter* "
        "and *last quarter*: the highest resident memory sampled (once a second) in the first and in the last "
        "quarter of the request; *peak*: the server's peak after the request. Memory bounded by a constant shows "
        "as a last quarter no higher than the first, whatever the length.\n\n"
        + table(
            ["length", "run", "upload MiB", "first delta / segment s", "deltas / segments", "total s", "RTF",
             "of which decoding s", "gateway / it", "idle MiB", "first quarter MiB", "last quarter MiB", "peak MiB"],
            rows,
        )
        + "\n\n**A client that hangs up.** A 10-minute recording streamed, the connection closed after the first "
        "delta: how long the server keeps computing (until its CPU time stops growing for a second, that second "
        "not counted) and the CPU seconds it spends meanwhile. Every window of the request stops at its next model "
        "call (an encode, a decoding step of one window, or an alignment), not at the end of its window.\n\n"
        + table(["model", "computing after the hang-up s", "CPU s after the hang-up"], stops)
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
