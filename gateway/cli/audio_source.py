"""Audio for `audio-gateway listen`: a file or standard input as pcm16 at 24 kHz, in 100 ms chunks.

A Realtime transcription session takes `audio/pcm`: 16-bit little-endian mono at 24 kHz. A file
in any format PyAV (FFmpeg) reads is decoded and resampled block by block, so a long recording
is never held whole. Standard input is either a container FFmpeg can read from a pipe (WAV,
FLAC, Ogg, MP3, WebM, recognised by their first bytes) or raw pcm16 mono at `rate` Hz.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

RATE = 24_000
"""Samples per second of `audio/pcm`, the session's input format."""

CHUNK_MS = 100
"""Audio per `input_audio_buffer.append`: a tenth of a second, as browsers and OpenAI's examples send it."""

CHUNK_BYTES = RATE * CHUNK_MS // 1000 * 2

_CONTAINERS = (b"RIFF", b"fLaC", b"OggS", b"ID3", b"\x1aE\xdf\xa3", b"FORM", b"caff")
"""First bytes of the containers recognised on standard input; anything else is raw pcm16."""

_READ = 64 * 1024


def chunks(source: str, raw_rate: int = RATE) -> Iterator[bytes]:
    """pcm16 24 kHz mono in CHUNK_BYTES pieces (the last may be shorter), from a path or `-` (stdin).

    Raises FileNotFoundError for a missing file and ValueError for audio that cannot be decoded.
    """
    if source == "-":
        return _rechunk(_stdin(raw_rate))
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no such file")
    return _rechunk(_decoded(str(path)))


def _stdin(raw_rate: int) -> Iterator[bytes]:
    import sys

    stream: BinaryIO = sys.stdin.buffer
    head = stream.read(16)
    if head.startswith(_CONTAINERS) or _is_mpeg_audio(head):
        return _decoded(_Prefixed(head, stream))
    return _raw(head, stream, raw_rate)


def _is_mpeg_audio(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _decoded(source: Any) -> Iterator[bytes]:
    """Decode with PyAV and resample to pcm16 24 kHz mono, frame by frame."""
    import av

    try:
        container = av.open(source)
    except av.FFmpegError as exc:
        raise ValueError(f"cannot decode the audio: {exc}") from exc
    with container:
        if not container.streams.audio:
            raise ValueError("the input has no audio stream")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        try:
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    yield bytes(out.planes[0])[: out.samples * 2]
        except av.FFmpegError as exc:
            raise ValueError(f"cannot decode the audio: {exc}") from exc
        for out in resampler.resample(None):
            yield bytes(out.planes[0])[: out.samples * 2]


def _raw(head: bytes, stream: BinaryIO, rate: int) -> Iterator[bytes]:
    """Raw pcm16 mono at `rate` Hz; resampled to 24 kHz when it is at another rate."""
    if rate == RATE:
        yield head
        while block := stream.read(_READ):
            yield block
        return
    import av
    import numpy as np

    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    pending = head
    while True:
        block = stream.read(_READ)
        pending += block
        usable = len(pending) // 2 * 2
        if usable:
            frame = av.AudioFrame.from_ndarray(
                np.frombuffer(pending[:usable], dtype="<i2").reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = rate
            for out in resampler.resample(frame):
                yield bytes(out.planes[0])[: out.samples * 2]
            pending = pending[usable:]
        if not block:
            break
    for out in resampler.resample(None):
        yield bytes(out.planes[0])[: out.samples * 2]


def _rechunk(blocks: Iterator[bytes]) -> Iterator[bytes]:
    buffer = b""
    for block in blocks:
        buffer += block
        while len(buffer) >= CHUNK_BYTES:
            yield buffer[:CHUNK_BYTES]
            buffer = buffer[CHUNK_BYTES:]
    if len(buffer) >= 2:
        yield buffer[: len(buffer) // 2 * 2]


class _Prefixed(io.RawIOBase):
    """A pipe whose first bytes were already read to recognise its format: they are read again first."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self._head:
            size = min(len(self._head), len(view))
            view[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)
