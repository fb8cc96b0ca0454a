"""configs/default.yaml shows the settings' defaults: every value it sets is the default (defaults live once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway.settings import DEFAULT_CONFIG, REPO_ROOT, Settings


def _differences(shown: Any, default: Any, path: str) -> list[str]:
    if isinstance(shown, dict) and isinstance(default, dict):
        found = []
        for key, value in shown.items():
            if key not in default:
                found.append(f"{path}{key}: not a setting")
            else:
                found += _differences(value, default[key], f"{path}{key}.")
        return found
    relative = isinstance(shown, str) and not Path(shown).is_absolute()
    if relative and isinstance(default, str) and Path(default).is_absolute():
        shown = str(REPO_ROOT / shown)  # a relative path is taken from the working directory: the repo's root
    if shown != default:
        return [f"{path.rstrip('.')}: the YAML says {shown!r}, the default is {default!r}"]
    return []


def test_default_yaml_agrees_with_the_settings_defaults() -> None:
    shown = yaml.safe_load(DEFAULT_CONFIG.read_text())
    defaults = Settings.model_construct().model_dump(mode="json")  # defaults only: no file, no environment
    assert _differences(shown, defaults, "") == []


def test_a_difference_is_found() -> None:
    """The check itself can fail: a changed value and an unknown key are both reported."""
    defaults = Settings.model_construct().model_dump(mode="json")
    assert _differences({"diarization": {"queue": {"retry_after_s": 99}}, "nope": 1}, defaults, "") == [
        "diarization.queue.retry_after_s: the YAML says 99, the default is 5.0",
        "nope: not a setting",
    ]


def test_batch_size_is_what_a_whisper_model_batches_and_keeps_in_flight(tmp_path) -> None:
    """`transcription.batch_size` (not `queue.max_parallel`, the requests at work) sizes a model's batched
    calls and the windows of one request decoded side by side."""
    from gateway.services import build_services

    settings = Settings.load(DEFAULT_CONFIG, data_dir=str(tmp_path))
    settings.transcription.batch_size = 3
    entry = build_services(settings).registry.resolve("tiny.en", "transcription")
    worker: Any = entry.worker
    assert worker.source.max_batch == 3 and worker.cpu_batcher.max_batch == 3
    assert settings.transcription.queue.max_parallel == 4


def test_batch_size_is_bounded(tmp_path) -> None:
    """A new user's finding: `batch_size: 100000` was accepted (memory then grows with it)."""
    import pytest
    from pydantic import ValidationError

    for wrong in (0, 65, 10**20):
        with pytest.raises(ValidationError, match="batch_size"):
            Settings.load(DEFAULT_CONFIG, data_dir=str(tmp_path), transcription={"batch_size": wrong})
