"""One live transcription session for benchmarks: real speech streamed like a microphone, every event timed.

The turns are real recordings with known text (five LibriVox utterances, 3-7 s each, and two
test recordings), one after another with pauses between them, sent as pcm16 at 24 kHz in 100 ms
appends paced at real time: the append that holds audio up to t is sent at t (as a microphone
delivers it), through the official `openai` SDK's realtime client. The server's events are
stamped with the monotonic clock as they arrive, and mapped back to the turn they belong to by
where the server heard their speech start.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.server import FIXTURES

RATE = 24_000
CHUNK_S = 0.1
GAP_S = 1.5
"""Silence between turns: longer than the server VAD's 500 ms, so each recording is one turn."""

TEXTS = {
    "en_fox.flac": "The quick brown fox jumps over the lazy dog. Speech recognition works on my own computer.",
    "en_weather.flac": "Today the weather is sunny and warm. Tomorrow it will rain in the morning.",
}


@dataclass(frozen=True)
class Clip:
    """A turn: its samples (float32 24 kHz), where its speech is (s within the clip), what is said."""

    name: str
    samples: np.ndarray
    speech: tuple[float, float]
    text: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


def clips() -> list[Clip]:
    """The turns, real speech first."""
    from samples.audio import read_audio
    from samples.realaudio import LIBRIVOX_DIR, LIBRIVOX_IDS

    paths = [(LIBRIVOX_DIR / f"{u}.wav", (LIBRIVOX_DIR / f"{u}.txt").read_text().strip()) for u in LIBRIVOX_IDS]
    paths += [(FIXTURES / name, text) for name, text in TEXTS.items()]
    out = []
    for path, text in paths:
        samples = read_audio(path, RATE)
        out.append(Clip(path.stem[-4:] if "austen" in path.stem else path.stem, samples, speech_bounds(samples), text))
    return out


def speech_bounds(samples: np.ndarray) -> tuple[float, float]:
    """First and last 20 ms frame whose energy is within 26 dB of the loudest frame (seconds)."""
    frame = RATE // 50
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
    rms = np.sqrt((frames**2).mean(axis=1))
    loud = np.flatnonzero(rms > rms.max() * 0.05)
    return loud[0] * frame / RATE, (loud[-1] + 1) * frame / RATE


@dataclass(frozen=True)
class Placed:
    """A clip where it lies in the stream (stream seconds)."""

    clip: Clip
    offset: float

    @property
    def speech_start(self) -> float:
        return self.offset + self.clip.speech[0]

    @property
    def speech_end(self) -> float:
        return self.offset + self.clip.speech[1]


def layout(turns: list[Clip], lead_s: float = 0.5) -> tuple[np.ndarray, list[Placed]]:
    """The stream: `lead_s` of silence, then each clip followed by GAP_S of silence."""
    pieces, placed, offset = [np.zeros(int(lead_s * RATE), np.float32)], [], lead_s
    for clip in turns:
        placed.append(Placed(clip, offset))
        pieces += [clip.samples, np.zeros(int(GAP_S * RATE), np.float32)]
        offset += clip.seconds + GAP_S
    return np.concatenate(pieces), placed


@dataclass
class TurnResult:
    """What one turn of the stream got: its transcript and when things happened (s after its speech start/end)."""

    clip: Clip
    transcript: str = ""
    completed_after_end: float | None = None  # completed of its last item - end of its speech
    completed_after_stopped: float | None = None  # completed of its last item - its speech_stopped event
    first_delta_after_start: float | None = None  # first delta - start of its speech
    interim: bool = False  # a delta came while the turn was still spoken (before its item was committed)
    items: int = 0
    failed: int = 0


@dataclass
class SessionRun:
    turns: list[TurnResult]
    send_lag_max: float  # how late the client sent an append at worst (s): the client's own share
    errors: list[str] = field(default_factory=list)


async def stream(base_url: str, model: str, turns: list[Clip], start_delay: float = 0.0) -> SessionRun:
    """Stream `turns` through one session in real time; every turn's transcript and timing."""
    from openai import AsyncOpenAI

    await asyncio.sleep(start_delay)
    audio, placed = layout(turns)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    chunk = int(CHUNK_S * RATE) * 2
    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    events: list[tuple[float, Any]] = []
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        await conn.session.update(
            session={
                "type": "transcription",
                "audio": {"input": {"transcription": {"model": model, "language": "en"}}},
            }
        )
        while (event := await conn.recv()).type != "session.updated":
            if event.type == "error":
                raise RuntimeError(event.error.message)
        reader = asyncio.create_task(_read(conn, events))
        t0 = time.monotonic()
        lag = 0.0
        for index, start in enumerate(range(0, len(pcm), chunk)):
            due = t0 + (index + 1) * CHUNK_S  # the audio up to here has been "spoken"
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            lag = max(lag, time.monotonic() - due)
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[start : start + chunk]).decode())
        await conn.input_audio_buffer.clear()  # answered once every turn of the audio is committed
        try:
            await asyncio.wait_for(reader, 300)
        finally:
            reader.cancel()
    await client.close()
    return SessionRun(_analyse(events, placed, t0), lag, [e.error.message for _, e in events if e.type == "error"])


async def _read(conn: Any, events: list[tuple[float, Any]]) -> None:
    cleared, pending = False, set[str]()
    while not (cleared and not pending):
        event = await conn.recv()
        events.append((time.monotonic(), event))
        if event.type == "input_audio_buffer.committed":
            pending.add(event.item_id)
        elif event.type.endswith((".completed", ".failed")):
            pending.discard(event.item_id)
        elif event.type == "input_audio_buffer.cleared":
            cleared = True


def _analyse(events: list[tuple[float, Any]], placed: list[Placed], t0: float) -> list[TurnResult]:
    """Each item goes to the turn where its speech started (up to the next turn's start, less a margin)."""
    starts = [p.speech_start - 0.5 for p in placed]
    owner: dict[str, int] = {}
    committed_at: dict[str, float] = {}
    stopped_at: dict[str, float] = {}
    results = [TurnResult(p.clip) for p in placed]
    texts: dict[int, list[str]] = {i: [] for i in range(len(placed))}
    for at, event in events:
        kind = event.type
        if kind == "input_audio_buffer.speech_started":
            heard = event.audio_start_ms / 1000
            owner[event.item_id] = max([0] + [i for i, s in enumerate(starts) if s <= heard])
            results[owner[event.item_id]].items += 1
        elif kind == "input_audio_buffer.committed":
            committed_at[event.item_id] = at
        elif kind == "input_audio_buffer.speech_stopped":
            stopped_at[event.item_id] = at
        index = owner.get(getattr(event, "item_id", None) or "")
        if index is None:
            continue
        turn, where = results[index], placed[index]
        if kind.endswith(".delta"):
            if turn.first_delta_after_start is None:
                turn.first_delta_after_start = at - (t0 + where.speech_start)
            if event.item_id not in committed_at:
                turn.interim = True
        elif kind.endswith(".completed"):
            texts[index].append(event.transcript.strip())
            turn.completed_after_end = at - (t0 + where.speech_end)
            stopped = stopped_at.get(event.item_id, committed_at.get(event.item_id))
            turn.completed_after_stopped = None if stopped is None else at - stopped
        elif kind.endswith(".failed"):
            turn.failed += 1
    for index, turn in enumerate(results):
        turn.transcript = " ".join(t for t in texts[index] if t)
    return results


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
