"""HTTP API Lambda REQUEST authorizer (simple responses): API key -> workspace, key and role.

Unknown or revoked key -> "Unauthorized" (API Gateway answers 401); an X-Workspace-Id header naming
another workspace -> isAuthorized false (403). Keys come as ``Authorization: Bearer <key>`` or
``x-api-key: <key>``; only their SHA-256 is looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.ids import api_key_hash
from parley.observability import logger
from parley.store import api_keys


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    secret = _presented_key(headers)
    grant = api_keys.lookup(api_key_hash(secret)) if secret else None
    if grant is None:
        logger.info("rejected: unknown or revoked API key", extra={"route": event.get("routeKey")})
        raise Exception("Unauthorized")  # the exact message API Gateway maps to 401
    asked_workspace = headers.get("x-workspace-id")
    if asked_workspace and asked_workspace != grant["workspace_id"]:
        logger.info("rejected: X-Workspace-Id does not match the key", extra={"key_id": grant["key_id"]})
        return {"isAuthorized": False}
    return {
        "isAuthorized": True,
        "context": {
            "workspace_id": grant["workspace_id"],
            "key_id": grant["key_id"],
            "role": grant["role"],
            "deployment_admin": "true" if grant.get("deployment_admin") else "false",
        },
    }


def _presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key", "").strip() or None
