"""A gateway in its own process for benchmarks, and the benchmark recording."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def recording(name: str = "pyannote_sample/sample.wav") -> tuple[bytes, float]:
    """A test recording and its duration; the default is the real 30 s two-speaker recording
    that ships with pyannote.audio (the one the issue's peer figures were measured on)."""
    from samples.audio import read_audio

    path = FIXTURES / name
    return path.read_bytes(), len(read_audio(path)) / 16000


class GatewayProcess:
    """`audio-gateway serve` on a free loopback port, stopped on exit."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        models: list[str] | None = None,
        sections: dict[str, dict[str, Any]] | None = None,
    ):
        """`models`: serve only these Whisper models of the default config, all preloaded; `sections`: settings
        merged into the default config's sections (`{"realtime": {"interim_interval_ms": 0}}`)."""
        self.env = env or {}
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-")
        self.data_dir = Path(self._tmp.name)
        self.config = ROOT / "configs" / "default.yaml"
        if models is not None or sections:
            config = yaml.safe_load(self.config.read_text())
            if models is not None:
                section = config["transcription"]
                section["models"] = {name: {**section["models"][name], "preload": True} for name in models}
                section["aliases"] = {a: target for a, target in section["aliases"].items() if target in models}
                # everything that listens through a Whisper model uses one that is served here
                for other in ("consents", "diarization"):
                    config.setdefault(other, {})["transcription_model"] = models[0]
            for name, values in (sections or {}).items():
                config.setdefault(name, {}).update(values)
            self.config = self.data_dir / "bench.yaml"
            self.config.write_text(yaml.safe_dump(config))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> GatewayProcess:
        env = {**os.environ, "GATEWAY_DATA_DIR": str(self.data_dir), "GATEWAY_LOG_LEVEL": "warning", **self.env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(self.port), "--config", str(self.config)],
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("gateway exited during start")
            time.sleep(0.2)
        raise RuntimeError("gateway did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._tmp.cleanup()
