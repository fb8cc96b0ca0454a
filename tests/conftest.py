"""Shared fixtures: real servers on loopback, driven by the official OpenAI SDK."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# Skips that CI may take: what CI does not provide for. Any other skip fails a CI run
# (CI=true), where scripts/system-deps has installed every tool the tests use.
CI_MAY_SKIP_MARKERS = ("gpu",)  # tests with these markers need hardware CI has not got
CI_MAY_SKIP_REASONS = ("no CUDA device",)  # skip reasons that start with one of these


def _skips_fail() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI, a skip not on the allow-list above is reported as a failure.

    A guard that skips where a tool or a feature is missing must never hide a regression in
    CI: the tool is installed there, so a skip means the feature or its registration broke.
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (report.skipped and _skips_fail()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if any(item.get_closest_marker(m) for m in CI_MAY_SKIP_MARKERS) or reason.startswith(CI_MAY_SKIP_REASONS):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under CI, which provides for this test (tests/conftest.py CI_MAY_SKIP_*): {reason}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RunningServer:
    """A uvicorn server running `create_app(settings)` in a thread of this process."""

    def __init__(self, settings: Any):
        import uvicorn

        from gateway.app import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.port = free_port()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def services(self) -> Any:
        return self.app.state.services

    def start(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 300
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def make_settings(tmp: Path, **overrides: Any) -> Any:
    from gateway.settings import DEFAULT_CONFIG, Settings

    overrides.setdefault("data_dir", str(tmp))
    return Settings.load(DEFAULT_CONFIG, **overrides)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def start_server(data_dir: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start extra servers with settings overrides; all are stopped at the end."""
    servers: list[RunningServer] = []

    def start(**overrides: Any) -> RunningServer:
        server = RunningServer(make_settings(data_dir, **overrides)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server: Callable[..., RunningServer]) -> RunningServer:
    """The default configuration: embedded models, no API keys."""
    return start_server()


@pytest.fixture(scope="session")
def client(server: RunningServer) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=300)


@pytest.fixture
def async_client(server: RunningServer) -> Any:
    from openai import AsyncOpenAI

    return AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=300)


@pytest.fixture(scope="session")
def fixture_audio() -> Callable[[str], Path]:
    def get(name: str) -> Path:
        path = FIXTURES / name
        assert path.exists(), f"missing test recording {path}"
        return path

    return get


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster (skipped where Debian's postgresql package is missing; under CI a failure)."""
    from samples.postgres import PostgresCluster, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (scripts/system-deps installs it)")
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def storage_settings(request: pytest.FixtureRequest, data_dir: Path) -> Callable[[str], dict[str, Any]]:
    """Settings overrides for a fresh, empty voice store on `sqlite` or `postgres`.

    SQLite gets a new data directory (the model cache stays shared); PostgreSQL a new database.
    """

    def make(backend: str) -> dict[str, Any]:
        fresh = Path(tempfile.mkdtemp(prefix="store-", dir=data_dir))
        overrides: dict[str, Any] = {"data_dir": str(fresh), "cache_dir": str(data_dir / "cache")}
        if backend == "postgres":
            overrides["storage"] = {"url": request.getfixturevalue("postgres").new_database()}
        elif backend != "sqlite":
            raise ValueError(backend)
        return overrides

    return make
