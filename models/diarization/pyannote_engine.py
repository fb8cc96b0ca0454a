"""Diarization with pyannote.audio 4.x (`speaker-diarization-community-1`, or a 3.1 pipeline).

It lives in the optional extra (`pip install '.[pyannote]'`, or `scripts/pyannote-venv`):
pyannote.audio needs torchaudio, whose PyPI wheel loads only beside PyPI's CUDA build of
torch. Nothing heavy is imported before `load()`.

Offline by default. A pipeline is a local directory (`config.yaml` plus the checkpoints it
names, `$model/<subfolder>` meaning a folder beside it) and every model the config refers to
is checked on disk before pyannote is asked to load anything: a reference that is not a
local file is a hub download, refused with ModelUnavailable unless `allow_download` is set.
With it, a hub id such as `pyannote/speaker-diarization-community-1` is fetched with `token`
into the gateway's cache. pyannote's usage telemetry is switched off.

Known speakers are matched against the pipeline's own speaker embeddings: each reference
clip goes through the pipeline's embedding model, each cluster has its centroid, and the
two sides are paired one to one (Hungarian assignment on cosine similarity); a pair below
`known_speaker_threshold` stays unnamed. A speaker pyannote gives no usable centroid for is
represented by the embedding of its own stretches of the recording.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from models.compute import CpuBudget
from models.diarization.base import label_in_order
from models.errors import InvalidRequest, ModelUnavailable
from models.options import DiarizeOptions
from models.types import SAMPLE_RATE, SpeakerTurn

log = logging.getLogger(__name__)

INSTALL_HINT = "install the extra with `pip install '.[pyannote]'` (or run scripts/pyannote-venv)"
CONFIG_FILE = "config.yaml"
CHECKPOINT_FILE = "pytorch_model.bin"
PLDA_FILES = ("xvec_transform.npz", "plda.npz")
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
# What pyannote.audio 4's SpeakerDiarization loads when its config leaves a model out.
_DEFAULT_REFERENCES = {
    "segmentation": "pyannote/speaker-diarization-community-1 (segmentation)",
    "embedding": "pyannote/speaker-diarization-community-1 (embedding)",
    "plda": "pyannote/speaker-diarization-community-1 (plda)",
}
_UNMATCHABLE = -2.0  # below any cosine similarity
SPEAKER_AUDIO_S = 30  # audio embedded for a speaker that has no centroid
MIN_SPEAKER_AUDIO_S = 1


@dataclass(frozen=True)
class PyannoteSource:
    """Where a pyannote pipeline comes from and how to run it."""

    pipeline: str  # local pipeline directory (or its config.yaml), or a hub id when allow_download
    token: str | None = None  # hub token (hf_...), used only when allow_download
    allow_download: bool = False
    device: str = "auto"  # cpu | cuda | cuda:N | auto
    known_speaker_threshold: float = 0.5  # cosine similarity a known speaker needs
    exclusive: bool = True  # one speaker at a time (pyannote's exclusive diarization), as alignment wants


class PyannoteEngine:
    """A DiarizationEngine running a pyannote.audio speaker-diarization pipeline."""

    def __init__(self, name: str, source: PyannoteSource, budget: CpuBudget, cache_dir: Path):
        self.name = name
        self.source = source
        self.budget = budget
        self.cache_dir = cache_dir
        self.pipeline: Any = None
        self.device: Any = None
        self._torch: Any = None
        self._load_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self.pipeline is not None

    def load(self) -> None:
        with self._load_lock:
            if self.pipeline is not None:
                return
            torch, pipeline_cls = _import_pyannote()  # first: a missing extra is the error to report
            checkpoint = self._checkpoint()
            device = resolve_device(torch, self.source.device)
            torch.set_num_threads(self.budget.threads("pyannote"))
            token = self.source.token if self.source.allow_download else None
            try:
                pipeline = pipeline_cls.from_pretrained(
                    checkpoint, token=token, cache_dir=str(self.cache_dir / "pyannote")
                )
            except Exception as exc:  # pyannote raises whatever its loaders raise
                raise ModelUnavailable(
                    f"cannot load pyannote pipeline {checkpoint}: {type(exc).__name__}: {exc}"
                ) from exc
            if pipeline is None:
                raise ModelUnavailable(f"cannot load pyannote pipeline {checkpoint}")
            if getattr(pipeline, "_embedding", None) is None:
                raise ModelUnavailable(f"pyannote pipeline {checkpoint} has no speaker-embedding model")
            if hasattr(pipeline, "legacy"):
                pipeline.legacy = False  # keep the per-speaker embeddings in the output
            try:
                pipeline.to(device)
            except RuntimeError as exc:  # e.g. out of GPU memory
                raise ModelUnavailable(f"cannot move pyannote pipeline {self.name!r} to {device}: {exc}") from exc
            self._torch, self.device, self.pipeline = torch, device, pipeline
            log.info("loaded pyannote pipeline %s from %s on %s", self.name, checkpoint, device)

    def unload(self) -> None:
        with self._load_lock:
            self.pipeline = None
            if self.device is not None and self.device.type == "cuda":
                gc.collect()  # the pipeline holds reference cycles; free its tensors before emptying the cache
                self._torch.cuda.empty_cache()

    def diarize(self, samples: np.ndarray, options: DiarizeOptions) -> list[SpeakerTurn]:
        """Diarize float32 mono 16 kHz samples; known speakers by name, others A, B, ..."""
        counts = _speaker_counts(options)
        self.load()
        samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        if samples.size == 0:
            return []
        torch = self._torch
        audio = {"waveform": torch.from_numpy(samples)[None], "sample_rate": SAMPLE_RATE, "uri": "request"}
        threads = self.budget.threads("pyannote")
        with self.budget.compute(threads):
            torch.set_num_threads(threads)
            output = self.pipeline(audio, **counts)
            annotation = output.exclusive_speaker_diarization if self.source.exclusive else output.speaker_diarization
            names: dict[str, str] = {}
            if options.known_speakers:
                names = self._name_clusters(output, annotation, samples, options)
        duration = samples.size / SAMPLE_RATE
        turns = [
            (max(0.0, seg.start), min(duration, seg.end), names.get(label, f"\0{label}"))
            for seg, _, label in annotation.itertracks(yield_label=True)
            if min(duration, seg.end) > max(0.0, seg.start)
        ]
        return label_in_order(turns, known={k.name for k in options.known_speakers})

    def embed(self, clips: list[np.ndarray]) -> np.ndarray:
        """Speaker embeddings of float32 mono 16 kHz clips by the pipeline's own model, one row each."""
        self.load()
        torch = self._torch
        model = self.pipeline._embedding
        rows = []
        for clip in clips:
            waveform = torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32).reshape(1, 1, -1))
            if model.sample_rate != SAMPLE_RATE:
                import torchaudio.functional

                waveform = torchaudio.functional.resample(waveform, SAMPLE_RATE, model.sample_rate)
            rows.append(np.asarray(model(waveform), dtype=np.float64).reshape(-1))
        return np.vstack(rows)

    def _name_clusters(
        self, output: Any, annotation: Any, samples: np.ndarray, options: DiarizeOptions
    ) -> dict[str, str]:
        """Cluster label -> known speaker name, for the speakers of `annotation` that match one."""
        labels = list(annotation.labels())  # only speakers that appear in the turns we return
        if not labels:
            return {}
        rows = {label: row for row, label in enumerate(output.speaker_diarization.labels())}
        centroids = output.speaker_embeddings
        vectors = []
        for label in labels:
            row = rows.get(label)
            vector = None if centroids is None or row is None or row >= len(centroids) else np.asarray(centroids[row])
            if vector is None or not np.all(np.isfinite(vector)) or not np.any(vector):
                # pyannote pads speakers it has no centroid for with zeros (and an empty cluster gives NaN)
                vector = self._speaker_vector(samples, annotation.label_timeline(label))
            vectors.append(vector)
        references = self.embed([k.samples for k in options.known_speakers])
        pairs = match_known(np.vstack(vectors), references, self.source.known_speaker_threshold)
        return {labels[row]: options.known_speakers[ref].name for row, ref in pairs.items()}

    def _speaker_vector(self, samples: np.ndarray, timeline: Any) -> np.ndarray:
        """Embedding of one speaker's own stretches (longest first, up to SPEAKER_AUDIO_S); zeros if too short."""
        stretches, total = [], 0
        for segment in sorted(timeline, key=lambda s: s.duration, reverse=True):
            piece = samples[int(segment.start * SAMPLE_RATE) : int(segment.end * SAMPLE_RATE)]
            stretches.append(piece[: SPEAKER_AUDIO_S * SAMPLE_RATE - total])
            total += len(stretches[-1])
            if total >= SPEAKER_AUDIO_S * SAMPLE_RATE:
                break
        if total < MIN_SPEAKER_AUDIO_S * SAMPLE_RATE:
            return np.zeros(self.pipeline._embedding.dimension)
        embedding: np.ndarray = self.embed([np.concatenate(stretches)])[0]
        return embedding

    def _checkpoint(self) -> str:
        """What to hand to Pipeline.from_pretrained, after checking it is allowed and present."""
        where = Path(self.source.pipeline).expanduser()
        if where.is_dir() or where.is_file():
            config_file = where / CONFIG_FILE if where.is_dir() else where
            missing_online = check_pipeline_files(config_file)
            if missing_online and not self.source.allow_download:
                raise ModelUnavailable(
                    f"pyannote pipeline {config_file} refers to models that are not local files "
                    f"({'; '.join(missing_online)}); put them beside config.yaml and refer to them as "
                    "`$model/<folder>`, or allow downloads"
                )
            return str(where)
        if _HUB_ID.match(self.source.pipeline) and not where.is_absolute():
            if not self.source.allow_download:
                raise ModelUnavailable(
                    f"pyannote pipeline `{self.source.pipeline}` is not a local directory, and fetching it from "
                    "the hub is off (offline by default); download it to a directory and point the config at "
                    "it, or allow downloads and give a token"
                )
            return self.source.pipeline
        raise ModelUnavailable(f"pyannote pipeline directory not found: {where}")


def check_pipeline_files(config_file: Path) -> list[str]:
    """Check every model a local pipeline config names; return the references that need the hub.

    Raises ModelUnavailable naming a missing or unreadable config and any missing local file.
    """
    if not config_file.is_file():
        raise ModelUnavailable(f"pyannote pipeline config missing: {config_file}")
    try:
        config = yaml.safe_load(config_file.read_text())
        name = str(config["pipeline"]["name"])
        params = config["pipeline"].get("params") or {}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelUnavailable(f"pyannote pipeline config {config_file} is not readable: {exc}") from exc
    directory = config_file.parent
    online = []
    for key, default in _DEFAULT_REFERENCES.items():
        if key not in params:
            if name.endswith("SpeakerDiarization"):
                online.append(f"{key}: {default}, pyannote's default when the config names none")
            continue
        files = PLDA_FILES if key == "plda" else (CHECKPOINT_FILE,)
        hub = _check_reference(params[key], directory, files)
        if hub:
            online.append(f"{key}: {hub}")
    return online


def _check_reference(value: Any, directory: Path, files: tuple[str, ...]) -> str | None:
    """Resolve one model reference as pyannote would; None when local and present, else the hub id."""
    subfolder = None
    if isinstance(value, dict):
        value, subfolder = value.get("checkpoint"), value.get("subfolder")
    if not isinstance(value, str):
        return None  # an object built in the config itself
    if value.startswith("$model/"):
        path = directory / value.split("/", 1)[1].split("@")[0]
    elif os.path.exists(value):
        path = Path(value)
    else:
        return value + (f" ({subfolder})" if subfolder else "")
    if subfolder:
        path = path / subfolder
    if path.is_file():
        return None
    for name in files:
        if not (path / name).is_file():
            raise ModelUnavailable(f"pyannote model file missing: {path / name}")
    return None


def match_known(clusters: np.ndarray, references: np.ndarray, threshold: float) -> dict[int, int]:
    """Pair cluster rows with reference rows one to one by cosine similarity (Hungarian).

    Returns {cluster row: reference row} for the pairs whose similarity reaches `threshold`;
    a zero or non-finite cluster vector (pyannote pads speakers it has no centroid for) is never paired.
    """
    from scipy.optimize import linear_sum_assignment

    if len(clusters) == 0 or len(references) == 0:
        return {}
    similarity = _unit(clusters) @ _unit(references).T
    similarity[~np.isfinite(similarity)] = _UNMATCHABLE
    similarity[np.all(_unit(clusters) == 0, axis=1)] = _UNMATCHABLE
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    return {
        int(r): int(c)
        for r, c in zip(rows, cols, strict=True)
        if similarity[r, c] > _UNMATCHABLE and similarity[r, c] >= threshold
    }


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.nan_to_num(np.asarray(vectors, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    units: np.ndarray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return units


def resolve_device(torch: Any, wanted: str) -> Any:
    """`auto` takes CUDA when torch sees a device; asking for CUDA without one is an error."""
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError as exc:
        raise ModelUnavailable(f"unknown device {wanted!r} for pyannote (use cpu, cuda, cuda:N or auto)") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelUnavailable(
                f"device {wanted!r} asked for pyannote, but torch {torch.__version__} sees no CUDA device"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ModelUnavailable(f"device {wanted!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise ModelUnavailable(f"unknown device {wanted!r} for pyannote (use cpu, cuda, cuda:N or auto)")
    return device


def _import_pyannote() -> tuple[Any, Any]:
    # pyannote.audio 4 reports usage to its makers unless told not to; a self-hosted server does not.
    # It reads the variable at every report, so this holds even if pyannote was imported earlier.
    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
    try:
        import torch
        import torchaudio  # noqa: F401  (fails here, clearly, beside a CPU-only torch wheel)
        from pyannote.audio import Pipeline
    except ImportError as exc:
        raise ModelUnavailable(f"pyannote.audio is not installed ({exc}); {INSTALL_HINT}") from exc
    except OSError as exc:
        raise ModelUnavailable(
            f"torchaudio cannot load ({exc}); its PyPI wheel needs PyPI's CUDA build of torch, "
            f"not the CPU-only wheel; {INSTALL_HINT}"
        ) from exc
    return torch, Pipeline


def _speaker_counts(options: DiarizeOptions) -> dict[str, int]:
    counts = {}
    if options.min_speakers is not None:
        if options.min_speakers < 1:
            raise InvalidRequest("min_speakers must be at least 1", param="min_speakers")
        counts["min_speakers"] = options.min_speakers
    if options.max_speakers is not None:
        if options.max_speakers < (options.min_speakers or 1):
            raise InvalidRequest("max_speakers must be at least min_speakers and 1", param="max_speakers")
        counts["max_speakers"] = options.max_speakers
    return counts
