"""Pure renderers from a Transcript to OpenAI's response formats."""

from __future__ import annotations

import math
import re
from typing import Any

from gateway.languages import language_name, standard_code
from models.transcript_checks import has_words
from models.types import Segment, TokenLogprob, Transcript

AUDIO_TOKENS_PER_SECOND = 50  # Whisper's encoder: 1500 positions per 30 s window


def duration_usage(transcript: Transcript) -> dict[str, Any]:
    """whisper-1's usage: the audio's duration in whole seconds, rounded up."""
    return {"type": "duration", "seconds": math.ceil(transcript.duration)}


def token_usage(transcript: Transcript, prompt_tokens: int = 0) -> dict[str, Any]:
    """gpt-4o-*-transcribe's usage, counted the Whisper way: 50 audio tokens per second."""
    audio_tokens = math.ceil(transcript.duration * AUDIO_TOKENS_PER_SECOND)
    output_tokens = sum(_text_tokens(segment) for segment in transcript.segments) or len(transcript.text.split())
    input_tokens = audio_tokens + prompt_tokens
    return {
        "type": "tokens",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": prompt_tokens},
    }


def _text_tokens(segment: Segment) -> int:
    """Whisper's text tokens of a segment; its words for a piece of a segment split by speaker."""
    return sum(1 for t in segment.tokens if t < 50257) if segment.tokens else len(segment.text.split())


def usage_for(model_id: str, transcript: Transcript) -> dict[str, Any]:
    """Token usage for the `gpt-*` ids, duration usage for whisper-1 and our own ids (as OpenAI does)."""
    return token_usage(transcript) if model_id.startswith("gpt-") else duration_usage(transcript)


def logprobs_json(logprobs: tuple[TokenLogprob, ...]) -> list[dict[str, Any]]:
    """Token log probabilities as OpenAI writes them: token, logprob, UTF-8 bytes."""
    return [{"token": lp.token, "logprob": lp.logprob, "bytes": list(lp.bytes)} for lp in logprobs]


def languages_json(transcript: Transcript) -> list[dict[str, str]]:
    """`languages`: the reliably detected (or given) languages; empty when none was (models/languages.py)."""
    return [{"code": standard_code(code)} for code in transcript.languages]


def render_json(transcript: Transcript, usage: dict[str, Any] | None, logprobs: bool = False) -> dict[str, Any]:
    """The `json` format: the text, with `logprobs` when asked for and the usage."""
    body: dict[str, Any] = {"text": transcript.text}
    if logprobs:
        body["logprobs"] = logprobs_json(transcript.logprobs)
    if usage is not None:
        body["usage"] = usage
    return body


def segment_json(segment: Segment) -> dict[str, Any]:
    """One segment of `verbose_json`: times in seconds (ms precision), tokens and decoding figures."""
    return {
        "id": segment.id,
        "seek": segment.seek,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text,
        "tokens": list(segment.tokens),
        "temperature": segment.temperature,
        "avg_logprob": segment.avg_logprob,
        "compression_ratio": segment.compression_ratio,
        "no_speech_prob": segment.no_speech_prob,
    }


def render_verbose(
    transcript: Transcript,
    usage: dict[str, Any] | None,
    *,
    segments: bool = True,
    words: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": transcript.task,
        "language": "english" if transcript.task == "translate" else language_name(transcript.language),
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
    }
    if words:
        body["words"] = [
            {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3)}
            for w in transcript.words
            if has_words(w.word)  # a dash or quote Whisper left on its own is not a word
        ]
    if segments:
        body["segments"] = [segment_json(s) for s in transcript.segments]
    if usage is not None:
        body["usage"] = usage
    return body


def segment_id(index: int) -> str:
    """The id of a diarized segment: seg_001, seg_002, ..."""
    return f"seg_{index + 1:03d}"


def diarized_segment_json(segment: Segment) -> dict[str, Any]:
    """A `transcript.text.segment`: the shape of diarized_json's segments and of the SSE event alike."""
    return {
        "type": "transcript.text.segment",
        "id": segment_id(segment.id),
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text.strip(),
        "speaker": segment.speaker,
    }


def render_diarized(transcript: Transcript, usage: dict[str, Any] | None) -> dict[str, Any]:
    """The `diarized_json` format: segments with their speaker, times in seconds."""
    body: dict[str, Any] = {
        "task": transcript.task,
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
        "segments": [diarized_segment_json(s) for s in transcript.segments],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def render_srt(transcript: Transcript) -> str:
    """SubRip cues; a diarized segment's cue starts with its speaker (`A: text`)."""
    blocks = [
        f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{_srt_text(s)}\n"
        for i, s in enumerate(transcript.segments, start=1)
    ]
    return "\n".join(blocks)


def render_vtt(transcript: Transcript) -> str:
    """WebVTT cues; a diarized segment's cue is a voice span (`<v A>text`)."""
    blocks = [f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{_vtt_text(s)}\n" for s in transcript.segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _srt_text(segment: Segment) -> str:
    text = segment.text.strip()
    return f"{segment.speaker}: {text}" if segment.speaker else text


def _vtt_text(segment: Segment) -> str:
    text = segment.text.strip()
    if not segment.speaker:
        return text
    escape = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
    speaker = "".join(escape.get(c, c) for c in segment.speaker)
    return f"<v {speaker}>{''.join(escape.get(c, c) for c in text)}"


def render_text(transcript: Transcript) -> str:
    """The `text` format: the transcript and a newline."""
    return transcript.text + "\n"


TEXT_RENDERERS = {"text": render_text, "srt": render_srt, "vtt": render_vtt}


_TEXT_TOKEN = re.compile(r"\w+|[^\w\s]")


def speech_usage(text: str, seconds: float) -> dict[str, int]:
    """Token usage of a speech request, estimated: one token per word or punctuation mark of the
    input, and the audio counted at the rate the transcription usage uses."""
    input_tokens = len(_TEXT_TOKEN.findall(text))
    output_tokens = math.ceil(seconds * AUDIO_TOKENS_PER_SECOND)
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
