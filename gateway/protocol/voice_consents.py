"""Wire schemas of /v1/audio/voice_consents."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_BCP47 = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")
MAX_NAME_LENGTH = 512


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class VoiceConsentCreate(BaseModel):
    """Form fields of a consent upload (the `recording` part is separate)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_NAME_LENGTH, description="A label for this consent recording.")
    language: str = Field(
        max_length=35, description="BCP 47 tag of the phrase's language, e.g. `en-US`; a bare code (`en`) works too."
    )

    _strip_name = field_validator("name")(_name)

    @field_validator("language")
    @classmethod
    def _bcp47(cls, value: str) -> str:
        value = value.strip()
        if not _BCP47.match(value):
            raise ValueError("must be a BCP 47 language tag such as `en-US` or `en`")
        return value


class VoiceConsentUpdate(BaseModel):
    """The JSON body of a rename: only `name` may change."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_NAME_LENGTH, description="The new label.")

    _strip_name = field_validator("name")(_name)


class VoiceConsent(BaseModel):
    """A verified consent recording that custom voices can be created from."""

    object: Literal["audio.voice_consent"] = "audio.voice_consent"
    id: str = Field(description="`cons_...`")
    name: str
    language: str = Field(description="The BCP 47 tag given at creation.")
    created_at: int = Field(description="Unix time in seconds.")


class VoiceConsentDeleted(BaseModel):
    id: str
    object: Literal["audio.voice_consent"] = "audio.voice_consent"
    deleted: bool = True


class VoiceConsentList(BaseModel):
    """One page, newest first; ask for the next with `after=<last_id>` while `has_more`."""

    object: Literal["list"] = "list"
    data: list[VoiceConsent]
    first_id: str | None
    last_id: str | None
    has_more: bool
