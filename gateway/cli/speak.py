"""`audio-gateway speak TEXT|- -o FILE`: POST /v1/audio/speech, written as it streams."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from gateway.cli.errors import CliError

FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
SUFFIXES = {
    ".mp3": "mp3", ".opus": "opus", ".ogg": "opus", ".aac": "aac", ".flac": "flac", ".wav": "wav", ".pcm": "pcm"
}
DEFAULT_MODEL = "gpt-4o-mini-tts"
DEFAULT_VOICE = "alloy"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "speak",
        parents=[common],
        help="synthesise speech into an audio file",
        description="Speak TEXT (or standard input, with '-') into FILE. The format follows FILE's extension "
        "(.mp3 .opus .ogg .aac .flac .wav .pcm) unless --format says otherwise; pcm is raw 24 kHz 16-bit mono.",
    )
    parser.add_argument("text", metavar="TEXT", help="the text to speak, or - to read it from standard input")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="where the audio goes; - for stdout")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"speech model (default {DEFAULT_MODEL})")
    parser.add_argument("--voice", default=DEFAULT_VOICE, help=f"voice name or voice_... id (default {DEFAULT_VOICE})")
    parser.add_argument("--format", choices=FORMATS, help="audio format (default: from FILE's extension, else mp3)")
    parser.add_argument("--speed", type=float, default=1.0, help="0.25 to 4.0 (default 1.0)")
    parser.add_argument("--instructions", help="how to speak (not for tts-1 and tts-1-hd)")
    parser.set_defaults(func=run, connects=True)


def run(args: argparse.Namespace, conn: Any) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise CliError("nothing to say: the text is empty", status=2)
    fmt = args.format or SUFFIXES.get(Path(args.output).suffix.lower(), "mp3")
    request: dict[str, Any] = {
        "model": args.model,
        "input": text,
        "voice": {"id": args.voice} if args.voice.startswith("voice_") else args.voice,
        "response_format": fmt,
        "speed": args.speed,
    }
    if args.instructions:
        request["instructions"] = args.instructions
    if args.output == "-":
        _stream(conn, request, sys.stdout.buffer)
        return 0
    target = Path(args.output)
    if target.parent and not target.parent.is_dir():
        raise CliError(f"{target.parent}: no such directory", status=2)
    partial = target.with_name(f".{target.name}.part")
    try:
        with partial.open("wb") as out:
            written = _stream(conn, request, out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)  # nothing half-written is left behind
    if sys.stderr.isatty():
        print(f"{target}: {written} bytes of {fmt}", file=sys.stderr)
    return 0


def _stream(conn: Any, request: dict[str, Any], out: Any) -> int:
    """Write the audio as it arrives; return the number of bytes."""
    written = 0
    with conn.client.audio.speech.with_streaming_response.create(**request) as response:
        for chunk in response.iter_bytes():
            out.write(chunk)
            out.flush()
            written += len(chunk)
    if written == 0:
        raise CliError("the server sent no audio")
    return written
