"""The server events that end a Realtime turn, rendered from its transcript (pure functions).

In order: the `delta`s the interim deltas did not send (or one per decoded segment when none
were sent), the diarizing model's `segment`s (who spoke, in seconds of session audio), then
`completed`; or `failed` when the turn could not be transcribed.
"""

from __future__ import annotations

from typing import Any

from gateway import formats
from gateway.protocol.realtime import error_event, server_event
from models.errors import DomainError
from models.types import Transcript

DELTA = "conversation.item.input_audio_transcription.delta"


def final_deltas(item_id: str, transcript: Transcript, rest: str | None, logprobs: bool) -> list[dict[str, Any]]:
    """`rest`: what the final text adds to the interim deltas (None: none were sent, one delta per segment)."""
    if rest is not None:  # interim deltas said the start already
        return [server_event(DELTA, item_id=item_id, content_index=0, delta=rest)] if rest else []
    events: list[dict[str, Any]] = []
    for segment in transcript.segments:
        delta = segment.text if events else segment.text.lstrip()
        if not delta:
            continue
        event = server_event(DELTA, item_id=item_id, content_index=0, delta=delta)
        if logprobs:
            event["logprobs"] = formats.logprobs_json(segment.logprobs)
        events.append(event)
    return events


def segment_events(item_id: str, transcript: Transcript, offset_s: float, first_id: int) -> list[dict[str, Any]]:
    """One `conversation.item.input_audio_transcription.segment` per speaker segment with words; ids count
    on from `first_id` (`seg_N`, unique in the session), times are the turn's plus `offset_s`."""
    events: list[dict[str, Any]] = []
    for segment in transcript.segments:
        text = segment.text.strip()
        if not text:
            continue
        events.append(
            server_event(
                "conversation.item.input_audio_transcription.segment",
                item_id=item_id,
                content_index=0,
                id=f"seg_{first_id + len(events)}",
                text=text,
                speaker=segment.speaker or "A",
                start=round(offset_s + segment.start, 3),
                end=round(offset_s + segment.end, 3),
            )
        )
    return events


def completed_event(item_id: str, model: str, transcript: Transcript, logprobs: bool) -> dict[str, Any]:
    done = server_event(
        "conversation.item.input_audio_transcription.completed",
        item_id=item_id,
        content_index=0,
        transcript=transcript.text,
        usage=formats.usage_for(model, transcript),
    )
    if logprobs:
        done["logprobs"] = formats.logprobs_json(transcript.logprobs)
    return done


def failed_event(item_id: str, exc: DomainError) -> dict[str, Any]:
    error = {k: v for k, v in error_event(exc)["error"].items() if k != "event_id"}
    return server_event(
        "conversation.item.input_audio_transcription.failed", item_id=item_id, content_index=0, error=error
    )
