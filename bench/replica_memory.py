"""Memory of one replica with the default configuration, as a container's memory request needs it.

`audio-gateway serve` with configs/default.yaml (Whisper base preloaded, Piper preloaded) in its own
process; its resident memory (VmRSS) and peak (VmHWM) read from /proc when it is ready, after a
transcription, after a speech request and after a diarized transcription (which loads torch and the
speaker encoder). The Kubernetes manifests' requests and limits come from these figures.
"""

from __future__ import annotations

import argparse
import time

from bench.report import table, write_section
from bench.server import FIXTURES, GatewayProcess


def _memory(pid: int) -> tuple[int, int]:
    """(resident, peak resident) MiB of a process."""
    with open(f"/proc/{pid}/status") as handle:
        fields = dict(line.split(":", 1) for line in handle)
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def run() -> str:
    from openai import OpenAI

    rows = []
    with GatewayProcess() as gateway:
        import httpx

        while httpx.get(f"http://127.0.0.1:{gateway.port}/health/ready", timeout=5).status_code != 200:
            time.sleep(0.5)
        pid = gateway.process.pid
        rows.append(["ready (base and Piper preloaded)", *_memory(pid)])
        client = OpenAI(base_url=gateway.base_url, api_key="bench", timeout=600)
        with open(FIXTURES / "en_story.flac", "rb") as audio:
            client.audio.transcriptions.create(model="whisper-1", file=audio)
        rows.append(["after a transcription (whisper-1: base)", *_memory(pid)])
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there, this is a test of speech.").read()
        rows.append(["after a speech request (tts-1)", *_memory(pid)])
        with open(FIXTURES / "en_two_voices.flac", "rb") as audio:
            client.audio.transcriptions.create(
                model="gpt-4o-transcribe-diarize", file=audio, response_format="diarized_json", chunking_strategy="auto"
            )
        rows.append(["after a diarized transcription (torch, speaker encoder)", *_memory(pid)])
    return (
        "## Memory of a replica\n\n"
        "`audio-gateway serve` with configs/default.yaml in its own process; resident memory and its peak "
        "(VmRSS, VmHWM) read from /proc after each step. An hour of audio adds about 500 MiB at its peak "
        "(*Long audio in bounded memory*: 486 MiB idle, 1005 MiB peak with tiny.en). The Kubernetes base asks "
        "for 1536 MiB and allows 3 GiB.\n\n"
        + table(["step", "resident MiB", "peak MiB"], rows)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    section = run()
    print(section)
    if not args.no_write:
        write_section("replica-memory", section)


if __name__ == "__main__":
    main()
