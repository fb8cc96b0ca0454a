"""Transcriptions and translations: admit, check, decode, then run or stream one Whisper call.

Everything is checked before the first byte: the model, a place in its queue (429 at once
when full; the ticket gives the place back whatever happens), the options against the
loaded model, and the audio. A diarizing model needs the whole recording at once and its
known speakers decoded; any other Whisper model decodes the upload block by block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.requests import Request

from gateway.protocol.transcriptions import AudioRequest, TranscriptionRequest, check_file_model
from gateway.services import Services
from gateway.serving.queues import Ticket, WorkQueue
from gateway.streaming import WorkStream
from gateway.telemetry import note
from models.options import DiarizeOptions
from models.types import SAMPLE_RATE, Transcript
from models.workers import SegmentCallback

Call = Callable[[SegmentCallback | None, threading.Event], Transcript]
"""One transcription of checked audio: `call(on_segment, cancel)`, blocking, run in the model's thread."""


@dataclass(frozen=True)
class Streamed:
    """A transcription read as it is decoded: ("item", Segment)... then ("result", Transcript)."""

    work: WorkStream
    diarized: bool  # from a diarizing model: every segment has one speaker


Outcome = Transcript | Streamed
"""A finished transcript, or (with `stream`) the work as it goes."""


async def transcribe(services: Services, request: Request, body: TranscriptionRequest, upload: UploadFile) -> Outcome:
    """POST /v1/audio/transcriptions with a Whisper model or a diarizing one."""
    check_file_model(body.model)
    registry, decoder = services.registry, services.decoder
    max_seconds = services.settings.transcription.max_audio_seconds
    options = body.transcribe_options(services.settings.transcription.beam_size)
    if registry.kind_of(body.model, ("transcription", "diarization")) == "diarization":
        body.check_diarizing()
        diarizer = registry.resolve(body.model, "diarization")
        note(request, model=diarizer.name)
        with await registry.admit(diarizer) as ticket:
            diarizer.worker.check_options(options)
            known = await decoder.known_speakers(body.known_speaker_names, body.known_speaker_references)
            samples = await decoder.decode(upload, max_seconds=max_seconds)  # the engine needs it all at once
            body.check_duration(len(samples) / SAMPLE_RATE, services.settings.diarization.require_chunking_above_s)
            diarize = DiarizeOptions(known_speakers=known)

            def diarized(on_segment: SegmentCallback | None, cancel: threading.Event) -> Transcript:
                return diarizer.worker.transcribe(samples, options, diarize, on_segment=on_segment, cancel=cancel)

            return await _run(request, diarizer.queue, ticket, diarized, stream=body.stream, diarizing=True)
    body.check_not_diarizing()
    return await _whisper(services, request, body, upload)


async def translate(services: Services, request: Request, body: AudioRequest, upload: UploadFile) -> Outcome:
    """POST /v1/audio/translations: any spoken language into English text."""
    check_file_model(body.model)
    return await _whisper(services, request, body, upload)


async def _whisper(services: Services, request: Request, body: AudioRequest, upload: UploadFile) -> Outcome:
    entry = services.registry.resolve(body.model, "transcription")
    options = body.transcribe_options(services.settings.transcription.beam_size)
    note(request, model=entry.name)
    with await services.registry.admit(entry) as ticket:
        entry.worker.check_options(options)
        # checked up front, then decoded block by block by the worker
        audio = await services.decoder.open(upload, max_seconds=services.settings.transcription.max_audio_seconds)

        def whisper(on_segment: SegmentCallback | None, cancel: threading.Event) -> Transcript:
            return entry.worker.transcribe(audio, options, on_segment=on_segment, cancel=cancel)

        return await _run(request, entry.queue, ticket, whisper, stream=body.streamed)


async def _run(
    request: Request, queue: WorkQueue, ticket: Ticket, call: Call, *, stream: bool, diarizing: bool = False
) -> Outcome:
    """Stream the segments (the stream takes the ticket over), or wait for the whole transcript."""
    if stream:
        return Streamed(WorkStream(queue, ticket, lambda emit, cancel: call(emit, cancel)), diarized=diarizing)
    cancel = threading.Event()  # set when the client goes away or the request runs out of time
    transcript: Transcript = await queue.run(call, None, cancel, ticket=ticket, cancel=cancel)
    note(request, audio_seconds=transcript.duration)
    return transcript
