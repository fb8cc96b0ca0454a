"""Pipeline directories for the tests: random-weight checkpoints, or placeholders for the pre-load checks.

The random pipeline has the shape of `speaker-diarization-community-1` (PyanNet powerset
segmentation, a speaker-embedding model, PLDA, VBx clustering), with real checkpoint files
written by pyannote's own model classes, so the adapter loads it exactly as it would load
downloaded weights. Only the weights are random; the plumbing is what the tests check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml


def build_random_pipeline(root: Path, seed: int = 0) -> Path:
    """Write config.yaml, segmentation/, embedding/ and plda/ with random weights under `root`."""
    import lightning
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dimension, lda_dimension = 128, 64

    segmentation = PyanNet(lstm={"hidden_size": 32, "num_layers": 1}, linear={"hidden_size": 32, "num_layers": 1})
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=10.0,
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    # A small x-vector model keeps the test short; community-1 uses a WeSpeaker ResNet34.
    embedding = XVectorMFCC(dimension=dimension, mfcc={"melkwargs": {"n_mels": 40}})
    embedding.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=10.0
    )
    for folder, model in (("segmentation", segmentation), ("embedding", embedding)):
        model.build()
        checkpoint = {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": lightning.__version__,
        }
        model.on_save_checkpoint(checkpoint)  # pyannote's own architecture/specifications record
        (root / folder).mkdir(parents=True)
        torch.save(checkpoint, root / folder / "pytorch_model.bin")

    (root / "plda").mkdir()
    np.savez(
        root / "plda" / "xvec_transform.npz",
        mean1=rng.normal(size=dimension),
        mean2=rng.normal(size=lda_dimension),
        lda=rng.normal(size=(dimension, lda_dimension)),
    )
    rotation, _ = np.linalg.qr(rng.normal(size=(lda_dimension, lda_dimension)))
    np.savez(
        root / "plda" / "plda.npz",
        mu=np.zeros(lda_dimension),
        tr=rotation,
        psi=np.abs(rng.normal(size=lda_dimension)) + 0.5,
    )
    write_config(root)
    return root


def write_config(root: Path, **params: Any) -> Path:
    """A community-1-shaped config.yaml; `params` override the pipeline's constructor arguments."""
    config = {
        "dependencies": {"pyannote.audio": "4.0.0"},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "segmentation": "$model/segmentation",
                "embedding": "$model/embedding",
                "plda": "$model/plda",
                "clustering": "VBxClustering",
                "segmentation_step": 0.5,  # community-1 uses 0.1; coarser keeps the test short
                "segmentation_batch_size": 32,
                "embedding_batch_size": 32,
                "embedding_exclude_overlap": True,
                **params,
            },
        },
        "params": {
            "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
            "segmentation": {"min_duration_off": 0.0},
        },
    }
    config["pipeline"]["params"] = {k: v for k, v in config["pipeline"]["params"].items() if v is not None}
    if config["pipeline"]["params"]["clustering"] == "AgglomerativeClustering":
        # the shape of speaker-diarization-3.1's config
        config["dependencies"] = {"pyannote.audio": "3.1.0"}
        config["params"]["clustering"] = {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7}
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def write_placeholder_pipeline(root: Path, **params: Any) -> Path:
    """config.yaml plus empty files where the checkpoints go: enough for the checks before loading."""
    write_config(root, **params)
    for relpath in (
        "segmentation/pytorch_model.bin",
        "embedding/pytorch_model.bin",
        "plda/xvec_transform.npz",
        "plda/plda.npz",
    ):
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).touch()
    return root
