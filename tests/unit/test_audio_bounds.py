"""What one upload can make the decoder do is bounded: its length is measured before decoding, its
streams are counted before they are opened, and only audio containers are probed."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from gateway import audio_io
from gateway.audio_io import MAX_STREAMS, StreamedAudio, decode_audio, demuxed_seconds, iter_audio
from models.errors import AudioDecodeError
from tests.helpers import CONTAINERS, encode, encode_unsized, many_tracks

_RESAMPLER = av.AudioResampler
LIMIT_S = 60.0
LONG_S = 180  # three times the limit


@pytest.fixture(scope="module")
def unsized() -> dict[str, bytes]:
    """Three minutes of silence in every container, with no length (or a wrong one) in the header."""
    return {name: encode_unsized(np.zeros(8000 * LONG_S, np.float32), name) for name in CONTAINERS}


class CountingResampler:
    """Counts the frames handed to the resampler: each is a frame the decoder produced."""

    frames = 0

    def __init__(self, **kwargs):
        self._inner = _RESAMPLER(**kwargs)

    def resample(self, frame):
        if frame is not None:
            CountingResampler.frames += 1
        return self._inner.resample(frame)


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_length_is_measured_from_packets_whatever_the_header_says(unsized, container):
    assert demuxed_seconds(unsized[container]) == pytest.approx(LONG_S, abs=0.5)


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_over_limit_upload_is_refused_before_a_frame_is_decoded(unsized, container, monkeypatch):
    monkeypatch.setattr(audio_io.av, "AudioResampler", CountingResampler)
    CountingResampler.frames = 0
    with pytest.raises(AudioDecodeError) as caught:
        StreamedAudio(unsized[container], max_seconds=LIMIT_S)
    assert caught.value.code == "audio_too_long" and caught.value.param == "file"
    assert CountingResampler.frames == 0
    with pytest.raises(AudioDecodeError):
        decode_audio(unsized[container], param="audio_sample", max_seconds=LIMIT_S)
    assert CountingResampler.frames == 0
    # the counter counts: without the limit the same upload is decoded
    next(iter_audio(unsized[container]))
    assert CountingResampler.frames > 0


def test_wav_whose_sizes_are_wrong_is_measured(unsized):
    body = unsized["wav"][44:]
    for riff, data in ((0, 0), (36, 0), (0xFFFFFFFF, 1000), (12, 0x7FFFFFFF)):
        header = bytearray(unsized["wav"][:44])
        header[4:8], header[40:44] = riff.to_bytes(4, "little"), data.to_bytes(4, "little")
        try:
            blocks = iter_audio(bytes(header) + body, max_seconds=LIMIT_S)
            seconds = sum(len(b) for b in blocks) / 16000
        except AudioDecodeError as exc:
            assert exc.code in ("audio_too_long", "invalid_value") and exc.param == "file"
        else:  # a reader that believes a short data size reads only that much
            assert seconds <= LIMIT_S


def test_under_limit_uploads_still_decode():
    clip = np.sin(np.arange(16000 * 3) / 5).astype(np.float32) * 0.3
    for container in CONTAINERS:
        samples = decode_audio(encode(clip, container), max_seconds=LIMIT_S)
        assert len(samples) / 16000 == pytest.approx(3, abs=0.2), container


@pytest.mark.parametrize(("fmt", "codec"), [("mp4", "aac"), ("matroska", "flac"), ("ogg", "libopus")])
def test_no_upload_opens_more_than_max_streams(fmt, codec):
    """mp4 refuses the file (400 `too_many_streams`); Matroska and Ogg stop reading streams at the bound."""
    crowded = many_tracks(MAX_STREAMS * 8, fmt, codec)
    try:
        with audio_io._open(io.BytesIO(crowded), "file") as container:
            assert len(container.streams) <= MAX_STREAMS
    except AudioDecodeError as exc:
        assert exc.param == "file" and exc.code == "too_many_streams"
    with pytest.raises(AudioDecodeError) as caught:  # its one audio stream is too short to be heard
        decode_audio(crowded, max_seconds=LIMIT_S)
    assert caught.value.param == "file" and caught.value.code in ("too_many_streams", "audio_too_short")
    with audio_io._open(io.BytesIO(many_tracks(2, fmt, codec)), "file") as container:
        assert len(container.streams.audio) == 2


def test_only_audio_containers_are_probed():
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="au") as out:  # a real audio format FFmpeg reads, not one we take
        stream = out.add_stream("pcm_s16be", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.int16), format="s16", layout="mono")
        frame.sample_rate = 16000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(AudioDecodeError) as caught:
        decode_audio(buffer.getvalue())
    assert caught.value.code == "invalid_value" and caught.value.param == "file"
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
    with pytest.raises(AudioDecodeError):
        decode_audio(playlist)
