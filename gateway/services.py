"""What the routes share: settings, the model registry, the decoder. Built once per app."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from gateway.draining import Drain
from gateway.limits import RateLimiter, build_rate_limiter
from gateway.live_slots import SessionSlots
from gateway.metrics import Metrics
from gateway.serving.registry import ModelRegistry, WorkerEntry, WorkQueue
from gateway.settings import QueueSettings, Settings
from gateway.storage import ClientSecretRecord, Store, build_store
from gateway.uploads import Decoder
from models.compute import CpuBudget, LatencyPolicy
from models.consent import ConsentPhrases
from models.diarization.base import DiarizationEngine
from models.diarization.embedded import EmbeddedDiarizer, EmbeddedDiarizerConfig
from models.diarization.pyannote_engine import PyannoteEngine, PyannoteSource
from models.diarization.transcriber import DiarizingTranscriber
from models.piper import PiperTuning, PiperWorker
from models.speaker import SpeakerEncoder
from models.voice_match import VoiceMatcher
from models.whisper import WhisperSource, WhisperWorker
from models.workers import SpeakerTranscriber, Synthesizer, Transcriber

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the routes and the serving layer share, built once per app by `build_services`."""

    settings: Settings
    budget: CpuBudget
    registry: ModelRegistry
    decoder: Decoder
    store: Store
    consent_phrases: ConsentPhrases
    voice_matcher: VoiceMatcher
    voice_queue: WorkQueue  # admission for the speaker encoder (custom voice creation)
    rate_limiter: RateLimiter
    drain: Drain = field(default_factory=Drain)
    metrics: Metrics = field(init=False)
    live_sessions: SessionSlots = field(init=False)  # realtime transcription sessions held by this replica

    def __post_init__(self) -> None:
        self.metrics = Metrics(
            self.registry, self.drain, self.not_ready, self.rate_limiter, self.budget, (self.voice_queue,)
        )
        self.live_sessions = SessionSlots(self.settings.realtime.max_sessions, self.metrics.registry)

    async def client_secret(self, value: str) -> ClientSecretRecord | None:
        """The stored ephemeral key `value` (see gateway/routers/realtime.py), or None."""
        return await self.store.run(self.store.client_secret, value)

    @property
    def max_upload_bytes(self) -> int:
        """The largest audio upload accepted (bytes)."""
        return self.settings.transcription.max_upload_bytes

    def not_ready(self) -> list[str]:
        """Why this replica should get no traffic now (empty: ready)."""
        reasons = []
        if self.drain.draining:
            reasons.append("draining")
        reasons += [f"model {name} failed to load" for name in self.registry.failed_preloads()]
        if self.store.revision is None:
            reasons.append(f"the voice store never opened: {self.store.error}")
        return reasons


def build_services(settings: Settings) -> Services:
    """Turn the configuration into workers. Nothing is loaded here (see `ModelRegistry.preload`)."""
    policy = settings.compute.latency.policy()
    budget = CpuBudget(cores=settings.compute.cores, threads=settings.compute.threads.model_dump(), policy=policy)
    lifecycle = settings.lifecycle
    registry = ModelRegistry(
        memory_budget_bytes=int(lifecycle.memory_budget_mb * 1024 * 1024),
        idle_unload_s=lifecycle.idle_unload_s,
        retry_after_s=lifecycle.retry_after_s,
    )
    _add_whisper(settings, budget, registry, policy)
    _add_piper(settings, budget, registry, policy)
    encoder = SpeakerEncoder(budget)  # resemblyzer, shared by voice matching and the embedded diarizer
    _add_diarization(settings, budget, registry, encoder, policy)
    store = build_store(settings)
    return Services(
        settings=settings,
        budget=budget,
        registry=registry,
        decoder=Decoder(),
        store=store,
        consent_phrases=_consent_phrases(settings),
        voice_matcher=VoiceMatcher(
            encoder,
            threshold=settings.custom_voices.speaker_threshold,
            cache_dir=settings.model_cache_dir,
            max_speakers_per_model=settings.custom_voices.max_speakers_per_model,
        ),
        # a person waits for a voice check
        voice_queue=WorkQueue("speaker-encoder", max_parallel=1, max_queue=16, latency="interactive", policy=policy),
        rate_limiter=build_rate_limiter(settings.limits.rate_limit, store),
    )


def _consent_phrases(settings: Settings) -> ConsentPhrases:
    section = settings.consents
    return ConsentPhrases(
        templates={k.lower(): tuple(v) for k, v in section.phrases.items()},
        organizations=("OpenAI", section.organization),
        negations={k.lower(): tuple(v) for k, v in section.negations.items()},
        prompts={k.lower(): v for k, v in section.prompts.items()},
        key_words={k.lower(): tuple(v) for k, v in section.key_words.items()},
        max_error_rate=section.max_error_rate,
        max_extra_words=section.max_extra_words,
        max_trailing_words=section.max_trailing_words,
        max_name_distance=section.max_name_distance,
    )


def _queue(name: str, section: QueueSettings, policy: LatencyPolicy) -> WorkQueue:
    return WorkQueue(name, section.max_parallel, section.max_queue, section.retry_after_s, section.latency, policy)


def _add_whisper(settings: Settings, budget: CpuBudget, registry: ModelRegistry, policy: LatencyPolicy) -> None:
    section = settings.transcription
    for name, model in section.models.items():
        source = WhisperSource(
            embedded=model.embedded,
            path=model.path,
            device=model.device,
            compute_type=model.compute_type,
            cpu_threads=model.cpu_threads,
            num_workers=section.queue.max_parallel,
            beam_size=section.beam_size,
            max_batch=section.batch_size,
            batch_wait_s=section.batch_wait_ms / 1000,
            piece_seconds=section.piece_seconds,
        )
        queue = _queue(name, section.queue, policy)
        worker = WhisperWorker(name, source, budget, settings.model_cache_dir)
        entry: WorkerEntry[Transcriber] = WorkerEntry(
            name=name, kind="transcription", worker=worker, queue=queue, preload=model.preload
        )
        registry.add(entry)
    for alias, target in section.aliases.items():
        registry.alias(alias, target)


def _add_piper(settings: Settings, budget: CpuBudget, registry: ModelRegistry, policy: LatencyPolicy) -> None:
    section = settings.speech
    worker = PiperWorker(
        "piper",
        budget,
        voices_dir=section.voices_dir,
        tuning=PiperTuning(
            first_chars=section.first_chars, max_chars=section.max_chars, max_phonemes=section.max_phonemes
        ),
        required_voices=section.piper_voices(),
    )
    queue = _queue("piper", section.queue, policy)
    entry: WorkerEntry[Synthesizer] = WorkerEntry(
        name="piper", kind="speech", worker=worker, queue=queue, preload=section.preload
    )
    registry.add(entry, ids=tuple(section.models))


DIARIZE_WORKER = "diarize"


def _add_diarization(
    settings: Settings, budget: CpuBudget, registry: ModelRegistry, encoder: SpeakerEncoder, policy: LatencyPolicy
) -> None:
    """The diarizing model: the configured engine plus the Whisper worker already registered."""
    section = settings.diarization
    if not section.enabled:
        return
    whisper_name = settings.transcription.aliases.get(section.transcription_model, section.transcription_model)
    if whisper_name not in registry.entries:
        log.warning(
            "diarization.transcription_model %r is not configured: %s not served",
            section.transcription_model,
            ", ".join(section.models),
        )
        return
    whisper = registry.entries[whisper_name].worker
    worker = DiarizingTranscriber(DIARIZE_WORKER, whisper, _diarization_engine(settings, budget, encoder))
    queue = _queue(DIARIZE_WORKER, section.queue, policy)
    entry: WorkerEntry[SpeakerTranscriber] = WorkerEntry(
        name=DIARIZE_WORKER,
        kind="diarization",
        worker=worker,
        queue=queue,
        preload=section.preload,
        uses=(whisper_name,),
    )
    registry.add(entry, ids=tuple(section.models))


def _diarization_engine(settings: Settings, budget: CpuBudget, encoder: SpeakerEncoder) -> DiarizationEngine:
    section = settings.diarization
    if section.engine == "pyannote":
        source = PyannoteSource(
            pipeline=str(section.pyannote.pipeline),
            token=section.pyannote.token,
            allow_download=section.pyannote.allow_download or settings.allow_downloads,
            device=section.pyannote.device,
            known_speaker_threshold=section.pyannote.known_speaker_threshold,
            exclusive=section.pyannote.exclusive,
        )
        return PyannoteEngine("pyannote", source, budget, settings.model_cache_dir)
    config = EmbeddedDiarizerConfig(
        known_threshold=section.embedded.known_speaker_threshold, max_speakers=section.embedded.max_speakers
    )
    return EmbeddedDiarizer(config, budget=budget, encoder=encoder)


def get_services(request: Request) -> Services:
    """The app's services (built by the lifespan), for a route's parameters."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
"""A route parameter `services: ServicesDep` receives the app's `Services`."""
