"""Faults: model directories that are missing or corrupt, at start and on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from tests.system.conftest import CLUSTER, Cluster


def test_a_broken_model_is_503_for_that_model_only(healthy: Cluster, fixture_audio):
    sdk = openai.OpenAI(base_url=healthy.base_url, api_key="sk-test", max_retries=0, timeout=120)
    for model, says in (("missing", "model directory not found"), ("corrupt", "cannot load Whisper model")):
        with pytest.raises(openai.InternalServerError) as caught:
            sdk.audio.transcriptions.create(model=model, file=fixture_audio("en_weather.flac"))
        assert caught.value.status_code == 503
        body = caught.value.response.json()["error"]
        assert body["type"] == "server_error" and says in body["message"], body
    # Everything else keeps working, on every replica, and nginx kept both in its pool.
    for _ in range(4):
        assert (
            "weather"
            in sdk.audio.transcriptions.create(model="whisper-1", file=fixture_audio("en_weather.flac")).text.lower()
        )
    for index in range(2):
        ready = httpx.get(f"{healthy.replica_url(index)}/health/ready")
        assert ready.status_code == 200  # not preloaded: the replica is ready, that model is not
    assert healthy.total("gateway_model_state", model="missing", state="failed") >= 1
    assert healthy.total("gateway_model_state", model="tiny.en", state="loaded") == 2


def test_a_broken_preloaded_model_is_a_clear_error_at_start(tmp_path: Path, data_dir: Path):
    config = {
        "transcription": {
            "models": {
                "tiny.en": {"embedded": "whisper-tiny.en"},
                "large": {"path": str(tmp_path / "models" / "whisper-large"), "preload": True},
            },
            "aliases": {"whisper-1": "tiny.en"},
        },
        "consents": {"transcription_model": "whisper-1"},
    }
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(config))
    root = tmp_path / "run"
    command = [sys.executable, str(CLUSTER), "--dir", str(root)]
    try:
        start = subprocess.run(
            [*command, "start", "--replicas", "1", "--no-postgres", "--python", sys.executable,
             "--config", str(tmp_path / "broken.yaml"), "--cache-dir", str(data_dir / "cache"), "--timeout", "120"],
            capture_output=True, text=True, timeout=200,
        )  # fmt: skip
        assert start.returncode != 0
        assert "not ready: model large failed to load" in start.stderr
        assert f"model directory not found: {tmp_path / 'models' / 'whisper-large'}" in start.stderr
        log = (root / "replica-1" / "gateway.log").read_text()
        assert "preloading large failed: model directory not found" in log
    finally:
        subprocess.run([*command, "stop", "--grace", "5"], capture_output=True, timeout=60)
