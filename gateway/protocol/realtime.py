"""Wire schemas of Realtime transcription sessions (`/v1/realtime?intent=transcription`).

The shapes follow the openai SDK's `types/realtime/*`: a `session.update` carries a partial
`RealtimeTranscriptionSessionCreateRequest`; it is merged into the session's current
configuration and the result validated whole, so a bad update changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.errors import describe
from gateway.languages import normalize_language
from gateway.protocol.types import JsonInteger, JsonNumber
from gateway.protocol.validation import validation_problem
from models.errors import DomainError, InvalidRequest
from models.options import VadParameters

CLIENT_EVENTS = ("session.update", "input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear")
"""The client events a transcription session takes."""

LOGPROBS = "item.input_audio_transcription.logprobs"


class AudioFormat(BaseModel):
    """`audio/pcm` (pcm16 little-endian mono at 24 kHz), `audio/pcmu` or `audio/pcma` (G.711 at 8 kHz)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["audio/pcm", "audio/pcmu", "audio/pcma"] = "audio/pcm"
    rate: JsonInteger | None = Field(None, description="Samples per second: 24000 for audio/pcm (the only rate).")

    @model_validator(mode="after")
    def _rate(self) -> AudioFormat:
        if self.type == "audio/pcm":
            if self.rate not in (None, 24_000):
                raise ValueError("audio/pcm is taken at 24000 Hz only")
            self.rate = 24_000
        elif self.rate not in (None, 8_000):
            raise ValueError(f"{self.type} is taken at 8000 Hz only")
        return self


class Transcription(BaseModel):
    """`audio.input.transcription`: the model and its hints."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="A served transcription model id or alias, e.g. `whisper-1`.")
    language: str | None = Field(None, description="ISO-639-1 code of the spoken language; unset detects.")
    prompt: str | None = Field(None, description="Text that guides style or vocabulary.")

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        """As the file endpoint reads it (`en-US`, `EN`, `english` are `en`); an unknown one is refused here,
        at `session.update`, not by every turn failing later."""
        if value is None:
            return None
        code = normalize_language(value)
        if code is None:
            raise ValueError(f"unsupported language `{value}` (use ISO-639-1 codes such as `en`)")
        return code


class ServerVad(BaseModel):
    """`audio.input.turn_detection` of type `server_vad`, run on the bundled Silero VAD."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["server_vad"] = "server_vad"
    threshold: JsonNumber = Field(0.5, gt=0.0, lt=1.0, description="Speech probability that starts a turn.")
    prefix_padding_ms: JsonInteger = Field(300, ge=0, le=10_000, description="Audio kept before detected speech.")
    silence_duration_ms: JsonInteger = Field(500, ge=0, le=10_000, description="Silence that ends a turn.")
    idle_timeout_ms: JsonInteger | None = Field(
        None,
        ge=1000,
        le=60_000,
        description="After this much audio without speech, `input_audio_buffer.timeout_triggered` and the silent "
        "audio committed as a turn; unset: never.",
    )
    create_response: bool | None = Field(None, description="Accepted; transcription sessions create no responses.")
    interrupt_response: bool | None = Field(None, description="Accepted; transcription sessions create no responses.")

    def parameters(self) -> VadParameters:
        return VadParameters(
            threshold=self.threshold,
            prefix_padding_ms=self.prefix_padding_ms,
            silence_duration_ms=self.silence_duration_ms,
        )

    @property
    def pause_check_ms(self) -> int | None:
        return None


SEMANTIC_PAUSES: dict[str, tuple[int, int]] = {
    "high": (300, 2000),
    "medium": (500, 4000),
    "auto": (500, 4000),
    "low": (1000, 8000),
}
"""Semantic VAD by eagerness: (pause after which the turn's words are checked, pause that ends a turn
anyway), in ms. The longest pauses are OpenAI's (8 s, 4 s, 2 s); `auto` is `medium`, as OpenAI's."""


class SemanticVad(BaseModel):
    """`turn_detection` of type `semantic_vad`: a turn ends at a short pause if its words sound finished.

    At each pause of the eagerness' check length the turn so far is decoded; when the text ends
    a sentence (closing punctuation, not on a word such as "and" or "the"), the turn ends there.
    Otherwise it waits for more speech, or for the eagerness' longest pause.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["semantic_vad"] = "semantic_vad"
    eagerness: Literal["low", "medium", "high", "auto"] = Field(
        "auto", description="high: short pauses end turns (0.3 s if finished, else 2 s); low: 1 s / 8 s; auto: medium."
    )
    create_response: bool | None = Field(None, description="Accepted; transcription sessions create no responses.")
    interrupt_response: bool | None = Field(None, description="Accepted; transcription sessions create no responses.")

    def parameters(self) -> VadParameters:
        return VadParameters(
            threshold=0.5, prefix_padding_ms=300, silence_duration_ms=SEMANTIC_PAUSES[self.eagerness][1]
        )

    @property
    def pause_check_ms(self) -> int | None:
        return SEMANTIC_PAUSES[self.eagerness][0]

    @property
    def idle_timeout_ms(self) -> int | None:
        """OpenAI's idle timeout is for server_vad only."""
        return None


class NoiseReduction(BaseModel):
    """`audio.input.noise_reduction`: the input is filtered before VAD and the model (models/noise.py)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["near_field", "far_field"] | None = Field(
        None, description="near_field: an 80 Hz high-pass; far_field: a 100 Hz high-pass and spectral subtraction."
    )
    strength: JsonNumber | None = Field(None, description="Accepted; the filters have one calibrated strength.")


class AudioInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: AudioFormat = Field(default_factory=AudioFormat)
    transcription: Transcription = Field(default_factory=Transcription)
    turn_detection: Annotated[ServerVad | SemanticVad, Field(discriminator="type")] | None = Field(
        default_factory=ServerVad
    )
    noise_reduction: NoiseReduction | None = None


class SessionAudio(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: AudioInput = Field(default_factory=AudioInput)


class TranscriptionSession(BaseModel):
    """The whole configuration of a transcription session, as `session.created` shows it."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["transcription"] = "transcription"
    audio: SessionAudio = Field(default_factory=SessionAudio)
    include: list[Literal["item.input_audio_transcription.logprobs"]] = Field(default_factory=list)

    @property
    def input(self) -> AudioInput:
        return self.audio.input

    @property
    def logprobs(self) -> bool:
        return LOGPROBS in self.include

    def updated(self, update: Any) -> TranscriptionSession:
        """This configuration with a `session.update`'s partial session merged in (InvalidRequest if bad)."""
        if not isinstance(update, dict):
            raise InvalidRequest(
                "Invalid type for 'session': expected an object.", param="session", code="invalid_type"
            )
        if update.get("type", "transcription") != "transcription":
            raise InvalidRequest(
                f"Invalid value: '{update.get('type')}'. This server serves transcription sessions only "
                '(connect with `?intent=transcription` and `session.type: "transcription"`).',
                param="session.type",
                code="invalid_value",
            )
        update = {k: v for k, v in update.items() if k not in _ECHOED}
        merged = _merge(self.model_dump(), update)
        try:
            return TranscriptionSession.model_validate(merged)
        except ValidationError as exc:
            errors = [
                {**e, "loc": tuple(p for p in e.get("loc", ()) if p not in _TAGS)}
                for e in exc.errors(include_url=False)
            ]
            raise validation_problem(errors, prefix=("session",)) from exc

    def wire(self, session_id: str, model: str) -> dict[str, Any]:
        """The session as `session.created` / `session.updated` carry it."""
        body = self.model_dump(mode="json")
        body["id"] = session_id
        body["object"] = "realtime.transcription_session"
        body["audio"]["input"]["transcription"]["model"] = model
        return body


_TAGS = ("server_vad", "semantic_vad")
"""Union tags pydantic puts in an error's location; the wire names no such field."""

_ECHOED = ("id", "object", "expires_at")
"""Fields of `session.created` a client may send back with its update; they are not settings."""

_REPLACED = ("format", "turn_detection", "noise_reduction")
"""Objects an update replaces whole (a new format type must not inherit the old rate)."""


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A deep merge where an explicit null replaces (turn_detection: null turns VAD off)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in _REPLACED:
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class ExpiresAfter(BaseModel):
    """When an ephemeral key stops opening sessions (sessions it opened go on)."""

    model_config = ConfigDict(extra="forbid")

    anchor: Literal["created_at"] = Field("created_at", description="Only `created_at`, as OpenAI.")
    seconds: JsonInteger = Field(ge=10, le=7200, description="Seconds from creation: 10 to 7200 (OpenAI's bounds).")


class ClientSecretRequest(BaseModel):
    """The JSON body of POST /v1/realtime/client_secrets."""

    model_config = ConfigDict(extra="forbid")

    expires_after: ExpiresAfter | None = Field(None, description="Unset: `realtime.client_secret_ttl_s` (600 s).")
    session: dict[str, Any] | None = Field(
        None, description='A transcription session configuration (`type: "transcription"`) sessions start with.'
    )


def decode_audio(value: Any, limit: int) -> bytes:
    """The bytes of `input_audio_buffer.append`'s base64 `audio` (at most `limit` of them)."""
    if not isinstance(value, str):
        raise InvalidRequest(
            "Missing or invalid 'audio': expected a base64 string.", param="audio", code="invalid_value"
        )
    if len(value) > (limit + 2) // 3 * 4:
        raise InvalidRequest(
            f"Audio content of {len(value) * 3 // 4} bytes exceeds the maximum of {limit} bytes per append.",
            param="audio",
            code="input_audio_buffer_append_too_large",
        )
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("Invalid 'audio': not valid base64.", param="audio", code="invalid_value") from exc


def max_message_bytes(max_append_bytes: int) -> int:
    """The largest WebSocket message to take: an append at the limit, in base64, with room for its JSON."""
    return (max_append_bytes + 2) // 3 * 4 + 64 * 1024


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: `event_…`, `item_…`, `sess_…`."""
    return f"{prefix}_{secrets.token_urlsafe(15).replace('-', 'A').replace('_', 'B')}"


def server_event(type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": new_id("event"), **fields}


def error_event(exc: DomainError, client_event_id: str | None = None) -> dict[str, Any]:
    """OpenAI's `error` event for a domain error: the same type words as the HTTP envelope."""
    _, body = describe(exc)
    return server_event("error", error={**body["error"], "event_id": client_event_id})
