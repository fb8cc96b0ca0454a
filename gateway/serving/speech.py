"""Speech: check, admit, then stream Piper's audio, encoded, from the model's thread.

Everything is checked before the first byte: the model and what it supports, the voice,
the options against the loaded model, a place in the queue (429 at once when full), and
the first step of synthesis (the status goes out with the first audio, so a failure there
is still an error response).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from starlette.requests import Request

from gateway.audio_io import open_encoder
from gateway.protocol.speech import SpeechRequest, pace_from_instructions
from gateway.services import Services
from gateway.serving import voices
from gateway.settings import SpeechModelSettings
from gateway.streaming import Emit, WorkStream
from gateway.telemetry import note
from gateway.tenants import request_tenant
from models.errors import InvalidRequest
from models.options import SynthesizeOptions
from models.piper import MAX_SPEED, MIN_SPEED
from models.workers import Synthesizer

OUTPUT_RATE = 24_000
"""OpenAI's output rate, and what `pcm` players assume."""
MAX_PENDING_CHUNKS = 4
"""Encoded pieces that may wait for a slow client; then synthesis waits (bounds the buffer)."""


async def speak(services: Services, request: Request, body: SpeechRequest) -> WorkStream:
    """POST /v1/audio/speech: ("item", encoded bytes)... then ("result", samples spoken at `OUTPUT_RATE`)."""
    entry = services.registry.resolve(body.model, "speech")
    model = services.settings.speech.models.get(body.model, SpeechModelSettings())
    if body.instructions is not None and not model.instructions:
        raise InvalidRequest(f"`instructions` is not supported with model `{body.model}`.", param="instructions")
    if body.stream_format == "sse" and not model.sse:
        raise InvalidRequest(
            f"`stream_format` `sse` is not supported with model `{body.model}`.", param="stream_format"
        )
    voice = await voices.piper_voice(services, request_tenant(request), body.voice, body.model)
    speed = min(MAX_SPEED, max(MIN_SPEED, body.speed * pace_from_instructions(body.instructions)))
    options = SynthesizeOptions(
        speed=speed,
        length_scale=model.length_scale,
        noise_scale=model.noise_scale,
        noise_w=model.noise_w,
        sample_rate=OUTPUT_RATE,
    )
    note(request, model=entry.name)
    with await services.registry.admit(entry) as ticket:
        entry.worker.check(voice, options)
        work = _synthesize_and_encode(entry.worker, body.input, voice, options, body.response_format)
        stream = WorkStream(entry.queue, ticket, work, max_pending=MAX_PENDING_CHUNKS)
    await stream.ready()
    return stream


def _synthesize_and_encode(
    piper: Synthesizer, text: str, voice: str, options: SynthesizeOptions, fmt: str
) -> Callable[[Emit, threading.Event], int]:
    """The blocking work of one request, run in the model's worker thread by `WorkStream`."""

    def work(emit: Emit, cancel: threading.Event) -> int:
        encoder = open_encoder(fmt, OUTPUT_RATE)
        samples = 0
        try:
            for chunk in piper.synthesize(text, voice, options, cancel=cancel):
                samples += len(chunk.pcm) // 2
                if data := encoder.encode(chunk.pcm):
                    emit(data)
            if tail := encoder.finish():
                emit(tail)
            return samples
        finally:
            encoder.close()

    return work
