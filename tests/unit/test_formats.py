from dataclasses import replace

from gateway import formats
from models.types import Segment, TokenLogprob, Transcript, Word


def _segment(i: int, start: float, end: float, text: str) -> Segment:
    return Segment(
        id=i, seek=0, start=start, end=end, text=text, tokens=(50364, 440, 50400), temperature=0.0,
        avg_logprob=-0.2, compression_ratio=1.1, no_speech_prob=0.01,
        words=(Word(word=text.split()[0], start=start, end=start + 0.3, probability=0.9),),
        logprobs=(TokenLogprob(token=" hi", logprob=-0.1, bytes=(32, 104, 105)),),
    )


TRANSCRIPT = Transcript(
    task="transcribe", language="en", duration=3725.5,
    segments=(_segment(0, 0.0, 1.5, " Hello there."), _segment(1, 3723.25, 3725.4, " Bye now.")),
)


def test_srt():
    assert formats.render_srt(TRANSCRIPT) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n01:02:03,250 --> 01:02:05,400\nBye now.\n"
    )


def test_vtt():
    assert formats.render_vtt(TRANSCRIPT).startswith(
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n01:02:03.250"
    )


def test_json_and_usage():
    body = formats.render_json(TRANSCRIPT, formats.duration_usage(TRANSCRIPT), logprobs=True)
    assert body["text"] == "Hello there. Bye now."
    assert body["usage"] == {"type": "duration", "seconds": 3726}
    assert body["logprobs"] == [{"token": " hi", "logprob": -0.1, "bytes": [32, 104, 105]}] * 2
    tokens = formats.usage_for("gpt-4o-transcribe", TRANSCRIPT)
    assert tokens["type"] == "tokens" and tokens["output_tokens"] == 2
    assert tokens["input_token_details"]["audio_tokens"] == 186275  # 50 per second, rounded up


def test_verbose_json_fields():
    body = formats.render_verbose(TRANSCRIPT, None, segments=True, words=True)
    assert body["language"] == "english" and body["task"] == "transcribe"
    assert set(body["segments"][0]) == {
        "id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio",
        "no_speech_prob",
    }
    assert body["words"][0] == {"word": "Hello", "start": 0.0, "end": 0.3}
    assert "segments" not in formats.render_verbose(TRANSCRIPT, None, segments=False, words=True)


def test_verbose_json_words_are_words():
    """A dash or quote Whisper leaves on its own (a cut-off "so-", speaker dashes) is not listed as a word."""
    words = (
        Word(" so", 0.0, 0.2, 0.9), Word("-", 0.2, 0.3, 0.5), Word(" 42", 0.3, 0.6, 0.9), Word(" 東京", 0.6, 1.0, 0.9)
    )
    segment = replace(_segment(0, 0.0, 1.0, " so - 42 東京"), words=words)
    body = formats.render_verbose(replace(TRANSCRIPT, segments=(segment,)), None, words=True)
    assert [w["word"] for w in body["words"]] == ["so", "42", "東京"]


DIARIZED = Transcript(
    task="transcribe", language="en", duration=4.0,
    segments=(
        replace(_segment(0, 0.0, 1.5, " Hello there."), speaker="A"),
        replace(_segment(1, 2.0, 3.25, " Hi <Ann> & co."), speaker="joe", tokens=()),
    ),
)


def test_diarized_json():
    body = formats.render_diarized(DIARIZED, formats.token_usage(DIARIZED))
    assert list(body) == ["task", "duration", "text", "segments", "usage"]
    assert body["text"] == "Hello there. Hi <Ann> & co."
    assert body["segments"] == [
        {"type": "transcript.text.segment", "id": "seg_001", "start": 0.0, "end": 1.5, "text": "Hello there.",
         "speaker": "A"},
        {"type": "transcript.text.segment", "id": "seg_002", "start": 2.0, "end": 3.25, "text": "Hi <Ann> & co.",
         "speaker": "joe"},
    ]
    # a piece of a segment split by speaker has no Whisper tokens: its words count
    assert body["usage"]["output_tokens"] == 1 + 4  # one text token (440) and four words
    assert formats.segment_id(999) == "seg_1000"


def test_srt_and_vtt_name_the_speaker_of_a_diarized_segment():
    assert formats.render_srt(DIARIZED).splitlines()[2] == "A: Hello there."
    assert formats.render_srt(DIARIZED).splitlines()[6] == "joe: Hi <Ann> & co."
    vtt = formats.render_vtt(DIARIZED).splitlines()
    assert vtt[3] == "<v A>Hello there." and vtt[6] == "<v joe>Hi &lt;Ann&gt; &amp; co."
