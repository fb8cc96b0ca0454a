"""POST /v1/audio/transcriptions and /v1/audio/translations: parse, call Whisper, render."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from gateway import formats
from gateway.protocol.forms import as_list, form_fields, json_object, read_form, validate
from gateway.protocol.transcriptions import (
    TranscriptionRequest,
    TranslationRequest,
    multipart_openapi,
)
from gateway.services import Services
from gateway.streaming import SSE_HEADERS, TicketStream, sse_error, sse_event, stream_from_thread
from gateway.telemetry import note
from gateway.uploads import require_upload
from models.options import TranscribeOptions
from models.registry import WorkerEntry
from models.types import Segment, Transcript

router = APIRouter(tags=["audio"])

_LIST_FIELDS = ("include", "timestamp_granularities", "known_speaker_names", "known_speaker_references")


@router.post(
    "/v1/audio/transcriptions",
    openapi_extra=multipart_openapi(TranscriptionRequest, "The audio to transcribe."),
    response_model=None,
    summary="Transcribe audio into the input language",
)
async def create_transcription(request: Request) -> Response:
    services: Services = request.app.state.services
    form = await read_form(request)
    values, uploads = form_fields(form, files=("file",))
    for name in _LIST_FIELDS:
        as_list(values, name)
    json_object(values, "chunking_strategy")
    body: TranscriptionRequest = validate(TranscriptionRequest, values)
    options = TranscribeOptions(
        task="transcribe",
        language=body.language,
        prompt=body.prompt,
        temperature=body.temperature,
        word_timestamps=body.words,
        logprobs=body.logprobs,
        vad=body.vad(),
        beam_size=services.settings.transcription.beam_size,
    )
    return await _run(request, services, body, options, upload=require_upload(uploads, "file", services.max_upload_bytes))


@router.post(
    "/v1/audio/translations",
    openapi_extra=multipart_openapi(TranslationRequest, "The audio to translate into English."),
    response_model=None,
    summary="Translate audio into English text",
)
async def create_translation(request: Request) -> Response:
    services: Services = request.app.state.services
    form = await read_form(request)
    values, uploads = form_fields(form, files=("file",))
    body: TranslationRequest = validate(TranslationRequest, values)
    options = TranscribeOptions(
        task="translate",
        prompt=body.prompt,
        temperature=body.temperature,
        beam_size=services.settings.transcription.beam_size,
    )
    return await _run(request, services, body, options, upload=require_upload(uploads, "file", services.max_upload_bytes))


async def _run(request: Request, services: Services, body: Any, options: TranscribeOptions, upload: Any) -> Response:
    """Everything is validated before the first byte: model, queue place, options, audio."""
    entry = services.registry.resolve(body.model, "transcription")
    note(request, model=entry.name)
    ticket = await services.registry.admit(entry)  # 429 at once when the queue is full
    try:
        entry.worker.check_options(options)
        # checked up front, then decoded block by block by the worker
        samples = await services.decoder.open(upload, max_seconds=services.settings.transcription.max_audio_seconds)
    except BaseException:
        ticket.release()
        raise
    if getattr(body, "stream", False):
        events = _events(request, entry, ticket, samples, options, body)
        return TicketStream(events, ticket, media_type="text/event-stream", headers=SSE_HEADERS)
    cancel = threading.Event()  # set when the client goes away or the request runs out of time
    transcript: Transcript = await entry.queue.run(
        partial(entry.worker.transcribe, cancel=cancel), samples, options, ticket=ticket, cancel=cancel
    )
    note(request, audio_seconds=transcript.duration)
    return render(transcript, body)


def render(transcript: Transcript, body: Any) -> Response:
    usage = formats.usage_for(body.model, transcript)
    fmt = body.response_format
    if fmt in formats.TEXT_RENDERERS:
        return PlainTextResponse(formats.TEXT_RENDERERS[fmt](transcript), media_type="text/plain; charset=utf-8")
    if fmt == "verbose_json":
        words = getattr(body, "words", False)
        segments = getattr(body, "segments", True)
        return JSONResponse(formats.render_verbose(transcript, usage, segments=segments, words=words))
    return JSONResponse(formats.render_json(transcript, usage, logprobs=getattr(body, "logprobs", False)))


async def _events(
    request: Request,
    entry: WorkerEntry,
    ticket: Any,
    samples: Any,
    options: TranscribeOptions,
    body: TranscriptionRequest,
) -> AsyncIterator[bytes]:
    """transcript.text.delta per decoded segment, then transcript.text.done."""

    def work(emit: Any, cancel: threading.Event) -> Transcript:
        return entry.worker.transcribe(samples, options, on_segment=emit, cancel=cancel)

    first = True
    try:
        async for kind, value in stream_from_thread(entry.queue, ticket, work):
            if kind == "item":
                segment: Segment = value
                delta = segment.text.lstrip() if first else segment.text
                first = False
                event: dict[str, Any] = {"type": "transcript.text.delta", "delta": delta}
                if options.logprobs:
                    event["logprobs"] = formats.logprobs_json(segment.logprobs)
                yield sse_event(event)
            else:
                transcript: Transcript = value
                note(request, audio_seconds=transcript.duration)
                done: dict[str, Any] = {"type": "transcript.text.done", "text": transcript.text}
                if options.logprobs:
                    done["logprobs"] = formats.logprobs_json(transcript.logprobs)
                done["usage"] = formats.token_usage(transcript)
                yield sse_event(done)
    except Exception as exc:  # the stream has started: end it with an error event
        yield sse_error(exc)
