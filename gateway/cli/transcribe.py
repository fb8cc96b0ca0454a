"""`audio-gateway transcribe FILE...`: each file through POST /v1/audio/transcriptions.

What is written is the server's answer byte for byte: the same srt, vtt or JSON an SDK
user gets. A file the server refuses (not audio, too large) is reported and skipped; an
error that would fail every file (unknown model, bad key, server gone) stops the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from gateway.cli.errors import CliError, error_param, server_message
from gateway.cli.progress import Progress

FORMATS = ("json", "text", "srt", "vtt", "verbose_json", "diarized_json")
EXTENSIONS = {
    "json": "json", "text": "txt", "srt": "srt", "vtt": "vtt", "verbose_json": "json", "diarized_json": "json"
}
DEFAULT_MODEL = "whisper-1"
DIARIZE_MODEL = "gpt-4o-transcribe-diarize"
_PER_FILE_PARAMS = {"file"}
"""Errors naming these parameters concern one file; the run goes on with the next."""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "transcribe",
        parents=[common],
        help="transcribe audio files",
        description="Transcribe audio files. With --out, each result is written to DIR/<name>.<ext>; without it, "
        "results go to standard output (preceded by '==> FILE <==' when there are several).",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio: flac, mp3, m4a, ogg, wav, webm...")
    parser.add_argument("--model", help=f"model id (default {DEFAULT_MODEL}; {DIARIZE_MODEL} for diarized_json)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="response format (default text)")
    parser.add_argument("--language", help="ISO-639-1 code of the spoken language (default: detected)")
    parser.add_argument("--prompt", help="text to guide the style or spelling")
    parser.add_argument("--words", action="store_true", help="word timestamps (verbose_json only)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write one file per input into DIR (created if needed)")
    parser.set_defaults(func=run, connects=True)


def run(args: argparse.Namespace, conn: Any) -> int:
    files: list[Path] = args.files
    for path in files:
        if not path.is_file():
            raise CliError(f"{path}: no such file", status=2)
    if args.words and args.format != "verbose_json":
        raise CliError("--words needs --format verbose_json", status=2)
    model = args.model or (DIARIZE_MODEL if args.format == "diarized_json" else DEFAULT_MODEL)
    targets = _targets(files, args.out, args.format)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)

    durations = [audio_seconds(path) for path in files]
    known = all(d is not None for d in durations)
    total = sum(d or 0.0 for d in durations) if known else float(len(files))
    progress = Progress(_show_progress(args), total, "s audio" if known else "files")
    failed = 0
    try:
        for path, seconds, target in zip(files, durations, targets, strict=True):
            started = time.monotonic()
            with progress.file(path.name, seconds) as bar:
                bar.stage("transcribing")
                try:
                    body = _transcribe(conn, path, model, args)
                except Exception as exc:
                    if error_param(exc) not in _PER_FILE_PARAMS and getattr(exc, "status_code", None) != 413:
                        raise
                    progress.write(f"audio-gateway: {path}: {server_message(exc)}")
                    failed += 1
                    progress.advance(seconds if known and seconds else 1.0)
                    continue
                bar.finish()
            progress.advance(seconds if known and seconds else 1.0)
            _deliver(body, target, path, len(files) > 1)
            if target is not None:
                took = time.monotonic() - started
                audio = f"{seconds:.1f} s of audio" if seconds else "audio"
                progress.write(f"{path} -> {target} ({audio} in {took:.1f} s)")
    finally:
        progress.close()
    if failed:
        print(f"audio-gateway: {failed} of {len(files)} files failed", file=sys.stderr)
        return 1
    return 0


def _transcribe(conn: Any, path: Path, model: str, args: argparse.Namespace) -> bytes:
    options: dict[str, Any] = {"model": model, "response_format": args.format}
    if args.language:
        options["language"] = args.language
    if args.prompt:
        options["prompt"] = args.prompt
    if args.words:
        options["timestamp_granularities"] = ["word", "segment"]
    response = conn.client.audio.transcriptions.with_raw_response.create(
        file=(path.name, path.read_bytes()), **options
    )
    content: bytes = response.http_response.content
    return content


def _deliver(body: bytes, target: Path | None, source: Path, several: bool) -> None:
    if target is not None:
        target.write_bytes(body)
        return
    out = sys.stdout.buffer
    if several:
        out.write(f"==> {source} <==\n".encode())
    out.write(body if body.endswith(b"\n") else body + b"\n")
    out.flush()


def _targets(files: list[Path], out: Path | None, fmt: str) -> list[Path | None]:
    """DIR/<stem>.<ext> per input; inputs sharing a stem (a.flac, a.mp3) keep their whole name."""
    if out is None:
        return [None] * len(files)
    ext = EXTENSIONS[fmt]
    stems = [p.stem for p in files]
    names = [f"{p.stem if stems.count(p.stem) == 1 else p.name}.{ext}" for p in files]
    if len(set(names)) != len(names):
        raise CliError("two inputs would write the same output file; transcribe them into different --out dirs", 2)
    return [out / name for name in names]


def audio_seconds(path: Path) -> float | None:
    """The duration a container declares (None if it declares none or is not audio we can open)."""
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = container.streams.audio[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except Exception:  # the server is the judge of what it can decode
        return None
    return None


def _show_progress(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() if args.progress is None else args.progress
