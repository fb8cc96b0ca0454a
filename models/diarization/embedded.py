"""The embedded diarization engine: offline, CPU, no gated weights.

1. Speech regions from faster-whisper's bundled Silero VAD; the regions are joined into one
   "speech timeline" so that windows are never wasted on silence.
2. Speaker embeddings (resemblyzer d-vectors) of long sliding windows over that timeline.
3. Speaker count and clusters by spectral clustering with an auto-tuned eigengap, then
   clusters whose centroids are alike are merged (one voice split in two).
4. Boundary refinement: short windows are scored against the cluster centroids and a Viterbi
   pass with a switch penalty (cheaper at pauses) picks the speaker frame by frame; the
   centroids are re-estimated from that path and the pass repeated.
5. Known speakers: reference clips are embedded and matched one-to-one to the clusters
   (Hungarian assignment) when their similarity reaches a calibrated threshold; other
   clusters become "A", "B", ... in order of first appearance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from models.compute import CpuBudget
from models.diarization import clustering
from models.diarization.base import label_in_order
from models.errors import InvalidRequest, ModelUnavailable
from models.options import DiarizeOptions, KnownSpeaker
from models.speaker import SpeakerEncoder, WindowEmbeddings, raise_volume, unit
from models.types import SAMPLE_RATE, SpeakerTurn


@dataclass(frozen=True)
class EmbeddedDiarizerConfig:
    """Tuning of the embedded engine; the defaults are calibrated (see docs/benchmarks.md)."""

    # speech regions (Silero VAD)
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 150
    vad_speech_pad_ms: int = 60  # pyannote sample: engine DER 15.3% at 30 ms, 14.5% at 60, 15.1% at 100
    vad_min_speech_ms: int = 120
    # clustering windows
    cluster_window_s: float = 2.0
    cluster_step_s: float = 0.5
    max_speakers: int = 8
    merge_threshold: float = 0.9  # centroids at least this alike are one speaker
    # Windows sharing more than this share of their audio are never each other's neighbours in the
    # affinity graph (they are alike because of the shared audio). At half, the windows of one turn of
    # 3 s can still link up, so a voice heard once, briefly, becomes a speaker of its own.
    exclude_overlap: float = 0.5
    min_speaker_s: float = 1.0  # a cluster with less speech is folded into its neighbours
    # A cluster with less speech than this is a voice of its own only if it is clearly unlike the others:
    # a centroid of a few seconds is noisy, so one voice splits in two at similarities the merge threshold
    # lets through (one synthetic voice in 6.4 s: 0.87; the two real telephone voices of pyannote's
    # sample, 10 s each: 0.84; voices heard once for 3 s in the tests: <= 0.56).
    min_evidence_s: float = 4.0
    weak_merge_threshold: float = 0.85
    # boundary refinement
    segment_window_s: float = 0.8
    segment_step_s: float = 0.1
    switch_penalty: float = 1.0  # in cosine-similarity units summed over frames
    pause_discount: float = 0.3  # switching at a pause costs this fraction of the penalty
    refine_iterations: int = 2
    center_scores: bool = True
    snap_to_pause_s: float = 0.3  # a change this close to a pause moves to the pause
    # known speakers
    known_threshold: float = 0.8  # see the calibration table in docs/benchmarks.md


@dataclass(frozen=True)
class SpeechTimeline:
    """Speech regions (sample indices) of a recording, and their audio joined end to end."""

    regions: tuple[tuple[int, int], ...]
    samples: np.ndarray

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def joins(self) -> np.ndarray:
        """Positions (s, on the timeline) where one region ends and the next begins."""
        lengths = np.array([e - s for s, e in self.regions], dtype=np.float64)
        return np.cumsum(lengths)[:-1] / SAMPLE_RATE

    def to_original(self, start: float, end: float) -> list[tuple[float, float]]:
        """The pieces of the recording that the timeline span [start, end) came from."""
        pieces = []
        position = 0.0
        for s, e in self.regions:
            length = (e - s) / SAMPLE_RATE
            lo, hi = max(start, position), min(end, position + length)
            if hi - lo > 1e-3:
                origin = s / SAMPLE_RATE - position
                pieces.append((lo + origin, hi + origin))
            position += length
            if position >= end:
                break
        return pieces


@dataclass(frozen=True)
class Analysis:
    """The embedded engine's working state for one recording (for turns and calibration)."""

    timeline: SpeechTimeline
    short: WindowEmbeddings  # the refinement windows, one frame each
    path: np.ndarray  # speaker label per short window
    speaker_vectors: np.ndarray  # (labels, dim) unit vectors
    known_vectors: np.ndarray  # (known speakers, dim)
    names: dict[int, int]  # label -> index of the known speaker it was matched to


class EmbeddedDiarizer:
    """Offline diarization: Silero VAD + resemblyzer embeddings + spectral clustering."""

    name = "embedded"

    def __init__(
        self,
        config: EmbeddedDiarizerConfig | None = None,
        *,
        budget: CpuBudget | None = None,
        encoder: SpeakerEncoder | None = None,
    ):
        self.config = config or EmbeddedDiarizerConfig()
        self.budget = budget or CpuBudget()
        self.encoder = encoder or SpeakerEncoder(self.budget)
        self._loaded = False

    def load(self) -> None:
        try:
            import faster_whisper.vad  # noqa: F401
        except ImportError as exc:
            raise ModelUnavailable(
                "The embedded diarizer needs faster-whisper for its Silero VAD: "
                "pip install faster-whisper."
            ) from exc
        self._loaded = True
        self.encoder.load()

    # --- stages ---------------------------------------------------------------------------

    def speech(self, samples: np.ndarray) -> SpeechTimeline:
        """Silero VAD speech regions and the joined speech audio."""
        from models.vad import VadOptions, speech_timestamps

        if not self._loaded:
            raise ModelUnavailable("The embedded diarizer is not loaded; call load() first.")
        c = self.config
        options = VadOptions(
            threshold=c.vad_threshold,
            min_silence_duration_ms=c.vad_min_silence_ms,
            speech_pad_ms=c.vad_speech_pad_ms,
            min_speech_duration_ms=c.vad_min_speech_ms,
        )
        with self.budget.compute(1):  # the Silero VAD session runs one thread
            regions = tuple(speech_timestamps(samples, options))
        joined = (
            np.concatenate([samples[s:e] for s, e in regions])
            if regions
            else np.zeros(0, np.float32)
        )
        return SpeechTimeline(regions, joined.astype(np.float32))

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """One unit resemblyzer vector per clip of one voice (quiet clips are raised first)."""
        self.encoder.load()
        return np.array([self.encoder.embed(clip) for clip in clips], np.float32).reshape(len(clips), self.encoder.dim)

    def embed_known(self, known: tuple[KnownSpeaker, ...]) -> np.ndarray:
        """One unit vector per known speaker's reference clip."""
        vectors = []
        for i, speaker in enumerate(known):
            try:
                vectors.append(self.encoder.embed(speaker.samples))
            except ValueError as exc:
                raise InvalidRequest(
                    f"The reference clip of known speaker `{speaker.name}` is empty.",
                    param=f"known_speaker_references[{i}]",
                ) from exc
        return np.array(vectors, np.float32).reshape(len(vectors), self.encoder.dim)

    def cluster(self, windows: WindowEmbeddings, options: DiarizeOptions) -> np.ndarray:
        """Cluster labels of the long windows, with an automatic speaker count.

        Windows that straddle a speaker change (see `transitional_clusters`) get -1.
        """
        c = self.config
        n = len(windows)
        min_k = options.min_speakers or 1
        max_k = min(options.max_speakers or c.max_speakers, c.max_speakers)
        if n < 4 or max_k <= 1:
            return np.zeros(n, int)
        sims = clustering.cosine_matrix(windows.vectors)
        centers = windows.centers
        overlapping = np.abs(centers[:, None] - centers[None, :]) < c.cluster_window_s * (1 - c.exclude_overlap)
        result = clustering.spectral_clusters(sims, min_k=min_k, max_k=max_k, exclude=overlapping)
        labels = result.labels
        max_run = int(np.ceil(c.cluster_window_s / c.cluster_step_s)) - 1
        bridges = clustering.transitional_clusters(labels, max_run)
        if bridges and result.k - len(bridges) >= min_k:
            labels = np.where(np.isin(labels, list(bridges)), -1, labels)
        pure = labels >= 0
        merged = clustering.merge_close(
            windows.vectors[pure], labels[pure], c.merge_threshold, min_k=min_k
        )
        out = np.full(n, -1)
        out[pure] = merged
        return out

    def refine(
        self, timeline: SpeechTimeline, short: WindowEmbeddings, cents: np.ndarray
    ) -> np.ndarray:
        """Label each short window by Viterbi over its similarity to the centroids."""
        c = self.config
        penalties = np.full(len(short), c.switch_penalty)
        centers = short.centers
        for join in timeline.joins:  # a pause between two frames makes a change cheaper
            i = int(np.searchsorted(centers, join))
            if 0 < i < len(penalties):
                penalties[i] = c.switch_penalty * c.pause_discount
        k = len(cents)
        path = np.zeros(len(short), int)
        vectors = short.vectors
        if c.center_scores:  # remove what every window shares (channel, room)
            mean = vectors.mean(axis=0)
            vectors = unit(vectors - mean)
            cents = unit(cents - mean)
        for _ in range(max(1, c.refine_iterations)):
            scores = vectors @ cents.T
            path = clustering.viterbi(scores, penalties)
            present = np.unique(path)
            new = clustering.centroids(vectors, path, k)
            for label in range(k):
                if label not in present:
                    new[label] = cents[label]
            cents = new
        return path

    @staticmethod
    def labels_at(windows: WindowEmbeddings, short: WindowEmbeddings, path: np.ndarray) -> np.ndarray:
        """The refined label of each window, -1 where the label changes inside it."""
        last = len(path) - 1
        centers = short.centers
        first = path[np.clip(np.searchsorted(centers, windows.starts + 0.25), 0, last)]
        middle = path[np.clip(np.searchsorted(centers, windows.centers), 0, last)]
        final = path[np.clip(np.searchsorted(centers, windows.ends - 0.25), 0, last)]
        return np.where((first == middle) & (middle == final), middle, -1)

    def drop_small(
        self, short: WindowEmbeddings, path: np.ndarray, keep: set[int], vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """Clusters with too little speech (and no known name) are removed.

        Too little is under `min_speaker_s`, or under `min_evidence_s` while the cluster's vector
        (in `vectors`, one per label) is at least `weak_merge_threshold` alike to another's.
        """
        c = self.config
        step = c.segment_step_s
        labels, counts = np.unique(path, return_counts=True)
        seconds = dict(zip(labels.tolist(), (counts * step).tolist(), strict=True))
        sims = clustering.cosine_matrix(vectors) if vectors is not None and len(vectors) > 1 else None
        small = []
        for label, spoken in sorted(seconds.items(), key=lambda item: item[1]):
            if label in keep:
                continue
            if spoken < c.min_speaker_s:
                small.append(label)
            elif sims is not None and spoken < c.min_evidence_s:
                others = [o for o in seconds if o != label and o not in small]
                if others and max(sims[label, o] for o in others) >= c.weak_merge_threshold:
                    small.append(label)
        return np.array(sorted(small), int)

    # --- the whole thing ------------------------------------------------------------------

    def analyse(self, samples: np.ndarray, options: DiarizeOptions) -> Analysis | None:
        """Everything but the naming: speech, clusters, refined frame labels, speaker vectors.

        Known speakers take part only in one way: a cluster matched to one is kept even when
        it speaks too little to count as a speaker of its own.
        """
        c = self.config
        samples = raise_volume(np.asarray(samples, dtype=np.float32))
        timeline = self.speech(samples)
        known_vectors = self.embed_known(options.known_speakers)
        if timeline.duration < 0.2:
            return None
        long_windows = self.encoder.embed_windows(
            timeline.samples, window_s=c.cluster_window_s, step_s=c.cluster_step_s
        )
        labels = self.cluster(long_windows, options)
        k = int(labels.max()) + 1
        cents = clustering.centroids(long_windows.vectors, labels, k)
        short = self.encoder.embed_windows(
            timeline.samples, window_s=c.segment_window_s, step_s=c.segment_step_s
        )
        path = self.refine(timeline, short, cents) if k > 1 else np.zeros(len(short), int)
        path = clustering.relabel(path)
        speaker_vectors = self.speaker_vectors(long_windows, short, path)
        names = clustering.match_known(speaker_vectors, known_vectors, c.known_threshold)
        small = self.drop_small(short, path, set(names), speaker_vectors)
        if len(small) and len(small) < len(speaker_vectors):
            keep = np.array([i for i in range(len(speaker_vectors)) if i not in set(small.tolist())])
            path = keep[self.refine(timeline, short, speaker_vectors[keep])]
        return Analysis(timeline, short, path, speaker_vectors, known_vectors, names)

    def speaker_vectors(
        self, long_windows: WindowEmbeddings, short: WindowEmbeddings, path: np.ndarray
    ) -> np.ndarray:
        """One vector per refined label: the mean of the long windows wholly inside its turns."""
        k = int(path.max()) + 1
        long_labels = self.labels_at(long_windows, short, path)
        vectors = clustering.centroids(long_windows.vectors, long_labels, k)
        missing = [i for i in range(k) if not np.any(long_labels == i)]
        if missing:  # only short turns: their short windows will do
            vectors[missing] = clustering.centroids(short.vectors, path, k)[missing]
        return vectors

    def diarize(self, samples: np.ndarray, options: DiarizeOptions) -> list[SpeakerTurn]:
        analysis = self.analyse(samples, options)
        if analysis is None:
            return []
        return self.turns(
            analysis.timeline, analysis.short, analysis.path, analysis.names, options.known_speakers
        )

    def turns(
        self,
        timeline: SpeechTimeline,
        short: WindowEmbeddings,
        path: np.ndarray,
        names: dict[int, int],
        known: tuple[KnownSpeaker, ...],
    ) -> list[SpeakerTurn]:
        """Frame labels on the timeline -> speaker turns on the recording."""
        centers = short.centers
        bounds = np.concatenate([[0.0], (centers[1:] + centers[:-1]) / 2, [timeline.duration]])
        joins = timeline.joins
        if len(joins):  # a change close to a pause happens at the pause
            for change in np.flatnonzero(path[1:] != path[:-1]) + 1:
                nearest = joins[np.argmin(np.abs(joins - bounds[change]))]
                if abs(nearest - bounds[change]) <= self.config.snap_to_pause_s:
                    bounds[change] = nearest
        raw: list[tuple[float, float, str]] = []
        start = 0
        for i in range(1, len(path) + 1):
            if i == len(path) or path[i] != path[start]:
                label = int(path[start])
                speaker = known[names[label]].name if label in names else f"cluster{label}"
                for lo, hi in timeline.to_original(bounds[start], bounds[i]):
                    raw.append((lo, hi, speaker))
                start = i
        return label_in_order(_merge_touching(raw), {k.name for k in known})


def _merge_touching(turns: list[tuple[float, float, str]], gap: float = 1e-3) -> list[tuple[float, float, str]]:
    merged: list[tuple[float, float, str]] = []
    for start, end, speaker in sorted(turns):
        if merged and merged[-1][2] == speaker and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), speaker)
        else:
            merged.append((start, end, speaker))
    return merged


def with_config(engine: EmbeddedDiarizer, **changes: Any) -> EmbeddedDiarizer:
    """The same engine (sharing its loaded encoder and VAD) with some settings changed."""
    clone = EmbeddedDiarizer(replace(engine.config, **changes), budget=engine.budget, encoder=engine.encoder)
    clone._loaded = engine._loaded
    return clone
