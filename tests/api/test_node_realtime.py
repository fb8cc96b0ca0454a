"""The Node SDK's realtime client (`OpenAIRealtimeWebSocket`) against the gateway.

The SDK opens `wss:` URLs only (`buildRealtimeURL` sets the protocol to wss, and a custom
`buildRealtimeURL` must return wss too), so the gateway is reached through TLS: a self-signed
certificate made here, trusted by Node through NODE_EXTRA_CA_CERTS, in front of the test server
(a TLS-terminating proxy, as a deployment's nginx would be).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.api.test_node_sdk import NODE_DIR
from tests.conftest import free_port
from tests.helpers import read_audio


class TlsProxy:
    """TLS on `port`, bytes passed to and from 127.0.0.1:`target` (in a thread with its own event loop)."""

    def __init__(self, target: int, cert: Path, key: Path):
        self.target = target
        self.port = free_port()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        assert started.wait(30), "the TLS proxy did not start"

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self.context))
        started.set()
        self.loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def tls(server, tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make the test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    proxy = TlsProxy(server.port, cert, key)
    yield proxy, cert
    proxy.stop()


def test_node_realtime_client_over_tls(server, client, tls, fixture_audio, tmp_path):
    proxy, cert = tls
    pcm = tmp_path / "fox.pcm"
    pcm.write_bytes((np.clip(read_audio(fixture_audio("en_fox.flac"), 24000), -1, 1) * 32767).astype("<i2").tobytes())
    secret = client.realtime.client_secrets.create(expires_after={"anchor": "created_at", "seconds": 600})
    assert shutil.which("node") and shutil.which("npm"), "node and npm are needed for the Node SDK suite"
    if not (NODE_DIR / "node_modules" / "openai").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=600)
    env = {
        **os.environ,
        "GATEWAY_TLS_BASE_URL": f"https://localhost:{proxy.port}/v1",
        "GATEWAY_EPHEMERAL_KEY": secret.value,
        "NODE_EXTRA_CA_CERTS": str(cert),
        "FIXTURE_PCM": str(pcm),
    }
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "realtime.test.mjs"],
        cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
