"""`audio-gateway listen FILE|-`: live transcription of a file or standard input, turn by turn.

The audio is streamed as it would be spoken (100 ms appends paced at `--speed` times real time)
to `/v1/realtime?intent=transcription` through the official `openai` SDK's realtime client, as
any SDK user would; the server's VAD cuts it into turns and each turn's transcript is printed
as it completes. With `--interim`, the words of the turn still being spoken are shown as they
arrive: on a terminal on one line that the final transcript replaces, otherwise as lines that
start with `… ` (the turn so far) before its final line.

When the input ends, a little silence closes the last turn, and the command waits for every
committed turn's transcript before it ends.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from gateway.cli import audio_source
from gateway.cli.errors import CliError

DEFAULT_MODEL = "whisper-1"
TAIL_SILENCE_MS = 300
"""Silence appended past the VAD's silence duration when the input ends, so its last turn closes."""
DEFAULT_SILENCE_MS = 500
"""OpenAI's default `silence_duration_ms` (and the gateway's)."""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "listen",
        parents=[common],
        help="live transcription: stream audio in real time, print each turn as it ends",
        description="Stream FILE (any format the gateway decodes) or standard input ('-': WAV, FLAC, Ogg, MP3, "
        "or raw pcm16 mono at --rate) to /v1/realtime in real time; the server's VAD cuts it into turns and each "
        "turn's transcript is printed when it completes.",
    )
    parser.add_argument("source", metavar="FILE|-", help="an audio file, or - for standard input")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"transcription model (default {DEFAULT_MODEL})")
    parser.add_argument("--language", help="ISO-639-1 code of the spoken language (default: detected)")
    parser.add_argument("--prompt", help="text to guide the style or spelling")
    parser.add_argument(
        "--speed", type=_positive, default=1.0, help="how many times real time the audio is sent (default 1)"
    )
    parser.add_argument("--interim", action="store_true", help="also show the words of a turn while it is spoken")
    parser.add_argument("--timestamps", action="store_true", help="start and end of each turn in the audio")
    parser.add_argument(
        "--silence-ms",
        type=int,
        default=DEFAULT_SILENCE_MS,
        help=f"silence that ends a turn, in ms (default {DEFAULT_SILENCE_MS})",
    )
    parser.add_argument(
        "--rate",
        type=int,
        default=audio_source.RATE,
        help=f"sample rate of raw pcm16 on standard input (default {audio_source.RATE})",
    )
    parser.set_defaults(func=run, connects=True)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def run(args: argparse.Namespace, conn: Any) -> int:
    chunks = audio_source.chunks(args.source, args.rate)
    try:
        first = next(chunks, None)  # a file that is not audio fails here, before anything is sent
    except ValueError as exc:
        raise CliError(f"{args.source}: {exc}", status=2) from exc
    if first is None:
        raise CliError(f"{args.source}: cannot decode any audio from it", status=2)
    printer = Printer(sys.stdout, interim=args.interim, timestamps=args.timestamps)
    return asyncio.run(_listen(args, conn, _prepend(first, chunks), printer))


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def session_config(args: argparse.Namespace) -> dict[str, Any]:
    """The `session.update` of a listen: pcm16 at 24 kHz, server VAD, the model and its hints."""
    transcription: dict[str, Any] = {"model": args.model}
    if args.language:
        transcription["language"] = args.language
    if args.prompt:
        transcription["prompt"] = args.prompt
    return {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": audio_source.RATE},
                "transcription": transcription,
                "turn_detection": {"type": "server_vad", "silence_duration_ms": args.silence_ms},
            }
        },
    }


async def _listen(args: argparse.Namespace, conn: Any, chunks: Iterator[bytes], printer: Printer) -> int:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=conn.base_url, api_key=conn.api_key or "none", max_retries=0)
    options: dict[str, Any] = {}
    if conn.socket is not None:  # the in-process gateway listens on a Unix socket
        options = {"unix": True, "path": str(conn.socket)}
    try:
        manager = client.realtime.connect(
            extra_query={"intent": "transcription"},
            websocket_connection_options=options,  # type: ignore[arg-type]
        )
        async with manager as session:
            await session.session.update(session=session_config(args))  # type: ignore[arg-type]
            await _until_configured(session)
            turns = Turns(printer)
            reader = asyncio.create_task(turns.read(session))
            try:
                await _send(session, chunks, args.speed, args.silence_ms, reader)
                await session.input_audio_buffer.clear()  # answered after every turn of the audio is committed
                try:
                    await asyncio.wait_for(reader, args.timeout)
                except TimeoutError:
                    raise CliError("the server did not transcribe every turn in time (raise --timeout)") from None
            finally:
                reader.cancel()
    except Exception as exc:
        raise _translate(exc, conn.root_url) from exc
    finally:
        await client.close()
    return 1 if turns.failed else 0


async def _until_configured(session: Any) -> None:
    while True:
        event = await session.recv()
        if event.type == "session.updated":
            return
        if event.type == "error":
            raise CliError(f"the server refused the session: {event.error.message}")


async def _send(
    session: Any, chunks: Iterator[bytes], speed: float, silence_ms: int, reader: asyncio.Task[None]
) -> None:
    """Every chunk at its time (`speed` times real time), then silence that ends the last turn."""
    start = time.monotonic()
    sent_s = 0.0
    tail = bytes(audio_source.CHUNK_BYTES)
    tail_chunks = -(-(silence_ms + TAIL_SILENCE_MS) // audio_source.CHUNK_MS)
    source = _prepend_none(chunks)
    while True:
        chunk = await asyncio.to_thread(next, source)
        if chunk is None:
            break
        await _append(session, chunk, reader)
        sent_s += len(chunk) / 2 / audio_source.RATE
        delay = start + sent_s / speed - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    for _ in range(tail_chunks):
        await _append(session, tail, reader)


def _prepend_none(chunks: Iterator[bytes]) -> Iterator[bytes | None]:
    """`chunks`, then None for ever (next() in a thread must not raise StopIteration into a future)."""
    yield from chunks
    while True:
        yield None


async def _append(session: Any, chunk: bytes, reader: asyncio.Task[None]) -> None:
    if reader.done():  # the server ended the session (or the reader failed): stop sending
        reader.result()
        raise CliError("the server closed the session")
    await session.input_audio_buffer.append(audio=base64.b64encode(chunk).decode("ascii"))


@dataclass
class Turns:
    """Reads the session's events: prints each turn, counts what is still to come."""

    printer: Printer
    started: dict[str, float] = field(default_factory=dict)  # item id -> audio start s
    stopped: dict[str, float] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)  # committed, transcript not yet in
    cleared: bool = False
    failed: int = 0

    async def read(self, session: Any) -> None:
        while not (self.cleared and not self.pending):
            self.handle(await session.recv())

    def handle(self, event: Any) -> None:
        kind = event.type
        if kind == "input_audio_buffer.speech_started":
            self.started[event.item_id] = event.audio_start_ms / 1000
        elif kind == "input_audio_buffer.speech_stopped":
            self.stopped[event.item_id] = event.audio_end_ms / 1000
        elif kind == "input_audio_buffer.committed":
            self.pending.add(event.item_id)
        elif kind == "input_audio_buffer.cleared":
            self.cleared = True
        elif kind == "conversation.item.input_audio_transcription.delta":
            self.printer.delta(event.item_id, event.delta)
        elif kind == "conversation.item.input_audio_transcription.completed":
            self.pending.discard(event.item_id)
            span = (self.started.get(event.item_id), self.stopped.get(event.item_id))
            self.printer.completed(event.item_id, event.transcript, span)
        elif kind == "conversation.item.input_audio_transcription.failed":
            self.pending.discard(event.item_id)
            self.failed += 1
            self.printer.problem(f"a turn could not be transcribed: {event.error.message}")
        elif kind == "error":
            self.printer.problem(f"server: {event.error.message}")


class Printer:
    """Turns on `out`, one line each; interim words of the turn being spoken with `interim`."""

    def __init__(self, out: TextIO, interim: bool = False, timestamps: bool = False):
        self.out = out
        self.interim = interim
        self.timestamps = timestamps
        self.live = out.isatty()
        self._so_far: dict[str, str] = {}
        self._shown = False  # a live line is on the terminal

    def delta(self, item_id: str, text: str) -> None:
        so_far = self._so_far.get(item_id, "") + text
        self._so_far[item_id] = so_far
        if not self.interim or not so_far.strip():
            return
        if self.live:
            self.out.write(f"\r\x1b[K… {so_far.strip()}")
            self._shown = True
        else:
            self.out.write(f"… {so_far.strip()}\n")
        self.out.flush()

    def completed(self, item_id: str, transcript: str, span: tuple[float | None, float | None]) -> None:
        self._so_far.pop(item_id, None)
        self._erase()
        text = transcript.strip()
        if not text:
            return
        start, end = span
        if self.timestamps and start is not None and end is not None:
            text = f"[{_clock(start)} - {_clock(end)}] {text}"
        self.out.write(text + "\n")
        self.out.flush()

    def problem(self, message: str) -> None:
        self._erase()
        print(f"audio-gateway: {message}", file=sys.stderr, flush=True)

    def _erase(self) -> None:
        if self._shown:
            self.out.write("\r\x1b[K")
            self._shown = False


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _translate(exc: Exception, root_url: str) -> Exception:
    """Handshake refusals and lost connections as one-line CliErrors; anything else as it is."""
    import json

    import websockets

    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, websockets.exceptions.InvalidStatus):
        response = exc.response
        try:
            message = json.loads(response.body or b"")["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = (response.body or b"").decode(errors="replace").strip() or response.reason_phrase
        return CliError(f"server answered {response.status_code}: {message}")
    if isinstance(exc, websockets.exceptions.ConnectionClosed):
        reason = f" ({exc.rcvd.reason})" if exc.rcvd is not None and exc.rcvd.reason else ""
        return CliError(f"the server closed the session before every turn was transcribed{reason}")
    if isinstance(exc, (OSError, TimeoutError, websockets.exceptions.InvalidHandshake)):
        return CliError(f"cannot reach the server at {root_url}: {exc}")
    return exc
