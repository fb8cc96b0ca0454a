"""Wire schemas of POST /v1/audio/voices and DELETE /v1/audio/voices/{id} (custom voices)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.protocol.voice_consents import MAX_NAME_LENGTH


class VoiceCreate(BaseModel):
    """Form fields of a custom voice (the `audio_sample` part is separate)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_NAME_LENGTH, description="The voice's name.")
    consent: str = Field(description="The id of the consent recording (`cons_...`) of the same speaker.")
    type: Literal["audio_sample"] = Field(
        "audio_sample", description="Only `audio_sample` voices exist here (no voices designed from a prompt)."
    )

    @field_validator("name", "consent")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class Voice(BaseModel):
    """A custom voice: use it as `{"id": "voice_..."}` in POST /v1/audio/speech."""

    object: Literal["audio.voice"] = "audio.voice"
    id: str = Field(description="`voice_...`")
    name: str
    created_at: int = Field(description="Unix time in seconds.")
    type: Literal["audio_sample"] = "audio_sample"


class VoiceDeleted(BaseModel):
    id: str
    object: Literal["audio.voice.deleted"] = "audio.voice.deleted"
    deleted: bool = True
