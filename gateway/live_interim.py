"""Interim deltas: the text of a turn while it is still spoken.

While server VAD hears speech, the growing turn is decoded again every `interval` of audio
(`realtime.interim_interval_ms`) and the words that are new are sent as
`conversation.item.input_audio_transcription.delta` events. The last word of a decode may be
cut by the end of the audio, so it is held back; a delta never takes back what was sent (words
are compared without case and punctuation, which a longer decode often changes).
When the turn ends, its final transcript adds what the interim deltas did not say (if the final
text no longer starts with what was sent, nothing is added: `completed` carries the truth).

One decode runs at a time per session; requests that arrive meanwhile are folded into one
decode of the latest audio, so a client sending faster than real time gets fewer, longer
decodes, never a pile of them. A decode still running when the turn ends is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from gateway.protocol.realtime import server_event
from models.errors import DomainError
from models.types import Transcript

log = logging.getLogger(__name__)

Decode = Callable[[np.ndarray, threading.Event], Awaitable[Transcript]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class InterimDeltas:
    """Interim decodes of the turn being spoken, and the words already sent for each item."""

    def __init__(self, decode: Decode, send: Send):
        self.decode = decode
        self.send = send
        self.sent: dict[str, list[str]] = {}  # item id -> words sent as deltas (compared as `_keys`)
        self._item: str | None = None  # the turn being spoken
        self._task: asyncio.Task[None] | None = None
        self._cancel = threading.Event()
        self._waiting: np.ndarray | None = None  # the latest audio, for the decode after the running one

    def request(self, item_id: str, samples: np.ndarray) -> None:
        """Decode `samples` (the turn so far, float32 16 kHz) once the running decode is done."""
        if item_id != self._item:
            self.stop()
            self._item = item_id
        if self._task is not None and not self._task.done():
            self._waiting = samples
            return
        self._cancel = threading.Event()
        self._task = asyncio.create_task(self._run(item_id, samples, self._cancel))

    def stop(self) -> None:
        """The turn ended (or the session did): its running decode stops, nothing more is sent for it."""
        self._item = None
        self._waiting = None
        self._cancel.set()

    def close(self) -> None:
        """The session ended: the running decode is cancelled (the queue stops its work)."""
        self.stop()
        if self._task is not None:
            self._task.cancel()

    def final(self, item_id: str, transcript: str) -> str | None:
        """What the final transcript adds to the interim deltas of `item_id`; None if none were sent."""
        sent = self.sent.pop(item_id, None)
        if not sent:
            return None
        words = transcript.split()
        if _keys(words[: len(sent)]) != sent:
            return ""
        rest = " ".join(words[len(sent) :])
        return f" {rest}" if rest else ""

    async def _run(self, item_id: str, samples: np.ndarray | None, cancel: threading.Event) -> None:
        while samples is not None and not cancel.is_set():
            try:
                transcript = await self.decode(samples, cancel)
            except DomainError as exc:  # best effort: a full queue or a cancelled decode sends nothing
                log.debug("interim decode of %s skipped: %s", item_id, exc.message)
                transcript = None
            if transcript is not None and not cancel.is_set() and self._item == item_id:
                delta = self._advance(item_id, transcript.text)
                if delta:
                    await self.send(
                        server_event(
                            "conversation.item.input_audio_transcription.delta",
                            item_id=item_id,
                            content_index=0,
                            delta=delta,
                        )
                    )
            samples, self._waiting = self._waiting, None

    def _advance(self, item_id: str, text: str) -> str:
        """The words of `text` past those sent, less its last word; recorded as sent."""
        words = text.split()[:-1]
        sent = self.sent.setdefault(item_id, [])
        if len(words) <= len(sent) or _keys(words[: len(sent)]) != sent:
            return ""
        new = words[len(sent) :]
        delta = " ".join(new)
        if sent:
            delta = " " + delta
        sent.extend(_keys(new))
        return delta


def _keys(words: list[str]) -> list[str]:
    """Words as compared between decodes: a later decode may punctuate or capitalise them otherwise."""
    return [re.sub(r"[^\w']", "", word.lower()) for word in words]
