"""Fixtures shared by the API tests of the tenant-scoped endpoints (voice consents, voices).

A module using them defines `backend`: (backend name, running server, storage overrides).
"""

from __future__ import annotations

import pytest

from tests.helpers import KEY_A, KEY_B, sdk


@pytest.fixture(scope="module")
def alice(backend):
    return sdk(backend[1], KEY_A)


@pytest.fixture(scope="module")
def bob(backend):
    return sdk(backend[1], KEY_B)
