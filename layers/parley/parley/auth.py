"""Who an API key is: shared by the two authorizers (native routes deny; compat routes pass a reason).

Keys come as ``Authorization: Bearer <key>`` or ``x-api-key: <key>``; only their SHA-256 is looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley import quota
from parley.ids import api_key_hash
from parley.store import api_keys

# Why a request is not authenticated; compat routes answer each in their API's own error shape.
MISSING_KEY = "missing_key"
INVALID_KEY = "invalid_key"
WORKSPACE_MISMATCH = "workspace_mismatch"


def presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key", "").strip() or None


def authenticate(event: Mapping[str, Any]) -> tuple[dict[str, str] | None, str | None]:
    """(the context to pass to handlers, None) for a good key, else (None, the reason it is refused)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    secret = presented_key(headers)
    if not secret:
        return None, MISSING_KEY
    grant = api_keys.lookup(api_key_hash(secret))
    if grant is None:
        return None, INVALID_KEY
    asked_workspace = headers.get("x-workspace-id")
    if asked_workspace and asked_workspace != grant["workspace_id"]:
        return None, WORKSPACE_MISMATCH
    return {
        "workspace_id": grant["workspace_id"],
        "key_id": grant["key_id"],
        "role": grant["role"],
        "deployment_admin": "true" if grant.get("deployment_admin") else "false",
        # Counted here, where the workspace is first known; parley.http answers 429 over the quota.
        **quota.check(grant["workspace_id"]),
    }, None
