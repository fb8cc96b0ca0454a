"""POST /v1/audio/transcriptions and /v1/audio/translations: parse, call Whisper (or Whisper with a
diarization engine), render."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from gateway import formats
from gateway.protocol.forms import form_fields, json_object, read_form, validate
from gateway.protocol.transcriptions import (
    TranscriptionRequest,
    TranslationRequest,
    check_file_model,
    multipart_openapi,
)
from gateway.services import Services
from gateway.streaming import SSE_HEADERS, TicketStream, sse_error, sse_event, stream_from_thread
from gateway.telemetry import note
from gateway.uploads import require_upload
from models.options import DiarizeOptions, TranscribeOptions
from models.registry import WorkerEntry
from models.types import SAMPLE_RATE, Segment, Transcript

router = APIRouter(tags=["audio"])

_LIST_FIELDS = (
    "include",
    "timestamp_granularities",
    "known_speaker_names",
    "known_speaker_references",
    "keywords",
    "languages",
)
TRANSCRIBING_KINDS = ("transcription", "diarization")
MAX_FIELD_BYTES = 8 * 1024 * 1024
"""A form field may be this long: a speaker reference is a base64 data URL of up to 10 s of audio."""


@router.post(
    "/v1/audio/transcriptions",
    openapi_extra=multipart_openapi(TranscriptionRequest, "The audio to transcribe."),
    response_model=None,
    summary="Transcribe audio into the input language",
)
async def create_transcription(request: Request) -> Response:
    services: Services = request.app.state.services
    form = await read_form(request, max_part_size=MAX_FIELD_BYTES)
    values, uploads = form_fields(form, files=("file",), lists=_LIST_FIELDS, known=TranscriptionRequest.model_fields)
    json_object(values, "chunking_strategy")
    body: TranscriptionRequest = validate(TranscriptionRequest, values)
    upload = require_upload(uploads, "file", services.max_upload_bytes)
    check_file_model(body.model)
    entry = services.registry.resolve(body.model, TRANSCRIBING_KINDS)
    if entry.kind == "diarization":
        return await _diarize(request, services, entry, body, upload)
    body.check_not_diarizing()
    options = TranscribeOptions(
        task="transcribe",
        language=body.language,
        prompt=body.prompt,
        temperature=body.temperature,
        word_timestamps=body.words,
        logprobs=body.logprobs,
        vad=body.vad(),
        beam_size=services.settings.transcription.beam_size,
        keywords=tuple(body.keywords),
        languages=tuple(body.languages),
    )
    return await _run(request, services, entry, body, options, upload)


@router.post(
    "/v1/audio/translations",
    openapi_extra=multipart_openapi(TranslationRequest, "The audio to translate into English."),
    response_model=None,
    summary="Translate audio into English text",
)
async def create_translation(request: Request) -> Response:
    services: Services = request.app.state.services
    form = await read_form(request)
    values, uploads = form_fields(form, files=("file",), known=TranslationRequest.model_fields)
    body: TranslationRequest = validate(TranslationRequest, values)
    upload = require_upload(uploads, "file", services.max_upload_bytes)
    check_file_model(body.model)
    entry = services.registry.resolve(body.model, "transcription")
    options = TranscribeOptions(
        task="translate",
        prompt=body.prompt,
        temperature=body.temperature,
        beam_size=services.settings.transcription.beam_size,
    )
    return await _run(request, services, entry, body, options, upload)


async def _run(
    request: Request, services: Services, entry: WorkerEntry, body: Any, options: TranscribeOptions, upload: Any
) -> Response:
    """Everything is validated before the first byte: model, queue place, options, audio."""
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

        def work(emit: Any, cancel: threading.Event) -> Transcript:
            transcript: Transcript = entry.worker.transcribe(samples, options, on_segment=emit, cancel=cancel)
            return transcript

        events = _events(request, entry, ticket, work, body, logprobs=options.logprobs)
        return TicketStream(events, ticket, media_type="text/event-stream", headers=SSE_HEADERS)
    cancel = threading.Event()  # set when the client goes away or the request runs out of time
    transcript: Transcript = await entry.queue.run(
        partial(entry.worker.transcribe, cancel=cancel), samples, options, ticket=ticket, cancel=cancel
    )
    note(request, audio_seconds=transcript.duration)
    return render(transcript, body)


async def _diarize(
    request: Request, services: Services, entry: WorkerEntry, body: TranscriptionRequest, upload: Any
) -> Response:
    """Whisper plus a diarization engine; known speakers and audio are checked before the first byte."""
    body.check_diarizing()
    options = TranscribeOptions(
        task="transcribe",
        language=body.language,
        temperature=body.temperature,
        vad=body.vad(),
        beam_size=services.settings.transcription.beam_size,
        keywords=tuple(body.keywords),
        languages=tuple(body.languages),
    )
    note(request, model=entry.name)
    ticket = await services.registry.admit(entry)  # 429 at once when the queue is full
    try:
        entry.worker.check_options(options)
        known = await services.decoder.known_speakers(body.known_speaker_names, body.known_speaker_references)
        # the engine needs the whole recording at once
        samples = await services.decoder.decode(upload, max_seconds=services.settings.transcription.max_audio_seconds)
        body.check_duration(len(samples) / SAMPLE_RATE, services.settings.diarization.require_chunking_above_s)
    except BaseException:
        ticket.release()
        raise
    diarize = DiarizeOptions(known_speakers=known)
    if body.stream:

        def work(emit: Any, cancel: threading.Event) -> Transcript:
            transcript: Transcript = entry.worker.transcribe(samples, options, diarize, on_segment=emit, cancel=cancel)
            return transcript

        events = _events(request, entry, ticket, work, body, diarized=True)
        return TicketStream(events, ticket, media_type="text/event-stream", headers=SSE_HEADERS)
    cancel = threading.Event()  # set when the client goes away or the request runs out of time
    transcript: Transcript = await entry.queue.run(
        partial(entry.worker.transcribe, cancel=cancel), samples, options, diarize, ticket=ticket, cancel=cancel
    )
    note(request, audio_seconds=transcript.duration)
    return render(transcript, body)


def render(transcript: Transcript, body: Any) -> Response:
    usage = formats.usage_for(body.model, transcript)
    fmt = body.response_format
    if fmt in formats.TEXT_RENDERERS:
        return PlainTextResponse(formats.TEXT_RENDERERS[fmt](transcript), media_type="text/plain; charset=utf-8")
    if fmt == "diarized_json":
        return JSONResponse(formats.render_diarized(transcript, usage))
    if fmt == "verbose_json":
        words = getattr(body, "words", False)
        segments = getattr(body, "segments", True)
        body_json = formats.render_verbose(transcript, usage, segments=segments, words=words)
    else:
        body_json = formats.render_json(transcript, usage, logprobs=getattr(body, "logprobs", False))
    if isinstance(body, TranscriptionRequest):  # translations detect nothing to report
        body_json["languages"] = formats.languages_json(transcript)
    return JSONResponse(body_json)


async def _events(
    request: Request,
    entry: WorkerEntry,
    ticket: Any,
    work: Callable[[Any, threading.Event], Transcript],
    body: Any,
    *,
    logprobs: bool = False,
    diarized: bool = False,
) -> AsyncIterator[bytes]:
    """transcript.text.delta per decoded segment, then transcript.text.done.

    From a diarizing model every segment has one speaker: its delta carries `segment_id`, and
    with `diarized_json` a `transcript.text.segment` event follows it once the segment is final.
    """
    segment_events = diarized and body.response_format == "diarized_json"
    first = True
    try:
        async for kind, value in stream_from_thread(entry.queue, ticket, work):
            if kind == "item":
                segment: Segment = value
                delta = segment.text.lstrip() if first else segment.text
                first = False
                event: dict[str, Any] = {"type": "transcript.text.delta", "delta": delta}
                if logprobs:
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
                if isinstance(body, TranscriptionRequest):
                    done["languages"] = formats.languages_json(transcript)
                if logprobs:
                    done["logprobs"] = formats.logprobs_json(transcript.logprobs)
                done["usage"] = formats.token_usage(transcript)
                yield sse_event(done)
    except Exception as exc:  # the stream has started: end it with an error event
        yield sse_error(exc)
