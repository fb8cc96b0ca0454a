"""Under CI=true a skip is a failure unless CI cannot provide for the test (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).parent.parent / "conftest.py"

SKIPPING = """
import pytest

def test_tool_missing():
    pytest.skip("espeak-ng is not installed")

@pytest.mark.gpu
def test_marked_gpu():
    pytest.skip("needs a GPU")

def test_reason_allowed():
    pytest.skip("no CUDA device")

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False

def test_runs():
    assert True
"""


def run_suite(tmp_path: Path, ci: str | None) -> tuple[str, str]:
    """(pytest's summary line, its whole output) for SKIPPING, run by a separate pytest under the suite's conftest."""
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "-o", "markers=gpu: a GPU", "-W", "default",
         "test_skipping.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1].strip("= ").split(" in ")[0], result.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_skip_fails_under_ci_unless_ci_cannot_provide(tmp_path, ci):
    summary, out = run_suite(tmp_path, ci)
    assert summary == "1 failed, 1 passed, 2 skipped, 1 xfailed", out  # gpu-marked and "no CUDA device" skip
    assert "FAILED test_skipping.py::test_tool_missing" in out, out
    assert "skipped under CI, which provides for this test" in out and "espeak-ng is not installed" in out


def test_outside_ci_a_skip_is_a_skip(tmp_path):
    summary, out = run_suite(tmp_path, None)
    assert summary == "1 passed, 3 skipped, 1 xfailed", out
