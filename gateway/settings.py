"""All configuration: one Settings object with a nested section per backend.

Values come, lowest priority first, from the defaults here, a YAML config file
(`configs/default.yaml` by default) and environment variables prefixed `GATEWAY_`,
nested with `__` (for example `GATEWAY_TRANSCRIPTION__DEFAULT_MODEL=tiny.en`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from models.compute import Latency, LatencyPolicy
from models.consent import DEFAULT_KEY_WORDS, DEFAULT_NEGATIONS, DEFAULT_PHRASES, DEFAULT_PROMPTS, ORGANIZATION

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "default.yaml"

Device = Literal["cpu", "cuda", "auto"]


class EngineThreads(BaseModel):
    """Threads of one compute step, per engine (0: every core); a step holds that many cores."""

    whisper: int = Field(1, ge=0, description="Per Whisper call on the CPU; cores / whisper calls run side by side.")
    whisper_encode: int = Field(
        0,
        ge=0,
        description=(
            "Per Whisper encoder call on the CPU; above `whisper`, the model is loaded twice (weights twice in memory)."
        ),
    )
    piper: int = Field(2, ge=0, description="Per Piper synthesis step (more threads: earlier first byte).")
    speaker: int = Field(0, ge=0, description="Per speaker-encoder step (resemblyzer: voices, embedded diarization).")
    pyannote: int = Field(0, ge=0, description="Per pyannote pipeline run.")


class LatencySettings(BaseModel):
    """Interactive work (speech, consent and voice checks, live turns) before bulk work (file transcription,
    translation, diarization), in the CPU budget and in every model's queue."""

    classes: bool = Field(True, description="Serve interactive work first; false: first come, first served.")
    interactive_ahead: int = Field(
        4, ge=1, description="Interactive steps (or requests) that may go ahead of a waiting bulk one: no starvation."
    )
    interactive_overcommit: int = Field(
        2,
        ge=0,
        description="Cores an interactive compute step may use beyond the budget, beside running bulk steps, "
        "instead of waiting for them to end (docs/benchmarks.md, mixed load); 0: it waits.",
    )

    interactive_places: int = Field(
        1,
        ge=0,
        description="Places an interactive request (a live turn, a consent check) may take in a bulk model queue "
        "beyond its max_parallel, instead of waiting for a whole file transcription to end (its steps still take "
        "turns on the CPU budget); 0: it waits for a place.",
    )

    def policy(self) -> LatencyPolicy:
        return LatencyPolicy(
            classes=self.classes,
            interactive_ahead=self.interactive_ahead,
            interactive_overcommit=self.interactive_overcommit,
            interactive_places=self.interactive_places,
        )


class ComputeSettings(BaseModel):
    """How the process shares its CPU cores between models."""

    cores: int = Field(0, ge=0, description="Cores to use; 0 takes what the process may run on.")
    threads: EngineThreads = Field(default_factory=EngineThreads)
    latency: LatencySettings = Field(default_factory=LatencySettings)


class WhisperModelSettings(BaseModel):
    """One Whisper model directory in CTranslate2 format."""

    embedded: Literal["whisper-base", "whisper-tiny.en"] | None = Field(
        None, description="A model shipped by a Python package this project installs."
    )
    path: Path | None = Field(None, description="A local CTranslate2 model directory.")
    device: Device = "auto"
    compute_type: str = Field(
        "default", description="CTranslate2 compute type; 'default' picks int8 on CPU, float16 on CUDA."
    )
    cpu_threads: int = Field(0, ge=0, description="0 takes the CPU budget's share.")
    preload: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> WhisperModelSettings:
        if (self.embedded is None) == (self.path is None):
            raise ValueError("give exactly one of `embedded` or `path`")
        return self


class QueueSettings(BaseModel):
    """Per-model admission: parallel work and waiting requests."""

    max_parallel: int = Field(4, ge=1, description="Requests one model works on at once (batched together on CPU).")
    max_queue: int = Field(16, ge=0, description="Requests that may wait; more get 429 at once.")
    retry_after_s: float = Field(2.0, gt=0)
    latency: Latency = Field(
        "bulk", description="Class of the model's requests: interactive ones wait and compute before bulk ones."
    )


class TranscriptionSettings(BaseModel):
    models: dict[str, WhisperModelSettings] = Field(
        default_factory=lambda: {
            "base": WhisperModelSettings(embedded="whisper-base", preload=True),
            "tiny.en": WhisperModelSettings(embedded="whisper-tiny.en"),
        }
    )
    aliases: dict[str, str] = Field(
        default_factory=lambda: {
            name: "base"
            for name in (
                "whisper-1",
                "gpt-4o-transcribe",
                "gpt-4o-mini-transcribe",
                "gpt-4o-mini-transcribe-2025-12-15",
                "gpt-transcribe",
            )
        }
    )
    queue: QueueSettings = Field(default_factory=QueueSettings)
    max_upload_bytes: int = Field(25 * 1024 * 1024, gt=0)
    max_audio_seconds: float = Field(
        3600, gt=0, description="Longer uploads get 400 naming `file` (up front when the container declares it)."
    )
    beam_size: int = Field(5, ge=1)
    piece_seconds: float = Field(
        300, ge=30, description="Long audio is decoded in pieces of about this length (bounds memory)."
    )
    batch_size: int = Field(
        8,
        ge=1,
        le=64,
        description="Speech windows decoded in one batched model call (faster-whisper's `batch_size`), and "
        "windows of one request decoded side by side: memory grows with it (a window and its encoder output "
        "each, 2-9 MiB by model).",
    )
    batch_wait_ms: float = Field(
        20, ge=0, description="How long a window may wait for windows of other requests to share its batch."
    )

    @model_validator(mode="after")
    def _aliases_resolve(self) -> TranscriptionSettings:
        for alias, target in self.aliases.items():
            if target not in self.models:
                raise ValueError(f"alias {alias!r} points at {target!r}, which is not a configured model")
        return self


class ServerSettings(BaseModel):
    """The HTTP server process: keep-alive and graceful shutdown."""

    keep_alive_s: float = Field(
        75, gt=0, description="Idle keep-alive connections are kept this long; longer than the balancer's (60 s)."
    )
    shutdown_grace_s: float = Field(
        30, ge=0, description="On SIGTERM, in-flight requests get this long to finish; new ones get 503 meanwhile."
    )
    drain_min_s: float = Field(
        0,
        ge=0,
        description="On SIGTERM, readiness reports draining this long before the listener closes: a few check "
        "intervals behind a balancer that polls /health/ready; 0 behind nginx, which sees the refusals.",
    )
    malloc_arenas: int = Field(
        2,
        ge=0,
        description="glibc malloc arenas of the server process (0: glibc's default, 8 per core); fewer keep a "
        "long transcription's memory flat (docs/benchmarks.md). MALLOC_ARENA_MAX in the environment wins.",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="Proxies whose X-Forwarded-For is believed (the balancer's address; '*': any)."
    )


class RateLimitSettings(BaseModel):
    """Per API key token buckets, shared by every replica through the database or kept per replica."""

    requests_per_minute: float = Field(0, ge=0, description="Refill rate of each key's bucket; 0 turns limits off.")
    burst: int = Field(0, ge=0, description="Bucket size: requests one key may make at once; 0: a minute's worth.")
    per_key: dict[str, float] = Field(
        default_factory=dict,
        description="Requests per minute for particular keys: the API key itself or its tenant id (key_...).",
    )
    scope: Literal["shared", "replica"] = Field(
        "shared",
        description="shared: one bucket per key for all replicas, in the database (storage.url), one UPDATE per "
        "request; while the database cannot be reached, each replica limits with its own buckets (fails open to "
        "per-replica limits). replica: each replica its own buckets; N replicas allow a key N times its rate.",
    )


class LimitSettings(BaseModel):
    """What one request may take."""

    request_timeout_s: float = Field(
        600,
        ge=0,
        description="Time budget of a /v1 request, upload to last byte; over it 504 (or an SSE error event). 0: none.",
    )
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)


class LifecycleSettings(BaseModel):
    """When models are loaded and unloaded. Preloaded models are pinned: never unloaded."""

    idle_unload_s: float = Field(0, ge=0, description="Unload a model nobody used for this long; 0: never.")
    memory_budget_mb: float = Field(
        0, ge=0, description="Models loaded at once never take more than this (estimated or measured); 0: no budget."
    )
    retry_after_s: float = Field(5, gt=0, description="Retry-After when busy models hold the memory a load needs.")


class StorageSettings(BaseModel):
    """Where consents, voices and their recordings live. Every replica must use the same database."""

    url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql://user:password@host/db (psycopg 3); "
        "empty: the SQLite file data_dir/gateway.db. GATEWAY_DATABASE_URL sets it too.",
    )
    pool_size: int = Field(5, ge=1, description="Connections kept open (PostgreSQL); also the parallel store calls.")
    connect_timeout_s: float = Field(10, gt=0)


class ConsentSettings(BaseModel):
    """How voice consent recordings are checked: transcribed, then matched against an approved phrase."""

    organization: str = Field(
        "audio-gateway", min_length=1, description="Accepted in the phrase in place of `OpenAI` (both are accepted)."
    )
    transcription_model: str = Field("base", description="A transcription model id or alias that hears the phrase.")
    phrases: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_PHRASES.items()},
        description=f"Approved phrases per ISO-639-1 language; `{ORGANIZATION}` stands for the organisation's name. "
        "A value given here replaces the whole default table.",
    )
    negations: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_NEGATIONS.items()},
        description="Words that turn a phrase into a refusal (negations, retractions, conditionals); refused when "
        "heard and not in the phrase.",
    )
    key_words: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_KEY_WORDS.items()},
        description="Per language, the phrase's first-person words (en: I, am, consent) that must each be heard in "
        "their place.",
    )
    prompts: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PROMPTS),
        description="Whisper prompt per ISO-639-1 language, written in the script the transcript should use "
        "(Whisper base writes Hindi in Urdu letters, Mandarin in traditional characters, now and then).",
    )
    max_error_rate: float = Field(0.35, ge=0, le=1, description="Word-level edit cost / phrase words; calibrated.")
    max_name_distance: float = Field(
        0.6, ge=0, le=1, description="Character distance allowed between the organisation's name and what was heard."
    )
    max_extra_words: int = Field(8, ge=0, description="Words allowed besides the phrase (a greeting, a name).")
    max_trailing_words: int = Field(
        3, ge=0, description="Of those, words allowed after the phrase (an added clause may take it back)."
    )
    max_recording_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_recording_seconds: float = Field(60, gt=0)

    @field_validator("phrases")
    @classmethod
    def _phrases_given(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for language, phrases in value.items():
            if not phrases:
                raise ValueError(f"no phrase given for {language!r}")
        return value


class CustomVoiceSettings(BaseModel):
    """Custom voices made from a consented speaker's sample."""

    max_per_tenant: int = Field(20, ge=1, description="Voices one API key may hold.")
    max_sample_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_sample_seconds: float = Field(30, gt=0)
    speaker_threshold: float = Field(
        0.75, ge=-1, le=1, description="Least cosine similarity of the sample's and the consent's speaker; calibrated."
    )
    pins: dict[str, str] = Field(
        default_factory=dict,
        description="Custom voice id -> the Piper voice (model or model:speaker) that speaks it, "
        "instead of the nearest one; e.g. a voice fine-tuned for that person.",
    )
    max_speakers_per_model: int = Field(32, ge=1, description="Speakers of a multi-speaker Piper model considered.")
SPEECH_VOICE_NAMES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar",
)  # fmt: skip


class SpeechModelSettings(BaseModel):
    """One served speech model id: Piper's scales and what the id accepts."""

    length_scale: float | None = Field(None, gt=0, description="Piper's phoneme length scale; unset: the voice's own.")
    noise_scale: float | None = Field(None, ge=0, description="Piper's generator noise; unset: the voice's own.")
    noise_w: float | None = Field(None, ge=0, description="Piper's phoneme-duration noise; unset: the voice's own.")
    instructions: bool = Field(True, description="Accept `instructions` (only pace words are followed).")
    sse: bool = Field(True, description="Accept `stream_format=sse`.")
    voices: dict[str, str] = Field(default_factory=dict, description="Voice names mapped differently for this id.")


class SpeechSettings(BaseModel):
    """Text to speech with Piper."""

    voices_dir: Path | None = Field(None, description="Piper voices (.onnx + .onnx.json) added to the embedded one.")
    preload: bool = True
    first_chars: int = Field(30, ge=0, description="The first piece of text is at most this long; 0: a sentence.")
    max_chars: int = Field(
        300,
        ge=50,
        description="Every piece of text is at most this long: cut at a clause mark, a space, else in a word.",
    )
    max_phonemes: int = Field(
        400, ge=50, description="One Piper run is at most this many phonemes (about 20 s of speech): bounds its memory."
    )
    queue: QueueSettings = Field(default_factory=lambda: QueueSettings(max_parallel=4, latency="interactive"))
    models: dict[str, SpeechModelSettings] = Field(
        default_factory=lambda: {
            "tts-1": SpeechModelSettings(instructions=False, sse=False),
            "tts-1-hd": SpeechModelSettings(noise_scale=0.5, noise_w=0.6, instructions=False, sse=False),
            "gpt-4o-mini-tts": SpeechModelSettings(),
            "gpt-4o-mini-tts-2025-12-15": SpeechModelSettings(),
        }
    )
    voices: dict[str, str] = Field(
        default_factory=lambda: {name: "en_US-joe-medium" for name in SPEECH_VOICE_NAMES},
        description="Voice name -> Piper voice: a model name, or model:speaker for a multi-speaker model.",
    )

    def piper_voices(self) -> tuple[str, ...]:
        """Every Piper voice the configuration maps a name to."""
        named = {*self.voices.values(), *(v for m in self.models.values() for v in m.voices.values())}
        return tuple(sorted(named))


class EmbeddedDiarizerSettings(BaseModel):
    """The embedded engine: Silero VAD + resemblyzer speaker embeddings + spectral clustering (offline, CPU)."""

    known_speaker_threshold: float = Field(
        0.8, gt=0, le=1, description="Cosine similarity a reference clip needs to name a speaker (calibrated: 0.8)."
    )
    max_speakers: int = Field(8, ge=1, le=26, description="Most speakers one recording is split into.")


class PyannoteSettings(BaseModel):
    """The pyannote.audio engine (the `pyannote` extra; see README, Diarization)."""

    pipeline: str | None = Field(
        None, description="A local pipeline directory (holding config.yaml), or a hub id with allow_download."
    )
    token: str | None = Field(None, description="Hub token (hf_...), used only when allow_download is true.")
    allow_download: bool = Field(False, description="Let pyannote fetch the pipeline from the hub.")
    device: str = Field("auto", description="cpu | cuda | cuda:N | auto")
    known_speaker_threshold: float = Field(0.5, ge=-1, le=1, description="Cosine similarity a reference needs.")
    exclusive: bool = Field(True, description="One speaker at a time (what word alignment wants).")


class DiarizationSettings(BaseModel):
    """`gpt-4o-transcribe-diarize`: Whisper plus a diarization engine, who said what."""

    enabled: bool = True
    models: list[str] = Field(
        default_factory=lambda: ["gpt-4o-transcribe-diarize"], description="Served ids of the diarizing model."
    )
    engine: Literal["embedded", "pyannote"] = "embedded"
    transcription_model: str = Field(
        "base", description="The Whisper model: a key of transcription.models, or an alias."
    )
    preload: bool = False
    require_chunking_above_s: float = Field(
        30, ge=0, description="Longer audio needs `chunking_strategy`, as OpenAI's diarize model; 0: never."
    )
    live_speaker_threshold: float = Field(
        0.7,
        ge=-1,
        le=1,
        description="Realtime sessions: cosine similarity a turn's voice needs to be a speaker already heard, "
        "else it is a new one (calibrated for the embedded engine; see models/diarization/live.py).",
    )
    embedded: EmbeddedDiarizerSettings = Field(default_factory=EmbeddedDiarizerSettings)
    pyannote: PyannoteSettings = Field(default_factory=PyannoteSettings)
    queue: QueueSettings = Field(
        default_factory=lambda: QueueSettings(max_parallel=2, max_queue=8, retry_after_s=5.0)
    )  # a diarized request runs for a while: a retry sooner would mostly meet a full queue again


class RealtimeSettings(BaseModel):
    """Live transcription sessions (`/v1/realtime?intent=transcription`, WebSocket)."""

    max_sessions: int = Field(32, ge=0, description="Sessions one replica holds at once; more are refused (429).")
    idle_timeout_s: float = Field(
        120, gt=0, description="A session that sends no event for this long is closed with an error event."
    )
    default_model: str = Field("whisper-1", description="The transcription model until a session.update names one.")
    max_append_bytes: int = Field(
        15 * 1024 * 1024, gt=0, description="Largest decoded audio of one input_audio_buffer.append (OpenAI: 15 MiB)."
    )
    max_buffer_seconds: float = Field(
        120, gt=0, description="Most uncommitted audio a session holds; a server_vad turn is cut at this length."
    )
    interim_interval_ms: int = Field(
        1000, ge=0, description="While a server_vad turn is spoken, decode it again after this much more audio; 0: off."
    )
    max_pending_turns: int = Field(
        8, ge=1, description="Committed turns waiting for transcription before the session stops reading audio."
    )
    max_session_s: float = Field(
        3600,
        gt=0,
        description="A session is closed with an error event (`session_expired`) after this long (OpenAI: 60 min).",
    )
    client_secret_ttl_s: int = Field(
        600,
        ge=10,
        le=7200,
        description="Life of an ephemeral key from POST /v1/realtime/client_secrets without `expires_after` "
        "(OpenAI: 600; a request may ask for 10 to 7200 s).",
    )


class Settings(BaseSettings):
    """The whole gateway configuration."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Bearer keys; empty accepts any key (development only)."
    )
    data_dir: Path = REPO_ROOT / "data"
    cache_dir: Path | None = Field(None, description="Where derived model files go; default data_dir/cache.")
    allow_downloads: bool = Field(False, description="Let loaders fetch weights from a hub. Off: offline.")
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per line.")
    metrics: bool = Field(True, description="Serve Prometheus metrics at /metrics (no API key; keep it internal).")
    server: ServerSettings = Field(default_factory=ServerSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    playground: bool = Field(True, description="Serve the browser playground at / (it calls the API like any client).")
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    transcription: TranscriptionSettings = Field(default_factory=TranscriptionSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    database_url: str | None = Field(
        None, description="Shorthand for storage.url (GATEWAY_DATABASE_URL); wins over it."
    )
    consents: ConsentSettings = Field(default_factory=ConsentSettings)
    custom_voices: CustomVoiceSettings = Field(default_factory=CustomVoiceSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    diarization: DiarizationSettings = Field(default_factory=DiarizationSettings)
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @model_validator(mode="after")
    def _storage_and_consents(self) -> Settings:
        if self.database_url:
            self.storage.url = self.database_url
        model = self.consents.transcription_model
        if model not in self.transcription.models and model not in self.transcription.aliases:
            raise ValueError(f"consents.transcription_model {model!r} is not a configured transcription model or alias")
        return self

    @model_validator(mode="after")
    def _diarization_whisper_exists(self) -> Settings:
        # Named on purpose, the Whisper model must exist. Left at its default (`base`) in a configuration
        # without it, the diarizing model is simply not served (see gateway/services.py).
        section = self.diarization
        model = section.transcription_model
        known = model in self.transcription.models or model in self.transcription.aliases
        if section.enabled and not known and "transcription_model" in section.model_fields_set:
            raise ValueError(
                f"diarization.transcription_model {model!r} is not a configured transcription model or alias"
            )
        if section.enabled and section.engine == "pyannote" and not section.pyannote.pipeline:
            raise ValueError("diarization.engine is pyannote but diarization.pyannote.pipeline is not set")
        return self

    @property
    def model_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the config file, which arrives as init arguments.
        return env_settings, init_settings

    @classmethod
    def load(cls, config_file: Path | str | None = DEFAULT_CONFIG, **overrides: Any) -> Settings:
        """Read a YAML config file (if any), apply `overrides`, then the environment."""
        data: dict[str, Any] = {}
        if config_file is not None and Path(config_file).exists():
            data = yaml.safe_load(Path(config_file).read_text()) or {}
        elif config_file is not None and Path(config_file) != DEFAULT_CONFIG:
            raise FileNotFoundError(f"config file not found: {config_file}")
        _deep_update(data, overrides)
        return cls(**data)


def _deep_update(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value
