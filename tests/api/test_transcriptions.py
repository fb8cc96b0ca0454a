"""/v1/audio/transcriptions through the official OpenAI Python SDK, on real audio."""

from __future__ import annotations

import math
import re

import pytest

from tests.helpers import CONTAINERS, encode, read_audio, word_error_rate

FOX = "The quick brown fox jumps over the lazy dog. Speech recognition works on my own computer."
WEATHER = "Today the weather is sunny and warm. Tomorrow it will rain in the morning."


def test_json_is_the_default(client, fixture_audio):
    result = client.audio.transcriptions.create(model="whisper-1", file=fixture_audio("en_fox.flac"))
    assert word_error_rate(FOX, result.text) < 0.2
    assert result.usage.type == "duration"
    assert result.usage.seconds == math.ceil(len(read_audio(fixture_audio("en_fox.flac"))) / 16000)


def test_gpt_aliases_report_token_usage(client, fixture_audio):
    result = client.audio.transcriptions.create(model="gpt-4o-mini-transcribe", file=fixture_audio("en_weather.flac"))
    assert word_error_rate(WEATHER, result.text) < 0.2
    usage = result.usage
    assert usage.type == "tokens"
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_token_details.audio_tokens > 0 and usage.output_tokens > 0


@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_served_model_ids(client, fixture_audio, model):
    result = client.audio.transcriptions.create(model=model, file=fixture_audio("en_weather.flac"))
    assert word_error_rate(WEATHER, result.text) < 0.25


def test_text_srt_vtt_are_raw_text(client, fixture_audio):
    audio = fixture_audio("en_weather.flac").read_bytes()
    text = client.audio.transcriptions.create(model="tiny.en", file=("a.flac", audio), response_format="text")
    assert isinstance(text, str) and not text.startswith('"')
    assert word_error_rate(WEATHER, text) < 0.25
    srt = client.audio.transcriptions.create(model="tiny.en", file=("a.flac", audio), response_format="srt")
    assert re.match(r"^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n\S", srt)
    vtt = client.audio.transcriptions.create(model="tiny.en", file=("a.flac", audio), response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:")
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", vtt)


def test_text_formats_content_type(client, fixture_audio):
    raw = client.audio.transcriptions.with_raw_response.create(
        model="tiny.en", file=fixture_audio("en_weather.flac"), response_format="srt"
    )
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    assert raw.headers["x-request-id"]


def test_verbose_json_segments_and_words(client, fixture_audio):
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=fixture_audio("en_fox.flac"),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert result.language == "english"
    assert result.duration == pytest.approx(len(read_audio(fixture_audio("en_fox.flac"))) / 16000, abs=0.05)
    assert word_error_rate(FOX, result.text) < 0.2
    assert result.segments, "segments requested"
    for index, segment in enumerate(result.segments):
        assert segment.id == index
        assert 0 <= segment.start < segment.end <= result.duration + 0.5
        assert segment.tokens and all(isinstance(t, int) for t in segment.tokens)
        assert segment.avg_logprob <= 0 and 0 <= segment.no_speech_prob <= 1
        assert segment.compression_ratio > 0 and segment.temperature >= 0 and segment.seek >= 0
    spoken = [w.word.lower().strip(".,") for w in result.words]
    assert "fox" in spoken and "computer" in spoken
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(w.start <= w.end for w in result.words)
    assert result.usage.type == "duration"


def test_verbose_json_words_only(client, fixture_audio):
    result = client.audio.transcriptions.create(
        model="tiny.en",
        file=fixture_audio("en_weather.flac"),
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert result.segments is None
    assert word_error_rate(WEATHER, " ".join(w.word for w in result.words)) < 0.25
    assert word_error_rate(WEATHER, result.text) < 0.25
    assert all(0 <= w.start <= w.end <= result.duration + 0.5 for w in result.words)
    ends = [w.end for w in result.words]
    assert [w.start for w in result.words] == sorted(w.start for w in result.words) and ends == sorted(ends)
    # "tomorrow" is said after "sunny", about halfway through
    spoken = [w.word.lower().strip(".,") for w in result.words]
    assert result.words[spoken.index("sunny")].end <= result.words[spoken.index("tomorrow")].start


def test_logprobs(client, fixture_audio):
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=fixture_audio("en_weather.flac"), include=["logprobs"]
    )
    assert result.logprobs, "logprobs were requested"
    joined = "".join(lp.token for lp in result.logprobs).strip()
    assert joined == result.text
    for lp in result.logprobs:
        assert lp.logprob <= 0
        assert bytes(int(b) for b in lp.bytes).decode("utf-8") == lp.token
    assert any(lp.logprob > -0.5 for lp in result.logprobs)


def test_language_prompt_and_temperature(client, fixture_audio):
    result = client.audio.transcriptions.create(
        model="base",
        file=fixture_audio("en_weather.flac"),
        language="en",
        prompt="A weather report.",
        temperature=0.2,
        response_format="verbose_json",
    )
    assert result.language == "english"
    assert word_error_rate(WEATHER, result.text) < 0.3
    assert all(s.temperature == pytest.approx(0.2) for s in result.segments)


def test_german_is_detected(client, fixture_audio):
    result = client.audio.transcriptions.create(
        model="base", file=fixture_audio("de_morning.flac"), response_format="verbose_json"
    )
    assert result.language == "german"
    assert "morgen" in result.text.lower()


@pytest.mark.parametrize("response_format", ["verbose_json", "srt"])
def test_a_sentence_said_three_times_is_transcribed_three_times(client, fixture_audio, response_format):
    """A new user's finding: with the default chunking, whisper-1 (base) returned one copy of a sentence
    said three times with pauses (Whisper writes it once and a final timestamp for the window); the
    speech in which no word was heard is now decoded on its own, as `chunking_strategy=auto` does."""
    import numpy as np

    clip = read_audio(fixture_audio("en_weather.flac"))
    audio = encode(np.concatenate([clip, np.zeros(16000, np.float32)] * 3), "ogg")
    result = client.audio.transcriptions.create(
        model="whisper-1", file=("again.ogg", audio), response_format=response_format
    )
    text = result if isinstance(result, str) else result.text
    assert text.lower().count("rain") == 3, text


@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_every_input_container(client, fixture_audio, container):
    audio = encode(read_audio(fixture_audio("en_weather.flac")), container)
    # SDKs name uploads oddly or not at all: the bytes decide, never the name
    result = client.audio.transcriptions.create(model="tiny.en", file=("upload", audio))
    assert word_error_rate(WEATHER, result.text) < 0.25, (container, result.text)


@pytest.mark.parametrize(
    "strategy",
    ["auto", {"type": "server_vad", "prefix_padding_ms": 200, "silence_duration_ms": 300, "threshold": 0.4}],
)
def test_chunking_strategy(client, fixture_audio, strategy):
    clip = read_audio(fixture_audio("en_weather.flac"))
    import numpy as np

    gap = np.zeros(16000 * 3, dtype=np.float32)
    audio = encode(np.concatenate([clip, gap, read_audio(fixture_audio("en_fox.flac"))]), "wav")
    result = client.audio.transcriptions.create(
        model="tiny.en", file=("a.wav", audio), chunking_strategy=strategy, response_format="verbose_json"
    )
    assert word_error_rate(WEATHER + " " + FOX, result.text) < 0.25
    # the long silence is skipped: no segment lies inside it
    gap_start, gap_end = len(clip) / 16000 + 0.6, len(clip) / 16000 + 2.4
    assert not any(gap_start < s.start and s.end < gap_end for s in result.segments)


def test_stream_deltas_then_done(client, fixture_audio):
    clip = read_audio(fixture_audio("en_fox.flac"))
    import numpy as np

    weather = read_audio(fixture_audio("en_weather.flac"))
    audio = encode(np.concatenate([clip, np.zeros(8000, np.float32), weather]), "flac")
    stream = client.audio.transcriptions.create(
        model="tiny.en", file=("a.flac", audio), stream=True, include=["logprobs"]
    )
    events = list(stream)
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    assert len(deltas) >= 2, "one delta per decoded segment"
    assert events[-1].type == "transcript.text.done"
    done = events[-1]
    assert "".join(d.delta for d in deltas).strip() == done.text
    assert word_error_rate(FOX + " " + WEATHER, done.text) < 0.25
    assert done.logprobs and all(d.logprobs for d in deltas)
    assert done.usage.output_tokens > 0


async def test_async_client_stream(async_client, fixture_audio):
    stream = await async_client.audio.transcriptions.create(
        model="whisper-1", file=fixture_audio("en_weather.flac"), stream=True
    )
    events = [event async for event in stream]
    assert events[-1].type == "transcript.text.done"
    assert word_error_rate(WEATHER, events[-1].text) < 0.2


async def test_async_client_json(async_client, fixture_audio):
    result = await async_client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_fox.flac"))
    assert word_error_rate(FOX, result.text) < 0.25


def test_long_audio_is_decoded_piece_by_piece(start_server, fixture_audio):
    """Pieces of 30 s: timestamps run on across pieces, the text is whole, deltas stream."""
    import numpy as np
    import openai

    server = start_server(transcription={"piece_seconds": 30, "models": {"base": {"preload": False}}})
    sdk = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=600)
    story = read_audio(fixture_audio("en_story.flac"))
    weather = read_audio(fixture_audio("en_weather.flac"))
    audio = encode(np.concatenate([story, np.zeros(8000, np.float32), weather, story]), "mp3")
    result = sdk.audio.transcriptions.create(model="tiny.en", file=("long.mp3", audio), response_format="verbose_json")
    assert result.duration > 65
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts) and result.segments[-1].end > 60
    assert [s.id for s in result.segments] == list(range(len(result.segments)))
    text = result.text.lower()
    assert text.count("bakery") == 2 and "sunny" in text
    events = list(sdk.audio.transcriptions.create(model="tiny.en", file=("long.mp3", audio), stream=True))
    assert sum(e.type == "transcript.text.delta" for e in events) >= 3
    assert events[-1].text.lower().count("bakery") == 2


@pytest.mark.parametrize("model", ["tiny.en", "base"])
@pytest.mark.parametrize("include", [[], ["logprobs"]])
def test_a_repetitive_prompt_cannot_empty_the_transcript(client, fixture_audio, model, include):
    """A prompt of one word said over and over made tiny.en loop on it; the loop cut then left
    nothing, returned as success. A window whose prompted decode fails is decoded again without it."""
    result = client.audio.transcriptions.create(
        model=model, file=fixture_audio("en_fox.flac"), prompt="word " * 20, include=include, response_format="json"
    )
    assert word_error_rate(FOX, result.text) < 0.3, result.text
