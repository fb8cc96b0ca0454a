"""How a client command reaches a gateway: a running server, or one started in this process.

Either way the commands talk HTTP through the official `openai` client, so what they do
is exactly what any SDK user gets. In-process, the app listens on a Unix socket in a private
temporary directory: no port is opened and nothing else on the machine can reach it.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from gateway.cli.errors import CliError

DEFAULT_TIMEOUT_S = 600.0
"""Long enough for a long recording on a CPU; `--timeout` changes it."""

_STARTUP_TIMEOUT_S = 600.0


class Connection:
    """An `openai.OpenAI` client and a plain HTTP client on the same server."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        transport: httpx.BaseTransport | None,
        timeout: float,
        socket: Path | None = None,
    ):
        from openai import OpenAI

        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.socket = socket
        """The Unix socket of an in-process gateway (for clients other than HTTP: the realtime WebSocket)."""
        self.http = httpx.Client(transport=transport, timeout=timeout)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http.headers.update(headers)
        # The SDK insists on a key; a server without keys ignores whatever is sent.
        self.client = OpenAI(
            base_url=self.base_url,
            api_key=api_key or "none",
            http_client=self.http,  # type: ignore[arg-type]  # the SDK takes an httpx client too; its type says httpx2
            timeout=timeout,
        )

    @property
    def root_url(self) -> str:
        """The server's root, where /health lives: the base URL without its trailing `/v1`."""
        return self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url

    def get_json(self, url: str) -> Any:
        """GET an absolute URL on the server; connection problems become one clear line."""
        try:
            response = self.http.get(url)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the server at {self.root_url}: {exc}") from exc
        return response

    def close(self) -> None:
        self.client.close()
        self.http.close()


class InProcessServer:
    """`create_app(settings)` served by uvicorn on a Unix socket, in a thread of this process."""

    def __init__(self, settings: Any):
        import uvicorn

        from gateway.app import create_app

        self._dir = tempfile.TemporaryDirectory(prefix="audio-gateway-")
        self.socket = Path(self._dir.name) / "gateway.sock"
        config = uvicorn.Config(
            create_app(settings), uds=str(self.socket), log_level="error", lifespan="on", log_config=None
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="audio-gateway-server", daemon=True)

    def start(self) -> InProcessServer:
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise CliError("the in-process server did not start (run with --verbose to see why)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._dir.cleanup()


class Gateway:
    """`with Gateway(args) as conn:` connects to `--base-url`, or starts the app in-process."""

    def __init__(self, args: Any):
        self.args = args
        self._server: InProcessServer | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> Connection:
        args = self.args
        timeout = args.timeout
        if args.base_url:
            self._conn = Connection(args.base_url, args.api_key, None, timeout)
            return self._conn
        from gateway.settings import Settings

        settings = Settings.load(args.config)
        # Our own private socket: no key is needed, whatever the config asks of network clients.
        settings = settings.model_copy(update={"api_keys": []})
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.ERROR,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        self._server = InProcessServer(settings).start()
        transport = httpx.HTTPTransport(uds=str(self._server.socket))
        self._conn = Connection("http://audio-gateway.local/v1", None, transport, timeout, self._server.socket)
        return self._conn

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._server is not None:
            self._server.stop()
