"""POST /v1/audio/transcriptions and /v1/audio/translations: parse, serve (gateway/serving/transcription.py), render."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from gateway import formats
from gateway.protocol.forms import form_fields, json_object, multipart_openapi, read_form, validate
from gateway.protocol.transcriptions import AudioRequest, TranscriptionRequest, TranslationRequest
from gateway.services import ServicesDep
from gateway.serving import transcription
from gateway.streaming import SSE_HEADERS, WorkResponse, sse_error, sse_event
from gateway.telemetry import note
from gateway.uploads import require_upload
from models.types import Segment, Transcript

router = APIRouter(tags=["audio"])

_LIST_FIELDS = (
    "include",
    "timestamp_granularities",
    "known_speaker_names",
    "known_speaker_references",
    "keywords",
    "languages",
)
MAX_FIELD_BYTES = 8 * 1024 * 1024
"""A form field may be this long: a speaker reference is a base64 data URL of up to 10 s of audio."""


@router.post(
    "/v1/audio/transcriptions",
    openapi_extra=multipart_openapi(TranscriptionRequest, "The audio to transcribe."),
    response_model=None,
    summary="Transcribe audio into the input language",
)
async def create_transcription(request: Request, services: ServicesDep) -> Response:
    form = await read_form(request, max_part_size=MAX_FIELD_BYTES)
    values, uploads = form_fields(form, files=("file",), lists=_LIST_FIELDS, known=TranscriptionRequest.model_fields)
    json_object(values, "chunking_strategy")
    body: TranscriptionRequest = validate(TranscriptionRequest, values)
    upload = require_upload(uploads, "file", services.max_upload_bytes)
    return respond(request, body, await transcription.transcribe(services, request, body, upload))


@router.post(
    "/v1/audio/translations",
    openapi_extra=multipart_openapi(TranslationRequest, "The audio to translate into English."),
    response_model=None,
    summary="Translate audio into English text",
)
async def create_translation(request: Request, services: ServicesDep) -> Response:
    form = await read_form(request)
    values, uploads = form_fields(form, files=("file",), known=TranslationRequest.model_fields)
    body: TranslationRequest = validate(TranslationRequest, values)
    upload = require_upload(uploads, "file", services.max_upload_bytes)
    return respond(request, body, await transcription.translate(services, request, body, upload))


def respond(request: Request, body: AudioRequest, outcome: transcription.Outcome) -> Response:
    """A transcript in the asked format, or its stream as server-sent events."""
    if isinstance(outcome, transcription.Streamed):
        events = _events(request, outcome, body)
        return WorkResponse(events, outcome.work, media_type="text/event-stream", headers=SSE_HEADERS)
    return render(outcome, body)


def render(transcript: Transcript, body: AudioRequest) -> Response:
    """A finished transcript in the request's `response_format`."""
    usage = formats.usage_for(body.model, transcript)
    fmt = body.response_format
    if fmt in formats.TEXT_RENDERERS:
        return PlainTextResponse(formats.TEXT_RENDERERS[fmt](transcript), media_type="text/plain; charset=utf-8")
    if fmt == "diarized_json":
        return JSONResponse(formats.render_diarized(transcript, usage))
    if fmt == "verbose_json":
        body_json = formats.render_verbose(transcript, usage, segments=body.segments, words=body.words)
    else:
        body_json = formats.render_json(transcript, usage, logprobs=body.logprobs)
    if body.reports_languages:
        body_json["languages"] = formats.languages_json(transcript)
    return JSONResponse(body_json)


async def _events(request: Request, stream: transcription.Streamed, body: AudioRequest) -> AsyncIterator[bytes]:
    """transcript.text.delta per decoded segment, then transcript.text.done.

    From a diarizing model every segment has one speaker: its delta carries `segment_id`, and
    with `diarized_json` a `transcript.text.segment` event follows it once the segment is final.
    """
    diarized = stream.diarized
    segment_events = diarized and body.response_format == "diarized_json"
    first = True
    try:
        async for kind, value in stream.work:
            if kind == "item":
                segment: Segment = value
                delta = segment.text.lstrip() if first else segment.text
                first = False
                event: dict[str, Any] = {"type": "transcript.text.delta", "delta": delta}
                if body.logprobs:
                    event["logprobs"] = formats.logprobs_json(segment.logprobs)
                if diarized:
                    event["segment_id"] = formats.segment_id(segment.id)
                yield sse_event(event)
                if segment_events:
                    yield sse_event(formats.diarized_segment_json(segment))
            else:
                transcript: Transcript = value
                note(request, audio_seconds=transcript.duration)
                done: dict[str, Any] = {"type": "transcript.text.done", "text": transcript.text}
                if body.reports_languages:
                    done["languages"] = formats.languages_json(transcript)
                if body.logprobs:
                    done["logprobs"] = formats.logprobs_json(transcript.logprobs)
                done["usage"] = formats.token_usage(transcript)
                yield sse_event(done)
    except Exception as exc:  # the stream has started: end it with an error event
        yield sse_error(exc)
