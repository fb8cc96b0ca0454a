"""The pyannote.audio engine through our adapter, on a random-weight pipeline and pyannote's sample.

Run in the pyannote venv:
    scripts/pyannote-venv
    PYTHONPATH=. .venv-pyannote/bin/python -m pytest tests/pyannote -m pyannote
The checks made before pyannote is imported (missing files, offline refusal, missing package)
also run, for real, in the main venv; the rest skip there.
"""

from __future__ import annotations

import itertools
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.compute import CpuBudget
from models.diarization.base import anonymous_label
from models.diarization.pyannote_engine import PyannoteEngine, PyannoteSource, match_known, resolve_device
from models.errors import InvalidRequest, ModelUnavailable
from models.options import DiarizeOptions, KnownSpeaker
from models.types import SpeakerTurn
from tests.pyannote.pipelines import write_config, write_placeholder_pipeline

pytestmark = [
    pytest.mark.pyannote,
    # random weights leave VBx clusters empty (a NaN centroid, which the engine works around)
    pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
    pytest.mark.filterwarnings(r"ignore:std\(\):UserWarning"),  # pyannote probes its model with tiny inputs
]

SECOND = 16_000
BUDGET = CpuBudget(cores=2, threads={"pyannote": 1})  # one thread per step


def make_engine(pipeline: Path | str, tmp_path: Path, **source: Any) -> PyannoteEngine:
    return PyannoteEngine("pyannote", PyannoteSource(pipeline=str(pipeline), **source), BUDGET, tmp_path)


@pytest.fixture(scope="module")
def engine(pipeline_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PyannoteEngine:
    engine = make_engine(pipeline_dir, tmp_path_factory.mktemp("cache"), device="cpu")
    engine.load()
    return engine


@pytest.fixture(scope="module")
def turns(engine: PyannoteEngine, sample: np.ndarray) -> list[SpeakerTurn]:
    return engine.diarize(sample, DiarizeOptions())


@pytest.fixture
def no_hub(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every way pyannote reaches the hub records the call and fails (an injected fault)."""
    import huggingface_hub
    import huggingface_hub.file_download
    import pyannote.audio.utils.hf_hub as pyannote_hub

    calls: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))
        raise ConnectionError("the test refuses hub access")

    for module in (huggingface_hub, huggingface_hub.file_download, pyannote_hub):
        monkeypatch.setattr(module, "hf_hub_download", refuse)
    return calls


def assert_anonymous_in_order(turns: list[SpeakerTurn], known: set[str] = frozenset()) -> None:
    order = []
    for turn in turns:
        if turn.speaker not in known and turn.speaker not in order:
            order.append(turn.speaker)
    assert order == [anonymous_label(i) for i in range(len(order))]


# -- diarization of a real recording --------------------------------------------------------


def test_turns_are_sorted_speaker_turns_with_anonymous_labels(turns: list[SpeakerTurn], sample: np.ndarray):
    assert turns, "the sample has speech; random weights still yield turns"
    assert all(isinstance(t, SpeakerTurn) for t in turns)
    assert turns == sorted(turns, key=lambda t: (t.start, t.end))
    duration = len(sample) / SECOND
    assert all(0.0 <= t.start < t.end <= duration for t in turns)
    assert_anonymous_in_order(turns)


def test_exclusive_turns_do_not_overlap(turns: list[SpeakerTurn]):
    for before, after in itertools.pairwise(turns):
        assert after.start >= before.end - 1e-6


def test_compute_is_bounded_by_the_cpu_budget(engine: PyannoteEngine, turns: list[SpeakerTurn]):
    import torch

    assert BUDGET.threads("pyannote") == 1
    assert torch.get_num_threads() == 1
    assert engine.device.type == "cpu"


def test_empty_audio_has_no_turns(engine: PyannoteEngine):
    assert engine.diarize(np.zeros(0, dtype=np.float32), DiarizeOptions()) == []


def test_impossible_speaker_counts_are_refused(engine: PyannoteEngine, sample: np.ndarray):
    with pytest.raises(InvalidRequest) as err:
        engine.diarize(sample, DiarizeOptions(min_speakers=3, max_speakers=2))
    assert err.value.param == "max_speakers"


def test_a_31_shaped_pipeline_diarizes_with_overlapping_turns(pipeline_dir: Path, sample: np.ndarray, tmp_path: Path):
    root = shutil.copytree(pipeline_dir, tmp_path / "pipeline-3.1")
    write_config(root, clustering="AgglomerativeClustering")
    engine = make_engine(root, tmp_path, device="cpu", exclusive=False)
    alice = KnownSpeaker(name="alice", samples=sample[2 * SECOND : 7 * SECOND])
    turns = engine.diarize(sample, DiarizeOptions(known_speakers=(alice,)))
    assert turns and turns == sorted(turns, key=lambda t: (t.start, t.end))
    assert_anonymous_in_order(turns, known={"alice"})


# -- known speakers -------------------------------------------------------------------------


def test_reference_clips_are_embedded_by_the_pipelines_own_model(engine: PyannoteEngine, sample: np.ndarray):
    vectors = engine.embed([sample[2 * SECOND : 7 * SECOND], sample[20 * SECOND : 23 * SECOND]])
    assert vectors.shape == (2, engine.pipeline._embedding.dimension)
    assert np.all(np.isfinite(vectors))


def test_known_speaker_from_the_same_audio_comes_back_by_name(engine: PyannoteEngine, sample: np.ndarray):
    # Random weights give meaningless similarities: a threshold of -1 accepts any pairing, so
    # this checks the contract (a matched cluster carries the name), not the accuracy.
    engine.source = replace(engine.source, known_speaker_threshold=-1.0)
    try:
        alice = KnownSpeaker(name="alice", samples=sample[2 * SECOND : 7 * SECOND])
        turns = engine.diarize(sample, DiarizeOptions(known_speakers=(alice,)))
    finally:
        engine.source = replace(engine.source, known_speaker_threshold=PyannoteSource.known_speaker_threshold)
    assert "alice" in {t.speaker for t in turns}
    assert turns == sorted(turns, key=lambda t: (t.start, t.end))
    assert_anonymous_in_order(turns, known={"alice"})


def test_known_speaker_below_the_threshold_stays_anonymous(engine: PyannoteEngine, sample: np.ndarray):
    engine.source = replace(engine.source, known_speaker_threshold=1.01)  # above any cosine
    try:
        alice = KnownSpeaker(name="alice", samples=sample[2 * SECOND : 7 * SECOND])
        turns = engine.diarize(sample, DiarizeOptions(known_speakers=(alice,)))
    finally:
        engine.source = replace(engine.source, known_speaker_threshold=PyannoteSource.known_speaker_threshold)
    assert "alice" not in {t.speaker for t in turns}
    assert_anonymous_in_order(turns)


def test_one_name_per_cluster_and_one_cluster_per_name():
    pytest.importorskip("scipy")
    clusters = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 0.0, 1.0]])
    # Both clusters 0 and 1 are closest to alice; only one may take the name.
    assert match_known(clusters, np.array([[1.0, 0.0, 0.0]]), threshold=0.5) == {0: 0}
    # alice and bob are both closest to cluster 0; the assignment gives bob the next best.
    pairs = match_known(clusters[:2], np.array([[1.0, 0.0, 0.0], [0.95, 0.05, 0.0]]), threshold=0.5)
    assert sorted(pairs.values()) == [0, 1] and sorted(pairs) == [0, 1]
    # Under the threshold nobody is named; a zero (padded) centroid never is.
    assert match_known(clusters, np.array([[0.0, 1.0, 0.0]]), threshold=0.5) == {}
    assert match_known(np.zeros((1, 3)), np.array([[1.0, 0.0, 0.0]]), threshold=-1.0) == {}


# -- loading: files, offline, device, packages ----------------------------------------------


def test_missing_directory_names_it(tmp_path: Path):
    missing = tmp_path / "no-such-pipeline"
    with pytest.raises(ModelUnavailable, match=str(missing)):
        make_engine(missing, tmp_path).load()


def test_missing_checkpoint_names_the_file(tmp_path: Path):
    root = write_placeholder_pipeline(tmp_path / "pipeline")
    (root / "embedding" / "pytorch_model.bin").unlink()
    with pytest.raises(ModelUnavailable, match=str(root / "embedding" / "pytorch_model.bin")):
        make_engine(root, tmp_path).load()


def test_missing_config_names_it(tmp_path: Path):
    (tmp_path / "pipeline").mkdir()
    with pytest.raises(ModelUnavailable, match=str(tmp_path / "pipeline" / "config.yaml")):
        make_engine(tmp_path / "pipeline", tmp_path).load()


def test_hub_id_is_refused_when_downloads_are_off(tmp_path: Path):
    with pytest.raises(ModelUnavailable, match="offline by default"):
        make_engine("pyannote/speaker-diarization-community-1", tmp_path, token="hf_x").load()


@pytest.mark.parametrize(
    "params, reference",
    [
        ({"embedding": "pyannote/wespeaker-voxceleb-resnet34-LM"}, "pyannote/wespeaker-voxceleb-resnet34-LM"),
        ({"segmentation": {"checkpoint": "pyannote/segmentation-3.0"}}, "pyannote/segmentation-3.0"),
        # pyannote.audio 4 loads community-1's PLDA from the hub when a (3.1) config names none
        ({"plda": None, "clustering": "AgglomerativeClustering"}, "plda: pyannote/speaker-diarization-community-1"),
    ],
)
def test_config_refering_to_the_hub_is_refused_when_downloads_are_off(tmp_path: Path, params, reference):
    root = write_placeholder_pipeline(tmp_path / "pipeline", **params)
    with pytest.raises(ModelUnavailable, match="not local files") as err:
        make_engine(root, tmp_path).load()
    assert reference in err.value.message


@pytest.mark.parametrize("target", ["directory", "config.yaml"])
def test_local_pipeline_loads_without_touching_the_hub(pipeline_dir: Path, tmp_path: Path, no_hub: list, target):
    where = pipeline_dir if target == "directory" else pipeline_dir / "config.yaml"
    engine = make_engine(where, tmp_path, allow_download=False)
    engine.load()
    assert engine.loaded and no_hub == []


def test_allowed_download_asks_the_hub_with_the_token(pyannote_audio: Any, tmp_path: Path, no_hub: list):
    engine = make_engine("pyannote/speaker-diarization-community-1", tmp_path, allow_download=True, token="hf_abc")
    with pytest.raises(ModelUnavailable, match="refuses hub access"):
        engine.load()
    (args, kwargs), *_ = no_hub
    assert args[0] == "pyannote/speaker-diarization-community-1"
    assert kwargs["token"] == "hf_abc"
    assert Path(kwargs["cache_dir"]) == tmp_path / "pyannote"


def test_telemetry_is_off(engine: PyannoteEngine):
    from pyannote.audio.telemetry.metrics import is_metrics_enabled

    assert not is_metrics_enabled()


def test_device_resolution(pyannote_audio: Any):
    import torch

    assert resolve_device(torch, "cpu").type == "cpu"
    assert resolve_device(torch, "auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ModelUnavailable, match="unknown device"):
        resolve_device(torch, "tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelUnavailable, match="no CUDA device"):
            resolve_device(torch, "cuda")


def test_missing_package_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = write_placeholder_pipeline(tmp_path / "pipeline")
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)  # as if the extra were not installed
    with pytest.raises(ModelUnavailable, match=r"pip install '\.\[pyannote\]'"):
        make_engine(root, tmp_path).load()


@pytest.mark.gpu
def test_diarizes_on_cuda(pipeline_dir: Path, sample: np.ndarray, tmp_path: Path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    engine = make_engine(pipeline_dir, tmp_path, device="cuda")
    engine.load()
    assert next(engine.pipeline._embedding.model_.parameters()).device.type == "cuda"
    alice = KnownSpeaker(name="alice", samples=sample[2 * SECOND : 7 * SECOND])
    turns = engine.diarize(sample, DiarizeOptions(known_speakers=(alice,)))
    assert turns and turns == sorted(turns, key=lambda t: (t.start, t.end))
    engine.unload()
    assert not engine.loaded
