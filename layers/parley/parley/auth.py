"""Who an API key is: shared by the two authorizers (native routes deny; compat routes pass a reason).

Keys come as ``Authorization: Bearer <key>`` or ``x-api-key: <key>``; only their SHA-256 is looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley import quota
from parley.ids import API_KEY_PREFIX, api_key_hash
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


# -- the WebSocket API's $connect ------------------------------------------------------------------
# Subprotocol entries that carry a credential (browsers can set Sec-WebSocket-Protocol, no other header).
KEY_PROTOCOL = "parley.key."
TOKEN_PROTOCOL = "parley.token."  # noqa: S105 - a prefix, not a secret
# The subprotocol a $connect answers with when the client offered any (browsers require one back).
STREAM_PROTOCOL = "parley"
KEY_IN_QUERY = "key_in_query"


def offered_protocols(headers: Mapping[str, str]) -> list[str]:
    raw = headers.get("sec-websocket-protocol", "")
    return [entry.strip() for entry in raw.split(",") if entry.strip()]


def authenticate_stream(event: Mapping[str, Any], *, now: int) -> tuple[dict[str, str] | None, str | None]:
    """Who opens a WebSocket: an API key (header or ``parley.key.<key>`` subprotocol) or a stream
    token (``?token=`` or ``parley.token.<token>``). A raw API key in the query string is refused: URLs
    end up in access logs."""
    from parley.store import connections

    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = event.get("queryStringParameters") or {}
    protocols = offered_protocols(headers)
    key = presented_key(headers) or next(
        (p.removeprefix(KEY_PROTOCOL) for p in protocols if p.startswith(KEY_PROTOCOL)), None
    )
    token = query.get("token") or next(
        (p.removeprefix(TOKEN_PROTOCOL) for p in protocols if p.startswith(TOKEN_PROTOCOL)), None
    )
    if key is None and token is None:
        if any(name in query for name in ("api_key", "key", "apikey", "x-api-key")):
            return None, KEY_IN_QUERY
        return None, MISSING_KEY
    if token is not None and token.startswith(API_KEY_PREFIX):
        return None, KEY_IN_QUERY
    scope = ""
    if key is not None:
        grant = api_keys.lookup(api_key_hash(key))
    else:
        assert token is not None
        found = connections.lookup_token(api_key_hash(token), now=now)
        grant = None
        if found is not None and api_keys.key_is_live(found["workspace_id"], found["key_id"]):
            grant = found
            scope = ",".join(found.get("conversation_ids") or [])
    if grant is None:
        return None, INVALID_KEY
    return {
        "workspace_id": grant["workspace_id"],
        "key_id": grant["key_id"],
        "role": grant["role"],
        "scope": scope,
        **quota.check(grant["workspace_id"]),
    }, None
