"""Helpers for the system tests: the CLI run as a process, the playground page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / ".artifacts"


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 300):
    """`python -m gateway ARGS` with this checkout on the path; returns the CompletedProcess."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GATEWAY_"))}
    environment["PYTHONPATH"] = str(REPO)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=environment,
    )


def one_line(stderr: str) -> str:
    """The single line an error prints (fails when there is more, such as a traceback)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith("audio-gateway: ")
    return lines[0]


def open_playground(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_function("window.playground && window.playground.ready")


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
