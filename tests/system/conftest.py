"""System tests: real processes. The playground in Debian's headless chromium (Playwright), and the
whole topology on loopback run by `scripts/cluster`.

A headless browser for the playground tests: Debian's chromium driven by Playwright.

Playwright never downloads a browser here: it is pointed at /usr/bin/chromium, which
scripts/system-deps installs from Debian. The microphone is Chromium's fake capture device
playing a real recording, so recording is tested without a sound card.

The whole topology as real processes on loopback: `scripts/cluster` runs it, the tests drive it.

One cluster per session: two gateway replicas serving tiny.en (plus two broken model
directories, on purpose) behind nginx. Tests that kill or stop a replica bring it back
with `Cluster.start()`, which starts only what is not running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from tests.helpers import encode, metric, read_audio

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
]


@pytest.fixture(scope="session")
def microphone_recording(tmp_path_factory: pytest.TempPathFactory, fixture_audio: Any) -> Path:
    """What the fake microphone hears: en_fox then a second of silence, as 48 kHz WAV, looped."""
    samples = read_audio(fixture_audio("en_fox.flac"), rate=48000)
    path = tmp_path_factory.mktemp("microphone") / "en_fox_48k.wav"
    path.write_bytes(encode(np.concatenate([samples, np.zeros(48000, np.float32)]), "wav", rate=48000))
    return path


@pytest.fixture(scope="module")
def browser(microphone_recording: Path) -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run `bash scripts/system-deps` as root")
    from playwright.sync_api import sync_playwright

    fake_microphone = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone_recording}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS + fake_microphone)
        yield browser
        browser.close()
    # Module scope: the sync API's event loop is gone before any asyncio test runs after these.


class PageErrors(list):
    """Uncaught errors and console errors seen on a page."""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (own storage). CSP is bypassed only so that Playwright's polling
    `wait_for_function` may evaluate; tests/api/test_playground.py checks the real header."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors = PageErrors()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A refused request also logs "Failed to load resource"; the page shows those itself.
    page.on(
        "console", lambda m: m.type == "error" and "Failed to load resource" not in m.text and errors.append(m.text)
    )
    page.errors = errors
    page.set_default_timeout(120_000)
    yield page
    context.close()
    assert not errors, f"the page reported errors: {errors}"


REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "scripts" / "cluster"
NGINX_FAIL_TIMEOUT_S = 5  # deploy/nginx/audio-gateway.conf: a failed replica is skipped this long


def cluster_config(tmp: Path) -> Path:
    """tiny.en and Piper on every replica, small queues, and two model directories that cannot load."""
    corrupt = tmp / "corrupt-model"
    corrupt.mkdir(parents=True, exist_ok=True)
    (corrupt / "config.json").write_text("{}")
    (corrupt / "model.bin").write_bytes(b"\x00not a ctranslate2 model" * 64)
    config = {
        "transcription": {
            "queue": {"max_parallel": 2, "max_queue": 6, "retry_after_s": 1},
            "models": {
                "tiny.en": {"embedded": "whisper-tiny.en", "preload": True},
                "missing": {"path": str(tmp / "no-such-model"), "preload": False},
                "corrupt": {"path": str(corrupt), "preload": False},
            },
            "aliases": {"whisper-1": "tiny.en"},
        },
        "speech": {"queue": {"max_parallel": 2, "max_queue": 4, "retry_after_s": 1}},
        "server": {"shutdown_grace_s": 30},
    }
    # consents are heard by tiny.en; a database outage is noticed within 2 s
    config["consents"] = {"transcription_model": "whisper-1"}
    config["storage"] = {"connect_timeout_s": 2}
    path = tmp / "cluster.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Cluster:
    """Handle on a running `scripts/cluster` directory."""

    def __init__(self, root: Path, config: Path, cache_dir: Path):
        self.root = root
        self.config = config
        self.cache_dir = cache_dir

    def _script(self, *args: str, timeout: float = 400) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(CLUSTER), "--dir", str(self.root), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self) -> bool:
        """Start what is not running; True if something had to be (re)started.

        A restarted replica is back in nginx's pool once the balancer's fail_timeout has
        passed since its last failure: this waits that long.
        """
        before = self.state().get("replicas", []) if (self.root / "cluster.json").exists() else []
        done = self._script(
            "start", "--python", sys.executable, "--config", str(self.config), "--cache-dir", str(self.cache_dir),
            "--timeout", "300",
        )  # fmt: skip
        assert done.returncode == 0, f"cluster start failed:\n{done.stdout}\n{done.stderr}"
        restarted = bool(before) and [r.get("pid") for r in before] != [r.get("pid") for r in self.replicas()]
        if restarted:
            time.sleep(NGINX_FAIL_TIMEOUT_S + 0.5)
        return restarted

    def stop(self) -> None:
        self._script("stop", "--grace", "10", "--clean", timeout=120)

    def state(self) -> dict[str, Any]:
        return json.loads(self._script("status", "--json").stdout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.state()['balancer']['port']}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def replicas(self) -> list[dict[str, Any]]:
        return self.state()["replicas"]

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.replicas()[index]['port']}"

    def scrape(self) -> list[str]:
        """/metrics of every replica that answers."""
        texts = []
        for replica in self.replicas():
            try:
                texts.append(httpx.get(f"http://127.0.0.1:{replica['port']}/metrics", timeout=5).text)
            except httpx.HTTPError:
                texts.append("")
        return texts

    def total(self, name: str, **labels: str) -> float:
        """A metric summed over the replicas."""
        return sum(metric(text, name, **labels) for text in self.scrape())

    def balancer_log(self) -> list[dict[str, Any]]:
        """nginx's access log (JSON lines)."""
        path = self.root / "nginx" / "access.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def kill(self, index: int, sig: int = signal.SIGKILL) -> int:
        pid = self.replicas()[index]["pid"]
        os.kill(pid, sig)
        return pid


def wait_until(condition, timeout: float = 60, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def pid_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    handle = Cluster(root / "run", cluster_config(root), data_dir / "cache")
    handle.start()
    yield handle
    handle.stop()


@pytest.fixture
def healthy(cluster: Cluster) -> Cluster:
    """The cluster with every replica running, ready and back in nginx's pool."""
    cluster.start()
    return cluster
