"""One Realtime transcription session: client events in, turns out, transcripts back.

The session owns the flow of one WebSocket: it parses each client event, keeps the input
audio buffer (float32 16 kHz, session time), runs server VAD on it, and hands committed turns
to a transcriber task that runs them, in order, on the same Whisper workers and queues as
file transcription. Decoding and VAD run in a worker thread; the event loop only awaits.

Every bad client event is answered with an `error` event and the session goes on, as
OpenAI's does; only a client that goes away or stays idle ends it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio.to_thread
import numpy as np

from gateway.live_events import completed_event, failed_event, final_deltas, segment_events
from gateway.live_interim import InterimDeltas
from gateway.protocol.realtime import (
    CLIENT_EVENTS,
    TranscriptionSession,
    decode_audio,
    error_event,
    new_id,
    server_event,
)
from gateway.protocol.transcriptions import REALTIME_ONLY_MODELS
from gateway.services import Services
from gateway.serving.registry import WorkerEntry
from models.compute import Latency
from models.diarization.live import SessionSpeakers
from models.errors import DomainError, InvalidRequest
from models.live_audio import (
    IdleTimeout,
    LiveDecoder,
    PauseCandidate,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
    TurnEvent,
    sounds_finished,
)
from models.noise import NoiseReducer
from models.options import TranscribeOptions
from models.types import SAMPLE_RATE, Transcript

log = logging.getLogger(__name__)

MIN_COMMIT_MS = 100
"""OpenAI refuses to commit less audio than this."""

LARGE_MESSAGE = 64 * 1024
"""Client messages at least this long are parsed in a worker thread."""

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Busy(DomainError):
    """An interim decode not worth making now: the model has work waiting."""


@dataclass(frozen=True)
class Turn:
    """Committed audio waiting for its transcript."""

    item_id: str
    samples: np.ndarray  # float32 mono 16 kHz
    start: int  # session sample of the first one
    config: TranscriptionSession = field(repr=False)
    model: str = ""
    committed_at: float = field(default_factory=time.monotonic)


class LiveSession:
    """The state of one transcription session; `handle` takes each client message in order."""

    def __init__(self, services: Services, send: Send, config: TranscriptionSession | None = None):
        self.services = services
        self.settings = services.settings.realtime
        self.send = send
        self.id = new_id("sess")
        self.config = config or TranscriptionSession()
        self.model = self.config.input.transcription.model or self.settings.default_model
        self.turns: asyncio.Queue[Turn] = asyncio.Queue(maxsize=self.settings.max_pending_turns)
        self.transcribing = False
        self._decoder = LiveDecoder(self.config.input.format.type)
        self._denoiser = _noise_reducer(self.config)
        self._detector: TurnDetector | None = None  # made in a thread at the first append with VAD on
        self._chunks: list[np.ndarray] = []
        self._base = 0  # session sample index of the buffer's first sample
        self._buffered = 0  # samples in the buffer
        self._item_id: str | None = None  # of the turn being spoken (server VAD)
        self._previous_item: str | None = None
        self.interim = InterimDeltas(self._interim_decode, send)
        self.speakers = SessionSpeakers(threshold=services.settings.diarization.live_speaker_threshold)
        self._segments = 0  # segment events sent (their ids)
        self._interim_start = -1  # the turn the interim decodes are of (its start sample)
        self._interim_at = 0  # samples of that turn at the last interim request

    @property
    def busy(self) -> bool:
        """Turns are waiting for or getting their transcripts."""
        return self.transcribing or not self.turns.empty()

    async def start(self) -> None:
        session = self.config.wire(self.id, self.model)
        session["expires_at"] = int(time.time() + self.settings.max_session_s)
        await self.send(server_event("session.created", session=session))

    async def handle(self, text: str) -> None:
        """One client message (JSON text); a bad one is answered with an error event."""
        event_id = None
        try:
            try:  # a large append (up to max_append_bytes in base64) is parsed off the event loop
                event = (
                    json.loads(text) if len(text) < LARGE_MESSAGE else await anyio.to_thread.run_sync(json.loads, text)
                )
            except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser goes
                raise InvalidRequest(f"Invalid JSON in client event: {exc}.", param=None, code="invalid_json") from exc
            if not isinstance(event, dict):
                raise InvalidRequest("A client event is a JSON object.", code="invalid_json")
            event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
            kind = event.get("type")
            if kind not in CLIENT_EVENTS:
                raise InvalidRequest(
                    f"Invalid value: '{kind}'. Supported values are: {', '.join(repr(k) for k in CLIENT_EVENTS)}.",
                    param="type",
                    code="invalid_value",
                )
            if kind == "session.update":
                await self._update(event.get("session"))
            elif kind == "input_audio_buffer.append":
                await self._append(event.get("audio"))
            elif kind == "input_audio_buffer.commit":
                await self._commit_all()
            else:
                self._clear()
                await self.send(server_event("input_audio_buffer.cleared"))
        except DomainError as exc:
            await self.send(error_event(exc, event_id))

    async def _update(self, update: Any) -> None:
        config = self.config.updated(update)
        model = await checked_model(self.services, config, self.model)
        cleared = False  # audio the buffer held was dropped: the client is told, as for a clear
        if config.input.format.type != self.config.input.format.type:
            cleared = self._buffered > 0 or self._item_id is not None
            self._clear()  # samples of another format cannot be continued
            self._decoder = LiveDecoder(config.input.format.type)
        if config.input.noise_reduction != self.config.input.noise_reduction:
            self._denoiser = _noise_reducer(config)
        if config.input.turn_detection != self.config.input.turn_detection:
            if self._item_id is not None:  # a turn in progress is judged by the old rules or not at all
                cleared = True
                self._clear()
            self._detector = None  # made anew with the new parameters
            self._item_id = None
            self.interim.stop()
        self.config, self.model = config, model
        if cleared:
            await self.send(server_event("input_audio_buffer.cleared"))
        await self.send(server_event("session.updated", session=config.wire(self.id, model)))

    async def _append(self, audio: Any) -> None:
        events, interim = await anyio.to_thread.run_sync(self._ingest, audio)
        while (pause := await self._announce(events)) is not None:  # semantic VAD: did the turn end there?
            ended = await self._sounds_finished(pause)
            events, interim = await anyio.to_thread.run_sync(self._decide, ended)
        if interim is not None and self._item_id is not None:
            self.interim.request(self._item_id, interim)

    async def _announce(self, events: list[tuple[TurnEvent, np.ndarray | None]]) -> np.ndarray | None:
        """Send the events turn detection found, commit the turns they end; the audio of a pause that awaits
        a decision (semantic VAD), if one does (it is the last event)."""
        for event, audio in events:
            if isinstance(event, SpeechStarted):
                self._item_id = new_id("item")
                await self.send(
                    server_event(
                        "input_audio_buffer.speech_started",
                        audio_start_ms=_ms(event.sample),
                        item_id=self._item_id,
                    )
                )
            elif isinstance(event, SpeechStopped):
                item_id = self._item_id or new_id("item")
                await self.send(
                    server_event("input_audio_buffer.speech_stopped", audio_end_ms=_ms(event.sample), item_id=item_id)
                )
                assert audio is not None  # a stop always carries its audio
                await self._commit(item_id, audio, event.start)
            elif isinstance(event, IdleTimeout):  # OpenAI commits the silent audio as an item of its own
                item_id = new_id("item")
                await self.send(
                    server_event(
                        "input_audio_buffer.timeout_triggered",
                        audio_start_ms=_ms(event.start),
                        audio_end_ms=_ms(event.sample),
                        item_id=item_id,
                    )
                )
                assert audio is not None
                await self._commit(item_id, audio, event.start)
            else:
                return audio
        return None

    async def _sounds_finished(self, audio: np.ndarray) -> bool:
        """Semantic VAD: whether the words of the turn so far end a sentence (a failed decode says no)."""
        try:
            transcript = await self._decode(self._whisper(self.model), audio, self.config, threading.Event())
        except DomainError as exc:
            log.debug("realtime session %s: pause check skipped: %s", self.id, exc.message)
            return False
        return sounds_finished(transcript.text)

    def _ingest(self, audio: Any) -> tuple[list[tuple[TurnEvent, np.ndarray | None]], np.ndarray | None]:
        """In a worker thread: decode the base64 `audio`, buffer it, run VAD. The turn events the audio completes,
        each with the audio it needs (a stop or a timeout its turn's, a pause the turn so far), and the audio of the
        turn still spoken when it is due an interim decode."""
        samples = self._decoder.decode(decode_audio(audio, self.settings.max_append_bytes))
        if self._denoiser is not None:  # before VAD and the model, as OpenAI's
            samples = self._denoiser.process(samples)
        limit = int(self.settings.max_buffer_seconds * SAMPLE_RATE)
        vad = self.config.input.turn_detection
        if vad is None and self._buffered + len(samples) > limit:
            raise InvalidRequest(
                f"The input audio buffer holds at most {self.settings.max_buffer_seconds:g} s of audio; "
                "commit or clear it before appending more.",
                param="audio",
                code="input_audio_buffer_full",
            )
        self._chunks.append(samples)
        self._buffered += len(samples)
        if vad is None:
            return [], None
        if self._detector is None:
            self._detector = TurnDetector(
                vad.parameters(),
                max_turn_samples=limit,
                idle_timeout_ms=vad.idle_timeout_ms,
                pause_check_ms=vad.pause_check_ms,
            )
            self._detector.start_at(self._base + self._buffered - len(samples))
        return self._settle(self._detector.feed(samples)), self._interim_audio()

    def _decide(self, ended: bool) -> tuple[list[tuple[TurnEvent, np.ndarray | None]], np.ndarray | None]:
        """In a worker thread: semantic VAD's decision on the awaited pause, and what the audio after it holds."""
        assert self._detector is not None
        return self._settle(self._detector.decide(ended)), self._interim_audio()

    def _settle(self, events: list[TurnEvent]) -> list[tuple[TurnEvent, np.ndarray | None]]:
        """Each event with its audio; the buffer keeps what a next turn (or an idle timeout) may need."""
        detector = self._detector
        assert detector is not None
        out: list[tuple[TurnEvent, np.ndarray | None]] = []
        for event in events:
            if isinstance(event, (SpeechStopped, IdleTimeout)):
                out.append((event, self._take(event.start, event.sample)))
            elif isinstance(event, PauseCandidate):
                out.append((event, self._slice(event.start, event.sample)))
            else:
                out.append((event, None))
        if not detector.speaking:  # keep only the padding a next turn may start with (or the silence timed)
            keep = detector.position - detector.vad.prefix_padding_ms * SAMPLE_RATE // 1000
            if detector.idle_samples:
                keep = min(keep, detector.quiet_since)
            self._drop_before(keep)
        return out

    def _interim_audio(self) -> np.ndarray | None:
        """The turn being spoken, when it grew by `interim_interval_ms` since its last interim decode."""
        interval = self.settings.interim_interval_ms * SAMPLE_RATE // 1000
        start = self._detector.speech_start if self._detector is not None else None
        if not interval or start is None:
            return None
        if start != self._interim_start:
            self._interim_start, self._interim_at = start, 0
        length = self._base + self._buffered - start
        if length - self._interim_at < interval:
            return None
        self._interim_at = length
        audio = np.concatenate(self._chunks)
        self._chunks = [audio]
        return audio[max(start - self._base, 0) :]

    async def _commit_all(self) -> None:
        """`input_audio_buffer.commit`: the whole buffer becomes a turn."""
        if self._buffered < MIN_COMMIT_MS * SAMPLE_RATE // 1000:
            raise InvalidRequest(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has "
                f"{self._buffered * 1000 / SAMPLE_RATE:.2f}ms of audio.",
                param=None,
                code="input_audio_buffer_commit_empty",
            )
        item_id = self._item_id or new_id("item")
        start, end = self._base, self._base + self._buffered
        samples = self._take(start, end)
        if self._detector is not None:
            self._detector.reset(end)
        await self._commit(item_id, samples, start)

    async def _commit(self, item_id: str, samples: np.ndarray, start: int) -> None:
        self._item_id = None
        self.interim.stop()
        await self.send(
            server_event("input_audio_buffer.committed", item_id=item_id, previous_item_id=self._previous_item)
        )
        self._previous_item = item_id
        await self.turns.put(Turn(item_id, samples, start, self.config, self.model))  # waits while too many are pending

    def _clear(self) -> None:
        self._drop_before(self._base + self._buffered)
        if self._detector is not None:
            self._detector.reset(self._base)
        self._item_id = None
        self.interim.stop()

    def _slice(self, start: int, end: int) -> np.ndarray:
        """A copy of the buffer's samples from `start` to `end` (session time); the buffer stays as it is."""
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)
        self._chunks = [audio]
        return audio[max(start - self._base, 0) : max(end - self._base, 0)].copy()

    def _take(self, start: int, end: int) -> np.ndarray:
        """The buffer's samples from `start` to `end` (session time); everything before `end` is dropped."""
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)
        turn = audio[max(start - self._base, 0) : max(end - self._base, 0)].copy()
        self._chunks = [audio[max(end - self._base, 0) :]]
        self._buffered = len(self._chunks[0])
        self._base = max(end, self._base)
        return turn

    def _drop_before(self, sample: int) -> None:
        drop = min(sample - self._base, self._buffered)
        if drop <= 0:
            return
        audio = np.concatenate(self._chunks)
        self._chunks = [audio[drop:].copy()]
        self._buffered -= drop
        self._base += drop

    def _options(self, config: TranscriptionSession) -> TranscribeOptions:
        return options_for(config, self.services)

    async def transcribe_turns(self) -> None:
        """The transcriber task: committed turns, in order, through the model's queue."""
        while True:
            turn = await self.turns.get()
            self.transcribing = True
            try:
                await self._transcribe(turn)
            finally:
                self.transcribing = False

    async def _transcribe(self, turn: Turn) -> None:
        worker = turn.model
        try:
            entry = resolve_live(self.services, turn.model)
            worker = entry.name
            transcript = await self._run(entry, turn)
        except DomainError as exc:
            self._count(worker, "failed")
            await self._failed(turn, exc)
            return
        except Exception:  # a bug must not end the session's transcripts
            log.exception("realtime session %s: transcribing item %s failed", self.id, turn.item_id)
            self._count(worker, "failed")
            await self._failed(turn, DomainError("The server had an error while transcribing this audio."))
            return
        logprobs = turn.config.logprobs
        events = final_deltas(turn.item_id, transcript, self.interim.final(turn.item_id, transcript.text), logprobs)
        if entry.kind == "diarization":  # who spoke
            speakers = segment_events(turn.item_id, transcript, turn.start / SAMPLE_RATE, self._segments + 1)
            self._segments += len(speakers)
            events += speakers
        events.append(completed_event(turn.item_id, turn.model, transcript, logprobs))
        for event in events:
            await self.send(event)
        self._count(worker, "completed", time.monotonic() - turn.committed_at)

    def _count(self, worker: str, outcome: str, seconds: float | None = None) -> None:
        metrics = self.services.live_sessions.metrics
        if metrics is not None:
            metrics.turn(worker, outcome, seconds)

    async def _failed(self, turn: Turn, exc: DomainError) -> None:
        await self.send(failed_event(turn.item_id, exc))

    async def _run(self, entry: WorkerEntry[Any], turn: Turn) -> Transcript:
        if entry.kind == "diarization":
            work = partial(entry.worker.transcribe_turn, speakers=self.speakers)
            return await self._decode(entry, turn.samples, turn.config, threading.Event(), work)
        return await self._decode(entry, turn.samples, turn.config, threading.Event())

    async def _interim_decode(self, samples: np.ndarray, cancel: threading.Event) -> Transcript:
        """Best effort, behind every final decode: skipped while the model has work waiting, and run in
        the bulk class, so interim words never delay a turn's `completed` (nor another session's)."""
        entry = self._whisper(self.model)
        if entry.queue.waiting:
            raise Busy("interim decode skipped: the model has work waiting")
        return await self._decode(entry, samples, self.config, cancel, latency="bulk")

    def _whisper(self, model: str) -> WorkerEntry[Any]:
        """The Whisper worker of a served model (for the diarizing model, the one it transcribes with)."""
        entry = resolve_live(self.services, model)
        if entry.kind == "diarization":
            return self.services.registry.entries[entry.uses[0]]
        return entry

    async def _decode(
        self,
        entry: WorkerEntry[Any],
        samples: np.ndarray,
        config: TranscriptionSession,
        cancel: threading.Event,
        work: Callable[..., Transcript] | None = None,
        latency: Latency = "interactive",
    ) -> Transcript:
        """Whisper on float32 16 kHz samples, through the model's queue like a file transcription.

        `cancel` is also set when the session ends while the work runs (the queue sets it).
        """
        # a person is waiting for the words: live turns go before bulk work (issue 17's classes)
        with await self.services.registry.admit(entry, latency=latency) as ticket:  # QueueFull at once
            options = self._options(config)
            entry.worker.check_options(options)
            work = work or entry.worker.transcribe
            return await entry.queue.run(partial(work, cancel=cancel), samples, options, ticket=ticket, cancel=cancel)

    def close(self) -> None:
        """The session ended: an interim decode still running stops."""
        self.interim.close()


LIVE_KINDS = ("transcription", "diarization")
"""Served model kinds a session may use: Whisper models, and the diarizing model (turns get speakers)."""


def resolve_live(services: Services, model: str) -> WorkerEntry[Any]:
    """The served model of a session's `model`: OpenAI's realtime-only transcription ids
    (`gpt-live-transcribe`, `gpt-realtime-whisper`, refused for files) are the session default's."""
    if model in REALTIME_ONLY_MODELS:
        model = services.settings.realtime.default_model
    return services.registry.resolve(model, LIVE_KINDS)


def options_for(config: TranscriptionSession, services: Services) -> TranscribeOptions:
    hints = config.input.transcription
    return TranscribeOptions(
        task="transcribe",
        language=hints.language,
        prompt=hints.prompt,
        logprobs=config.logprobs,
        beam_size=services.settings.transcription.beam_size,
    )


async def checked_model(services: Services, config: TranscriptionSession, current: str) -> str:
    """The model `config` names (else `current`), loaded, with `config`'s options checked against it."""
    model = config.input.transcription.model or current
    entry = resolve_live(services, model)
    await services.registry.ensure_loaded(entry)  # a load failure is an error event, the session goes on
    entry.worker.check_options(options_for(config, services))
    return model


def _noise_reducer(config: TranscriptionSession) -> NoiseReducer | None:
    reduction = config.input.noise_reduction
    return NoiseReducer(reduction.type) if reduction is not None and reduction.type is not None else None


def _ms(sample: int) -> int:
    return sample * 1000 // SAMPLE_RATE
