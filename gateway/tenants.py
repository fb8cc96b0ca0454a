"""Tenants: every stored object and rate limit belongs to one; one tenant per API key."""

from __future__ import annotations

import hashlib
from typing import Any

DEFAULT_TENANT = "default"
"""The tenant of every request when no API keys are configured."""


def tenant_of(api_key: str) -> str:
    """A stable, non-secret tenant id for an API key."""
    return "key_" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def request_tenant(request: Any) -> str:
    """The tenant `ApiKeyMiddleware` gave this request (the default tenant when auth is off)."""
    tenant: str = request.scope.get("state", {}).get("tenant", DEFAULT_TENANT)
    return tenant
