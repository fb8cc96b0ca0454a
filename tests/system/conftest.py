"""A headless browser for the playground tests: Debian's chromium driven by Playwright.

Playwright never downloads a browser here: it is pointed at /usr/bin/chromium, which
scripts/system-deps installs from Debian. The microphone is Chromium's fake capture device
playing a real recording, so recording is tested without a sound card.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import encode, read_audio

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

