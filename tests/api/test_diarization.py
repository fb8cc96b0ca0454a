"""`gpt-4o-transcribe-diarize` through the official OpenAI Python SDK, on real multi-speaker audio:
pyannote's 30 s two-speaker recording, and conversations of Piper and espeak-ng voices made here."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import openai
import pytest
from openai.types.audio import TranscriptionDiarized, TranscriptionDiarizedSegment

from samples import speech
from tests.helpers import data_url, encode, read_audio
from tests.holds import hold_transcription

MODEL = "gpt-4o-transcribe-diarize"
REFERENCE_TEXT = "Please remember to lock the front door tonight, and leave the key with the neighbours."
# joe (Piper), fiona (espeak en-us+f4) and a third voice (espeak en-us+m3), two turns each: 21 s
TURNS = [
    ("piper:joe", speech.SENTENCES[1]),  # budget
    ("en-us+f4", speech.SENTENCES[6]),  # Thursday
    ("en-us+m3", speech.SENTENCES[4]),  # warehouse
    ("piper:joe", speech.SENTENCES[9]),  # marketing
    ("en-us+m3", speech.SENTENCES[8]),  # Monday
    ("en-us+f4", speech.SENTENCES[10]),  # campaign
]


def _wav(samples: np.ndarray) -> bytes:
    return encode(samples, "wav")


@pytest.fixture(scope="module")
def three_voices() -> bytes:
    return _wav(speech.conversation(TURNS, seed=5).samples)


@pytest.fixture(scope="module")
def references() -> dict[str, str]:
    """Reference clips of other words than the conversation's, in two containers."""
    return {
        "joe": data_url(encode(speech.piper(REFERENCE_TEXT), "mp3"), "audio/mpeg"),
        "fiona": data_url(encode(speech.espeak(REFERENCE_TEXT, "en-us+f4"), "ogg"), "audio/ogg"),
    }


@pytest.fixture(scope="module")
def sample_response(client):
    """pyannote's sample as diarized_json: the raw body and what the SDK parsed it into."""
    raw = client.audio.transcriptions.with_raw_response.create(
        model=MODEL, file=speech.PYANNOTE_SAMPLE_WAV, response_format="diarized_json"
    )
    return raw.http_response.json(), raw.parse()


def _by_speaker(segments) -> dict[str, str]:
    texts: dict[str, list[str]] = {}
    for segment in segments:
        texts.setdefault(segment.speaker, []).append(segment.text.lower())
    return {speaker: " ".join(parts) for speaker, parts in texts.items()}


# -- diarized_json on a real recording ---------------------------------------------------------


def test_diarized_json_has_openai_shape_and_types(sample_response):
    body, parsed = sample_response
    assert set(body) == {"task", "duration", "text", "segments", "usage"}
    assert body["task"] == "transcribe" and body["duration"] == pytest.approx(30.0, abs=0.01)
    assert body["segments"], "the recording has speech"
    for index, segment in enumerate(body["segments"], start=1):
        assert set(segment) == {"type", "id", "start", "end", "text", "speaker"}
        assert segment["type"] == "transcript.text.segment"
        assert segment["id"] == f"seg_{index:03d}"
        assert isinstance(segment["start"], float | int) and isinstance(segment["end"], float | int)
        assert 0 <= segment["start"] <= segment["end"] <= body["duration"]
        assert isinstance(segment["text"], str) and segment["text"] == segment["text"].strip()
        assert isinstance(segment["speaker"], str)
    assert body["usage"]["type"] == "tokens"
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    assert isinstance(parsed, TranscriptionDiarized)
    assert all(isinstance(s, TranscriptionDiarizedSegment) for s in parsed.segments)
    assert [s.id for s in parsed.segments] == [s["id"] for s in body["segments"]]
    assert parsed.usage.type == "tokens" and parsed.usage.output_tokens > 0


def test_two_speakers_come_back_and_alternate(sample_response):
    _, result = sample_response
    speakers = [s.speaker for s in result.segments]
    assert set(speakers) == {"A", "B"}
    assert speakers[0] == "A", "letters in order of first appearance"
    changes = sum(a != b for a, b in itertools.pairwise(speakers))
    assert 3 <= changes <= len(speakers) // 2 + 2, speakers  # the reference changes speaker 8 times
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)
    # most of the speech time goes to the speaker the reference annotation has there
    assert speech.speaker_accuracy(speech.pyannote_sample().turns, result.segments) >= 0.8
    assert " ".join(s.text for s in result.segments) == result.text
    text = result.text.lower()
    assert "new jersey" in text and "chicago" in text


# -- known speakers ------------------------------------------------------------------------------


def test_known_speakers_come_back_by_name(client, three_voices, references):
    result = client.audio.transcriptions.create(
        model=MODEL,
        file=("meeting.wav", three_voices),
        response_format="diarized_json",
        known_speaker_names=list(references),
        known_speaker_references=list(references.values()),
    )
    said = _by_speaker(result.segments)
    assert set(said) == {"joe", "fiona", "A"}, said
    assert "budget" in said["joe"] and "marketing" in said["joe"]
    assert "thursday" in said["fiona"] and "campaign" in said["fiona"]
    assert "warehouse" in said["A"] and "monday" in said["A"]


# -- streaming --------------------------------------------------------------------------------


def test_stream_segments_with_speakers_deltas_with_segment_ids_then_done(client, three_voices):
    stream = client.audio.transcriptions.create(
        model=MODEL, file=("meeting.wav", three_voices), response_format="diarized_json", stream=True
    )
    events = list(stream)
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    segments = [e for e in events if e.type == "transcript.text.segment"]
    assert events[-1].type == "transcript.text.done" and events[0].type == "transcript.text.delta"
    assert len(segments) >= 6 and len(deltas) == len(segments)
    # each segment's delta comes first, then the segment once it is final
    for delta, segment in zip(events[::2], events[1::2], strict=False):  # the odd one out is `done`
        assert (delta.type, segment.type) == ("transcript.text.delta", "transcript.text.segment")
        assert delta.segment_id == segment.id and delta.delta.strip() == segment.text
    assert [s.id for s in segments] == [f"seg_{i:03d}" for i in range(1, len(segments) + 1)]
    assert list(dict.fromkeys(s.speaker for s in segments)) == ["A", "B", "C"]
    said = _by_speaker(segments)
    assert "budget" in said["A"] and "thursday" in said["B"] and "warehouse" in said["C"]
    done = events[-1]
    assert "".join(d.delta for d in deltas).strip() == done.text
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0


def test_disconnect_stops_the_work(client, server, three_voices, monkeypatch):
    entry = server.services.registry.entries["diarize"]
    before = entry.worker.cancelled
    hold = hold_transcription(monkeypatch, entry.worker)  # in flight until the client is gone
    with client.audio.transcriptions.with_streaming_response.create(
        model=MODEL, file=("meeting.wav", three_voices), stream=True
    ) as response:
        assert response.status_code == 200  # headers only: hang up while the speakers are found
    deadline = time.monotonic() + 120
    while entry.worker.cancelled == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hold.cancelled, "the client's leaving did not reach the work"
    assert entry.worker.cancelled == before + 1, "the work went on for a client that left"
    while entry.queue.admitted and time.monotonic() < deadline:
        time.sleep(0.1)
    assert entry.queue.admitted == 0


# -- other formats ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_voices(fixture_audio) -> bytes:
    """joe and espeak-ng's en-us+f4 taking turns, two each (14.6 s)."""
    return fixture_audio("en_two_voices.flac").read_bytes()


def test_json_is_text_and_token_usage(client, two_voices):
    result = client.audio.transcriptions.create(model=MODEL, file=("a.flac", two_voices))
    text = result.text.lower()
    assert "budget" in text and "campaign" in text and "report" in text
    seconds = len(read_audio(two_voices)) / 16000
    assert result.usage.type == "tokens" and result.usage.input_token_details.audio_tokens == math.ceil(seconds * 50)


def test_text_is_raw(client, two_voices):
    text = client.audio.transcriptions.create(model=MODEL, file=("a.flac", two_voices), response_format="text")
    assert isinstance(text, str) and not text.startswith('"')
    assert "campaign" in text.lower()


def test_vtt_cues_are_voice_spans(client, two_voices):
    vtt = client.audio.transcriptions.create(model=MODEL, file=("a.flac", two_voices), response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:")
    cues = [line for line in vtt.splitlines() if line.startswith("<v ")]
    assert cues[0].startswith("<v A>") and any(c.startswith("<v B>") for c in cues)
    assert "campaign" in " ".join(c for c in cues if c.startswith("<v B>")).lower()


def test_served_in_the_model_list(client):
    assert MODEL in {m.id for m in client.models.list()}


# -- refusals ---------------------------------------------------------------------------------


def _clip(seconds: float) -> str:
    rng = np.random.default_rng(0)
    return data_url(encode((rng.normal(0, 0.1, int(seconds * 16000))).astype(np.float32), "wav"))


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": "A meeting."}, "prompt"),
        ({"include": ["logprobs"]}, "include"),
        ({"timestamp_granularities": ["word"], "response_format": "verbose_json"}, "timestamp_granularities"),
        ({"response_format": "verbose_json"}, "response_format"),
        ({"known_speaker_names": ["joe"], "known_speaker_references": ["https://example.com/joe.wav"]},
         "known_speaker_references"),
        ({"known_speaker_names": ["joe"], "known_speaker_references": ["data:audio/wav,UklGRg"]},
         "known_speaker_references"),
        ({"known_speaker_names": ["joe"], "known_speaker_references": [data_url(b"not audio at all" * 64)]},
         "known_speaker_references"),
        ({"known_speaker_names": ["joe"], "known_speaker_references": ["short"]}, "known_speaker_references"),
        ({"known_speaker_names": ["joe"], "known_speaker_references": ["long"]}, "known_speaker_references"),
        ({"known_speaker_names": ["joe", "fiona"], "known_speaker_references": ["ok"]}, "known_speaker_references"),
        ({"known_speaker_references": ["ok"]}, "known_speaker_references"),
        ({"known_speaker_names": list("abcde"), "known_speaker_references": ["ok"] * 5}, "known_speaker_names"),
        ({"known_speaker_names": ["joe", "joe"], "known_speaker_references": ["ok", "ok"]}, "known_speaker_names"),
    ],
    ids=["prompt", "logprobs", "granularities", "verbose_json", "not-a-data-url", "not-base64",
         "undecodable", "too-short", "too-long", "count-mismatch", "references-only", "five", "twice"],
)
def test_bad_requests_are_400_with_param(client, fixture_audio, fields, param):
    clips = {"ok": _clip(3), "short": _clip(1), "long": _clip(12)}
    fields = {k: [clips.get(v, v) for v in value] if k == "known_speaker_references" else value
              for k, value in fields.items()}
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model=MODEL, file=fixture_audio("en_fox.flac"), extra_body=fields)
    error = caught.value.response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error


def test_audio_over_30_s_needs_chunking_strategy(client, fixture_audio):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model=MODEL, file=fixture_audio("en_story.flac"))  # 30.8 s
    assert caught.value.param == "chunking_strategy"


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"response_format": "diarized_json"}, "response_format"),
     ({"known_speaker_names": ["joe"], "known_speaker_references": ["ok"]}, "known_speaker_names")],
)
def test_a_model_that_does_not_diarize_refuses_speakers(client, fixture_audio, fields, param):
    fields = {k: [_clip(3)] if k == "known_speaker_references" else v for k, v in fields.items()}
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=fixture_audio("en_fox.flac"), extra_body=fields)
    assert caught.value.param == param


def test_the_diarizing_model_does_not_translate(client, fixture_audio):
    with pytest.raises(openai.NotFoundError):
        client.audio.translations.create(model=MODEL, file=fixture_audio("de_morning.flac"))


def test_missing_pyannote_is_503_naming_the_extra_and_other_models_still_work(start_server, fixture_audio, tmp_path):
    server = start_server(
        diarization={"engine": "pyannote", "pyannote": {"pipeline": str(tmp_path)}},
        transcription={"models": {"base": {"preload": False}}},
        speech={"preload": False},
    )
    sdk = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=300)
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.audio.transcriptions.create(model=MODEL, file=fixture_audio("en_fox.flac"), response_format="diarized_json")
    assert caught.value.status_code == 503
    assert "pip install '.[pyannote]'" in caught.value.message
    assert "fox" in sdk.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_fox.flac")).text.lower()
