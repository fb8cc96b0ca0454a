"""Wire schemas of /v1/audio/speech and of the voice listing (our extension)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.protocol.types import JsonNumber
from models.text import UnspeakableText, require_speech

SpeechFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]

MAX_INPUT_CHARS = 4096


class VoiceId(BaseModel):
    """A custom voice created with POST /v1/audio/voices."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The custom voice's id, `voice_...`.")


class SpeechRequest(BaseModel):
    """The JSON body of POST /v1/audio/speech."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        description="`tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`, `gpt-4o-mini-tts-2025-12-15` or another served id."
    )
    input: str = Field(
        min_length=1,
        max_length=MAX_INPUT_CHARS,
        description="The text to speak, at most 4096 characters, with at least one letter or digit. Control and "
        "invisible characters and emoji are not read out; an unpaired surrogate is refused.",
    )
    voice: str | VoiceId = Field(
        description="A built-in voice name (`alloy`, `ash`, ... `cedar`; see GET /v1/audio/voices for the Piper "
        "voice each one maps to) or `{\"id\": \"voice_...\"}` for a custom voice."
    )
    instructions: str | None = Field(
        None,
        max_length=MAX_INPUT_CHARS,
        description="Not accepted by `tts-1`/`tts-1-hd`. Piper voices have no style control: only pace words are "
        "followed (`slowly`, `quickly`, `very slowly`, `fast`, ...), multiplying `speed`; everything else "
        "(tone, emotion, accent, whispering...) is ignored.",
    )
    response_format: SpeechFormat = Field(
        "mp3", description="`mp3` (default), `opus` (Ogg), `aac` (ADTS), `flac`, `wav` or `pcm` (24 kHz s16le mono)."
    )
    speed: JsonNumber = Field(1.0, ge=0.25, le=4.0, description="0.25 to 4.0; 1.0 is the voice's natural pace.")
    stream_format: Literal["audio", "sse"] = Field(
        "audio",
        description="`audio`: the audio file, sent in chunks as it is synthesised. `sse`: server-sent events "
        "`speech.audio.delta` (base64 chunks of the format) then `speech.audio.done`. Not for `tts-1`/`tts-1-hd`.",
    )

    @field_validator("input")
    @classmethod
    def _speakable(cls, value: str) -> str:
        """The text as the engine will see it (models/text.py); refused when nothing in it can be said."""
        try:
            return require_speech(value)
        except UnspeakableText as exc:
            raise ValueError(exc.message) from exc


class VoiceEntry(BaseModel):
    """A voice a speech request may name."""

    id: str = Field(description="What to send as `voice`: a built-in name, or a custom voice's id.")
    object: Literal["audio.voice"] = "audio.voice"
    name: str
    type: Literal["builtin", "audio_sample"] = Field(description="`builtin`: one of OpenAI's names, mapped here.")
    piper_voice: str | None = Field(None, description="The Piper voice (model, or model:speaker) it is spoken with.")
    language: str | None = Field(None, description="The Piper voice's language (espeak voice name).")


class VoiceList(BaseModel):
    object: Literal["list"] = "list"
    data: list[VoiceEntry]


# -- instructions ---------------------------------------------------------------------------

_PACES = (
    (re.compile(r"\b(very|extremely|really|super)\s+(slow(ly)?|slower)\b"), 0.65),
    (re.compile(r"\b(very|extremely|really|super)\s+(fast|quick(ly)?|rapid(ly)?|faster)\b"), 1.5),
    (re.compile(r"\b(slow(ly)?|slower|unhurried(ly)?|leisurely|deliberately|drawn[- ]out)\b"), 0.8),
    (re.compile(r"\b(fast|faster|quick(ly)?|quicker|rapid(ly)?|brisk(ly)?|hurried(ly)?|snappy)\b"), 1.25),
)
_NEGATION = re.compile(r"\b(not|no|never|without|avoid|don't|dont|do not|nor)\W+(\w+\W+){0,2}$")


def pace_from_instructions(instructions: str | None) -> float:
    """The speed factor that pace words in `instructions` ask for; 1.0 when they ask for none.

    "slowly" gives 0.8, "very slowly" 0.65, "quickly" 1.25, "very quickly" 1.5. Negated words
    ("not too fast") and contradictory requests count for nothing.
    """
    if not instructions:
        return 1.0
    text = instructions.lower()
    found: list[float] = []
    taken: list[tuple[int, int]] = []
    for pattern, factor in _PACES:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue  # "very slowly" was already counted, not "slowly" again
            taken.append(match.span())
            if _NEGATION.search(text[: match.start()]):
                continue
            found.append(factor)
    if not found or (min(found) < 1.0 < max(found)):
        return 1.0
    return max(found) if found[0] > 1.0 else min(found)
