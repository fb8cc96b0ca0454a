"""POST /v1/audio/speech and GET /v1/audio/voices: validate, call Piper, stream encoded audio."""

from __future__ import annotations

import base64
import logging
import math
import re
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from gateway.audio_io import MIME_TYPES, open_encoder
from gateway.custom_voices import custom_piper_voice, piper_voice_of
from gateway.formats import AUDIO_TOKENS_PER_SECOND
from gateway.middleware import request_tenant
from gateway.protocol.json_body import StrictJsonRoute
from gateway.protocol.speech import SpeechRequest, VoiceEntry, VoiceId, VoiceList, pace_from_instructions
from gateway.services import Services
from gateway.settings import SpeechModelSettings
from gateway.streaming import SSE_HEADERS, sse_error, sse_event, stream_from_thread
from gateway.telemetry import note
from models.errors import InvalidRequest
from models.options import SynthesizeOptions
from models.piper import MAX_SPEED, MIN_SPEED
from models.registry import WorkerEntry

log = logging.getLogger(__name__)
router = APIRouter(tags=["audio"], route_class=StrictJsonRoute)

OUTPUT_RATE = 24_000
"""OpenAI's output rate, and what `pcm` players assume."""
MAX_PENDING_CHUNKS = 4
"""Encoded pieces that may wait for a slow client; then synthesis waits (bounds the buffer)."""

_AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The audio, sent in chunks as it is synthesised; with `stream_format=sse`, events.",
        "content": {m: {} for m in (*MIME_TYPES.values(), "text/event-stream")},
    }
}


@router.post(
    "/v1/audio/speech",
    response_model=None,
    response_class=StreamingResponse,
    responses=_AUDIO_RESPONSES,
    summary="Generate audio from text",
)
async def create_speech(body: SpeechRequest, request: Request) -> Response:
    """Everything is checked before the first byte: model, voice, options, a place in the queue."""
    services: Services = request.app.state.services
    entry = services.registry.resolve(body.model, "speech")
    model = services.settings.speech.models.get(body.model, SpeechModelSettings())
    if body.instructions is not None and not model.instructions:
        raise InvalidRequest(f"`instructions` is not supported with model `{body.model}`.", param="instructions")
    if body.stream_format == "sse" and not model.sse:
        raise InvalidRequest(
            f"`stream_format` `sse` is not supported with model `{body.model}`.", param="stream_format"
        )
    if isinstance(body.voice, VoiceId):
        voice = await custom_piper_voice(services, request_tenant(request), body.voice.id)
    else:
        voice = piper_voice(services, body.voice, body.model)
    speed = min(MAX_SPEED, max(MIN_SPEED, body.speed * pace_from_instructions(body.instructions)))
    options = SynthesizeOptions(
        speed=speed,
        length_scale=model.length_scale,
        noise_scale=model.noise_scale,
        noise_w=model.noise_w,
        sample_rate=OUTPUT_RATE,
    )
    note(request, model=entry.name)
    ticket = await services.registry.admit(entry)  # 429 at once when the queue is full
    try:
        entry.worker.check(voice, options)
    except BaseException:
        ticket.release()
        raise
    # The status goes out with the first audio: a failure in the first step is still an error response.
    work = _synthesize_and_encode(entry, body.input, voice, options, body.response_format)
    stream = stream_from_thread(entry.queue, ticket, work, max_pending=MAX_PENDING_CHUNKS)
    first = await anext(stream)
    if body.stream_format == "sse":
        events = _events(request, first, stream, body)
        return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
    return StreamingResponse(_audio(request, first, stream), media_type=MIME_TYPES[body.response_format])


@router.get("/v1/audio/voices", response_model=VoiceList, summary="List voices (audio-gateway extension)")
async def list_voices(request: Request, model: str | None = None) -> Any:
    """The built-in voice names and the caller's custom voices, with the Piper voice each is spoken with."""
    services: Services = request.app.state.services
    if model is not None:
        services.registry.resolve(model, "speech")
    worker = _speech_worker(services)
    languages = {v.name: v.language for v in worker.voices()} if worker is not None else {}
    builtin = [
        VoiceEntry(
            id=name, name=name, type="builtin", piper_voice=target, language=languages.get(target.partition(":")[0])
        )
        for name, target in _voice_map(services, model).items()
    ]
    custom = []
    for record in await services.store.run(services.store.list_voices, request_tenant(request)):
        target = await piper_voice_of(services, record)
        custom.append(
            VoiceEntry(
                id=record.id,
                name=record.name,
                type="audio_sample",
                piper_voice=target,
                language=languages.get(target.partition(":")[0]),
            )
        )
    return VoiceList(data=builtin + custom)


def _voice_map(services: Services, model: str | None) -> dict[str, str]:
    section = services.settings.speech
    overrides = section.models[model].voices if model in section.models else {}
    return {**section.voices, **overrides}


def piper_voice(services: Services, voice: str, model: str) -> str:
    """The Piper voice id a built-in voice name stands for."""
    voices = _voice_map(services, model)
    if voice not in voices:
        raise InvalidRequest(
            f"Invalid value for 'voice': `{voice}`. Supported voices are: {', '.join(voices)}.",
            param="voice",
            code="invalid_value",
        )
    return voices[voice]


def _speech_worker(services: Services) -> Any:
    entries = [e for e in services.registry.entries.values() if e.kind == "speech" and e.worker.loaded]
    return entries[0].worker if entries else None


def _synthesize_and_encode(entry: WorkerEntry, text: str, voice: str, options: SynthesizeOptions, fmt: str) -> Any:
    """The blocking work of one request, run in the model's worker thread by `stream_from_thread`."""

    def work(emit: Any, cancel: threading.Event) -> int:
        encoder = open_encoder(fmt, OUTPUT_RATE)
        samples = 0
        try:
            for chunk in entry.worker.synthesize(text, voice, options, cancel=cancel):
                samples += len(chunk.pcm) // 2
                if data := encoder.encode(chunk.pcm):
                    emit(data)
            if tail := encoder.finish():
                emit(tail)
            return samples
        finally:
            encoder.close()

    return work


Stream = AsyncIterator[tuple[str, Any]]


async def _resumed(first: tuple[str, Any], stream: Stream) -> Stream:
    yield first
    if first[0] == "item":
        async for kind, value in stream:
            yield kind, value


async def _audio(request: Request, first: tuple[str, Any], stream: Stream) -> AsyncIterator[bytes]:
    """The encoded audio, chunk by chunk. A failure after the first byte breaks the connection
    (a chunked response cut short), so a client never takes truncated audio for a whole file."""
    async for kind, value in _resumed(first, stream):
        if kind == "item":
            yield value
        else:
            note(request, audio_seconds=value / OUTPUT_RATE)


async def _events(
    request: Request, first: tuple[str, Any], stream: Stream, body: SpeechRequest
) -> AsyncIterator[bytes]:
    """speech.audio.delta per encoded chunk, then speech.audio.done with usage."""
    try:
        async for kind, value in _resumed(first, stream):
            if kind == "item":
                yield sse_event({"type": "speech.audio.delta", "audio": base64.b64encode(value).decode("ascii")})
            else:
                note(request, audio_seconds=value / OUTPUT_RATE)
                yield sse_event({"type": "speech.audio.done", "usage": speech_usage(body.input, value / OUTPUT_RATE)})
    except Exception as exc:  # the stream has started: end it with an error event
        yield sse_error(exc)


_TEXT_TOKEN = re.compile(r"\w+|[^\w\s]")


def speech_usage(text: str, seconds: float) -> dict[str, int]:
    """Token usage, estimated: one token per word or punctuation mark of the input, and the
    audio counted at the rate the transcription usage uses."""
    input_tokens = len(_TEXT_TOKEN.findall(text))
    output_tokens = math.ceil(seconds * AUDIO_TOKENS_PER_SECOND)
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
