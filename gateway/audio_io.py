"""Audio in and out, in-process with PyAV (no ffmpeg binary).

Decoding turns any upload (flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm, ...) into
float32 mono 16 kHz samples, the input of every listening worker. The container is
sniffed from the bytes, never from the file name, which SDKs do not send reliably.

Encoding turns int16 mono PCM into the response formats of /v1/audio/speech, a chunk at a
time, so that speech can be sent while it is still being synthesised. Each format's header
says only what is known when it is sent (libsndfile, FFmpeg and Chromium read every format
as we send it, tests/api/test_speech_readers.py):

- mp3 (no Xing/ID3), ADTS AAC and Ogg Opus need no length up front: streamed as encoded.
- wav is streamed with RIFF and data sizes of 0xFFFFFFFF ("to the end of the stream"), as
  OpenAI streams it; readers take the data to the end of the file.
- FLAC's STREAMINFO carries the total sample count and the MD5 of the audio, and a stream
  with them blank (as the muxer writes on a pipe) is refused by libsndfile and has no
  duration in ffprobe: FLAC is encoded into a seekable buffer, whose header the muxer fills
  in at the end, and sent once complete.
- No audio at all still makes a decodable file: `EMPTY_SILENCE_S` of silence (Chromium
  refuses a file without samples, and mp3 and ADTS have no header without a frame).
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import re
import struct
import tempfile
from collections.abc import Iterator
from typing import BinaryIO, Protocol, cast

import av
import numpy as np
from av.audio.stream import AudioStream

from models.errors import AudioDecodeError
from models.types import SAMPLE_RATE

SUPPORTED_INPUTS = "flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm"
MIN_DURATION_S = 0.1


INPUT_FORMATS = "wav,flac,mp3,ogg,matroska,webm,mov,mp4,m4a,aac,mpeg"
"""FFmpeg demuxers an upload may be read with (sniffed from the bytes); nothing else is probed open."""
MAX_STREAMS = 8
"""Streams one upload may declare: each costs the demuxer a context (500 tracks of an mp4 took 257 MiB)."""
PROBE_BYTES = 2_000_000
"""Bytes FFmpeg may read to recognise the container and its streams (FFmpeg's default: 5 MB)."""
ANALYZE_MICROSECONDS = 2_000_000
"""Audio FFmpeg may decode to learn the streams' parameters (FFmpeg's default: 5 s)."""
_OPEN_OPTIONS = {
    "format_whitelist": INPUT_FORMATS,
    "max_streams": str(MAX_STREAMS),
    "probesize": str(PROBE_BYTES),
    "analyzeduration": str(ANALYZE_MICROSECONDS),
}


def _open(source: BinaryIO, param: str) -> av.container.InputContainer:
    """Open an upload for reading within the bounds above; a refused open is a 400 naming `param`."""
    source.seek(0)
    try:
        container = av.open(source, mode="r", options=dict(_OPEN_OPTIONS), metadata_errors="ignore")
    except MemoryError as exc:  # FFmpeg's answer to a container over `max_streams`
        raise AudioDecodeError(
            f"The `{param}` upload has too many streams (at most {MAX_STREAMS}) or cannot be opened within "
            "the decoder's memory bounds.",
            param=param,
            code="too_many_streams",
        ) from exc
    if not container.streams.audio:
        container.close()
        raise AudioDecodeError(
            f"The `{param}` upload has no audio stream. Supported formats: {SUPPORTED_INPUTS}.",
            param=param,
            code="invalid_value",
        )
    return container


def demuxed_seconds(source: BinaryIO | bytes, *, param: str = "file", stop_after: float | None = None) -> float:
    """The length of the first audio stream from its packets' timestamps, without decoding a sample.

    What the container's header declares is not trusted (a FLAC or WAV header may leave it blank
    or wrong, an mp3 without a Xing frame has only an estimate, a streamed WebM or fragmented MP4
    has none): the packets are read and their durations added up, which costs a moment even for
    hours of audio. Packets that carry no duration are measured by their timestamps' span.
    With `stop_after`, reading stops once the length passes it.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with _open(source, param) as container:
            stream = container.streams.audio[0]
            time_base = float(stream.time_base or 0)
            summed = 0
            first = last = None
            every_packet_timed = True
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the flush packet at the end
                duration = packet.duration or 0
                every_packet_timed = every_packet_timed and duration > 0
                summed += duration
                if packet.pts is not None:
                    first = packet.pts if first is None else min(first, packet.pts)
                    last = packet.pts + duration if last is None else max(last, packet.pts + duration)
                seconds = summed * time_base if every_packet_timed else ((last or 0) - (first or 0)) * time_base
                if stop_after is not None and seconds > stop_after:
                    return seconds
            return summed * time_base if every_packet_timed else ((last or 0) - (first or 0)) * time_base
    except AudioDecodeError:
        raise
    except Exception as exc:  # whatever FFmpeg/PyAV raise on bytes that are not audio
        raise _undecodable(param) from exc


def iter_audio(
    source: BinaryIO | bytes, *, param: str = "file", block_seconds: float = 30.0, max_seconds: float | None = None
) -> Iterator[np.ndarray]:
    """Decode to float32 mono 16 kHz blocks of about `block_seconds`, lazily.

    Memory stays at one block whatever the recording's length. Raises AudioDecodeError
    naming `param` when the bytes are not audio (also midway, for a truncated file). With
    `max_seconds`, the length is measured from the packets before a sample is decoded
    (`demuxed_seconds`), so a longer upload is refused at once, whatever its header says;
    decoding still stops at the limit should the packets' timestamps understate it.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    if max_seconds and demuxed_seconds(source, param=param, stop_after=max_seconds + 1) > max_seconds + 1:
        raise _too_long(param, max_seconds)
    block_len = int(block_seconds * SAMPLE_RATE)
    limit = int(max_seconds * SAMPLE_RATE) if max_seconds else None
    pending: list[np.ndarray] = []
    pending_len = total = 0
    try:
        with _open(source, param) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            frames = container.decode(container.streams.audio[0])
            for frame in itertools.chain(frames, [None]):
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1)
                    pending.append(block)
                    pending_len += len(block)
                    total += len(block)
                if limit is not None and total > limit:
                    raise _too_long(param, max_seconds)
                if pending_len >= block_len or (frame is None and pending_len):
                    yield np.concatenate(pending).astype(np.float32, copy=False)
                    pending, pending_len = [], 0
    except AudioDecodeError:
        raise
    except Exception as exc:  # whatever FFmpeg/PyAV raise on bytes that are not audio (or stop being audio)
        raise _undecodable(param) from exc


def _undecodable(param: str) -> AudioDecodeError:
    return AudioDecodeError(
        f"Could not decode the `{param}` upload as audio. Supported formats: {SUPPORTED_INPUTS}.",
        param=param,
        code="invalid_value",
    )


def _too_long(param: str, max_seconds: float | None) -> AudioDecodeError:
    return AudioDecodeError(
        f"The `{param}` audio is longer than the maximum of {max_seconds:g} seconds.",
        param=param,
        code="audio_too_long",
    )


def _too_short(param: str) -> AudioDecodeError:
    return AudioDecodeError(
        f"The `{param}` audio is too short. Minimum audio length is {MIN_DURATION_S} seconds.",
        param=param,
        code="audio_too_short",
    )


def decode_audio(source: BinaryIO | bytes, *, param: str = "file", max_seconds: float | None = None) -> np.ndarray:
    """Decode a whole recording to float32 mono 16 kHz, or raise AudioDecodeError naming `param`."""
    blocks = list(iter_audio(source, param=param, max_seconds=max_seconds))
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    if len(samples) < MIN_DURATION_S * SAMPLE_RATE:
        raise _too_short(param)
    return samples


class StreamedAudio:
    """A recording decoded block by block; its first block is decoded (and so checked) up front."""

    def __init__(self, source: BinaryIO | bytes, *, param: str = "file", max_seconds: float | None = None):
        self._blocks = iter_audio(source, param=param, max_seconds=max_seconds)
        self._first = next(self._blocks, None)
        if self._first is None or len(self._first) < MIN_DURATION_S * SAMPLE_RATE:
            raise _too_short(param)

    def __iter__(self) -> Iterator[np.ndarray]:
        first, self._first = self._first, None
        if first is not None:
            yield first
        yield from self._blocks


_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I)


def decode_data_url(value: str, *, param: str) -> bytes:
    """The bytes of a `data:audio/...;base64,...` URL, or AudioDecodeError naming `param`."""
    match = _DATA_URL.match(value.strip())
    if not match or not match.group("b64"):
        raise AudioDecodeError(f"`{param}` must be a base64 data URL such as `data:audio/wav;base64,...`.", param=param)
    try:
        return base64.b64decode(value.strip()[match.end() :], validate=False)
    except (binascii.Error, ValueError) as exc:
        raise AudioDecodeError(f"`{param}` holds invalid base64 data.", param=param) from exc


# ---------------------------------------------------------------------------------------------
# Encoding: int16 mono PCM -> the response formats of /v1/audio/speech, incrementally.
# ---------------------------------------------------------------------------------------------

SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
EMPTY_SILENCE_S = 0.02
"""What an encoder given no audio at all encodes instead: the shortest file every reader takes."""
_MEMORY_SPOOL_BYTES = 4 * 1024 * 1024  # a FLAC being built beyond this waits in a temporary file

MIME_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}

# format -> (PyAV container, encoder, bit rate, container options)
_PYAV_FORMATS: dict[str, tuple[str, str, int | None, dict[str, str]]] = {
    # No ID3 tag and no Xing frame: on a stream nobody can seek back to fill them in.
    "mp3": ("mp3", "libmp3lame", 64_000, {"id3v2_version": "0", "write_xing": "0"}),
    # Short Ogg pages, so that audio leaves the muxer soon after it is encoded.
    "opus": ("ogg", "libopus", 32_000, {"page_duration": "100000"}),
    "aac": ("adts", "aac", 64_000, {}),
    "flac": ("flac", "flac", None, {}),
}
_WHOLE_FORMATS = frozenset({"flac"})
"""Formats whose header needs the length: built in a seekable buffer and sent once complete."""


def _silence(sample_rate: int) -> bytes:
    return bytes(2 * round(EMPTY_SILENCE_S * sample_rate))


class StreamEncoder(Protocol):
    """Turns int16 mono PCM into one audio format, a chunk at a time."""

    media_type: str

    def encode(self, pcm: bytes) -> bytes:
        """Feed PCM; return the encoded bytes that are ready (possibly none)."""

    def finish(self) -> bytes:
        """Flush the encoder and return the last bytes; the encoder is unusable afterwards
        (`encode` raises ValueError, `finish` returns nothing)."""

    def close(self) -> None:
        """Release resources without flushing (a stream given up half-way); idempotent.
        Afterwards `encode` raises ValueError and `finish` returns nothing."""


def open_encoder(response_format: str, sample_rate: int = 24_000) -> StreamEncoder:
    """A streaming encoder for one of `SPEECH_FORMATS`."""
    if response_format == "pcm":
        return PcmEncoder(sample_rate)
    if response_format == "wav":
        return WavEncoder(sample_rate)
    if response_format in _PYAV_FORMATS:
        return PyAVEncoder(response_format, sample_rate)
    raise ValueError(f"unknown audio format {response_format!r}")


class PcmEncoder:
    """Raw int16 little-endian mono, no header."""

    media_type = MIME_TYPES["pcm"]

    def __init__(self, sample_rate: int = 24_000):
        self._sample_rate = sample_rate
        self._sent = False
        self._closed = False

    def encode(self, pcm: bytes) -> bytes:
        if self._closed:
            raise ValueError("the encoder is closed")
        if not pcm:
            return b""
        head = b"" if self._sent else self._header(0xFFFFFFFF)
        self._sent = True
        return head + pcm

    def finish(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        if self._sent:
            return b""
        silence = _silence(self._sample_rate)
        return self._header(len(silence)) + silence

    def close(self) -> None:
        self._closed = True

    def _header(self, data_size: int) -> bytes:
        return b""


class WavEncoder(PcmEncoder):
    """RIFF/WAVE with a header sent before the length is known.

    Like OpenAI's streamed wav, the RIFF and data sizes are 0xFFFFFFFF ("until the end of
    the stream"); libsndfile, FFmpeg and Chromium read the data to the end of the file. The
    header goes out with the first audio; without any, `finish` sends a file with exact sizes.
    """

    media_type = MIME_TYPES["wav"]

    def _header(self, data_size: int) -> bytes:
        return wav_header(self._sample_rate, data_size)


def wav_header(sample_rate: int, data_size: int, channels: int = 1, sample_width: int = 2) -> bytes:
    """The 44-byte header of a PCM wav file; a size of 0xFFFFFFFF means unknown."""
    riff_size = 0xFFFFFFFF if data_size == 0xFFFFFFFF else 36 + data_size
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVEfmt "
        + struct.pack(
            "<IHHIIHH",
            16,
            1,  # PCM
            channels,
            sample_rate,
            sample_rate * channels * sample_width,
            channels * sample_width,
            8 * sample_width,
        )
        + b"data"
        + struct.pack("<I", data_size)
    )


class _Sink:
    """A write-only, unseekable file for PyAV: collects what the muxer writes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class PyAVEncoder:
    """mp3, Ogg Opus, ADTS AAC or FLAC, muxed by PyAV.

    Streamed formats go into an unseekable sink whose muxer flushes its output after every
    packet (`flush_packets`), so each call to `encode` returns whatever the codec has
    finished; only the codec's own look-ahead (a few tens of milliseconds) waits for the next
    call or `finish`. FLAC goes into a seekable buffer (memory, then a temporary file past
    4 MiB) so that the muxer can fill in its header at the end; `finish` returns it all.
    """

    def __init__(self, response_format: str, sample_rate: int):
        self.media_type = MIME_TYPES[response_format]
        container_format, codec, bit_rate, options = _PYAV_FORMATS[response_format]
        self._whole = response_format in _WHOLE_FORMATS
        self._sink: _Sink | None = None if self._whole else _Sink()
        # closed by finish() or close()
        self._buffer = tempfile.SpooledTemporaryFile(max_size=_MEMORY_SPOOL_BYTES) if self._whole else None
        self._container = av.open(
            self._sink if self._sink is not None else self._buffer,
            mode="w",
            format=container_format,
            container_options={"flush_packets": "1", **options},
            buffer_size=4096,
        )
        self._stream = cast(AudioStream, self._container.add_stream(codec, rate=sample_rate, layout="mono"))
        if bit_rate:
            self._stream.bit_rate = bit_rate
        self._sample_rate = sample_rate
        self._samples = 0
        self._closed = False

    def encode(self, pcm: bytes) -> bytes:
        if self._closed:  # the codec is freed: PyAV would crash the process
            raise ValueError("the encoder is closed")
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.size:
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self._sample_rate
            frame.pts = self._samples
            self._samples += samples.size
            self._container.mux(self._stream.encode(frame))
        return self._sink.take() if self._sink is not None else b""

    def finish(self) -> bytes:
        if self._closed:
            return b""
        head = b"" if self._samples else self.encode(_silence(self._sample_rate))
        self._closed = True
        self._container.mux(self._stream.encode(None))
        self._container.close()
        if self._sink is not None:
            return head + self._sink.take()
        assert self._buffer is not None
        self._buffer.seek(0)
        data = self._buffer.read()
        self._buffer.close()
        return data

    def close(self) -> None:
        """Release the codec without flushing (a stream given up half-way)."""
        if not self._closed:
            self._closed = True
            self._container.close()
        if self._buffer is not None:
            self._buffer.close()
