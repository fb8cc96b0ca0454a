"""The interface every diarization engine implements."""

from __future__ import annotations

import itertools
from typing import Protocol

import numpy as np

from models.options import DiarizeOptions
from models.types import SpeakerTurn


class DiarizationEngine(Protocol):
    """Answers "who spoke when" for float32 mono 16 kHz audio.

    Turns come back sorted by start time. A turn of a known speaker (from
    `options.known_speakers`) carries that speaker's name; every other speaker is
    labelled "A", "B", ... in order of first appearance (see `label_in_order`).
    """

    name: str

    def load(self) -> None:
        """Import heavy libraries and load weights; raise ModelUnavailable if impossible."""

    def diarize(self, samples: np.ndarray, options: DiarizeOptions) -> list[SpeakerTurn]:
        """Diarize one recording."""

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """Speaker embeddings of float32 mono 16 kHz clips of one voice each, one row per clip."""


def anonymous_label(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA", ... (OpenAI's scheme for unknown speakers)."""
    label = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        label = chr(ord("A") + rem) + label
    return label


def label_in_order(turns: list[tuple[float, float, str]], known: set[str]) -> list[SpeakerTurn]:
    """Sort turns by start and relabel every cluster id not in `known` as A, B, ... by first appearance.

    A letter that is also a known speaker's name is skipped, so two speakers never share a label.
    """
    mapping: dict[str, str] = {}
    result = []
    letters = (label for index in itertools.count() if (label := anonymous_label(index)) not in known)
    for start, end, speaker in sorted(turns, key=lambda t: (t[0], t[1])):
        if speaker not in known:
            if speaker not in mapping:
                mapping[speaker] = next(letters)
            speaker = mapping[speaker]
        result.append(SpeakerTurn(start=float(start), end=float(end), speaker=speaker))
    return result
