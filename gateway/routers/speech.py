"""POST /v1/audio/speech: parse, serve (gateway/serving/speech.py), stream the encoded audio."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from gateway.audio_io import MIME_TYPES
from gateway.formats import speech_usage
from gateway.protocol.json_body import StrictJsonRoute
from gateway.protocol.speech import SpeechRequest
from gateway.services import ServicesDep
from gateway.serving import speech
from gateway.serving.speech import OUTPUT_RATE
from gateway.streaming import SSE_HEADERS, WorkResponse, WorkStream, sse_error, sse_event
from gateway.telemetry import note

router = APIRouter(tags=["audio"], route_class=StrictJsonRoute)

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
async def create_speech(body: SpeechRequest, request: Request, services: ServicesDep) -> Response:
    """Everything is checked before the first byte: model, voice, options, a place in the queue."""
    stream = await speech.speak(services, request, body)
    if body.stream_format == "sse":
        return WorkResponse(_events(request, stream, body), stream, media_type="text/event-stream", headers=SSE_HEADERS)
    return WorkResponse(_audio(request, stream), stream, media_type=MIME_TYPES[body.response_format])


async def _audio(request: Request, stream: WorkStream) -> AsyncIterator[bytes]:
    """The encoded audio, chunk by chunk. A failure after the first byte breaks the connection
    (a chunked response cut short), so a client never takes truncated audio for a whole file."""
    async for kind, value in stream:
        if kind == "item":
            yield value
        else:
            note(request, audio_seconds=value / OUTPUT_RATE)


async def _events(request: Request, stream: WorkStream, body: SpeechRequest) -> AsyncIterator[bytes]:
    """speech.audio.delta per encoded chunk, then speech.audio.done with usage."""
    try:
        async for kind, value in stream:
            if kind == "item":
                yield sse_event({"type": "speech.audio.delta", "audio": base64.b64encode(value).decode("ascii")})
            else:
                note(request, audio_seconds=value / OUTPUT_RATE)
                yield sse_event({"type": "speech.audio.done", "usage": speech_usage(body.input, value / OUTPUT_RATE)})
    except Exception as exc:  # the stream has started: end it with an error event
        yield sse_error(exc)
