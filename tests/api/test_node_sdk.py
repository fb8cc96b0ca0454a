"""A smaller suite through the official Node SDK (`openai` on npm): what only another client sends."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

NODE_DIR = Path(__file__).parent.parent / "node"


def test_node_sdk_suite(server, tmp_path):
    from tests.api.test_keywords_languages import DRUGS, SPANISH
    from tests.helpers import espeak_speech, piper_speech

    # speech the fixtures lack: drug names Whisper misspells without keywords, Spanish for languages[]
    (tmp_path / "drugs.flac").write_bytes(piper_speech(DRUGS))
    (tmp_path / "es.flac").write_bytes(espeak_speech(SPANISH, voice="es"))
    assert shutil.which("node") and shutil.which("npm"), "node and npm are needed for the Node SDK suite"
    if not (NODE_DIR / "node_modules" / "openai").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=600)
    env = {
        **os.environ,
        "GATEWAY_BASE_URL": server.base_url,
        "FIXTURES": str(NODE_DIR.parent / "fixtures"),
        "SPOKEN": str(tmp_path),
    }
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "transcriptions.test.mjs"],
        cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
