"""Stream tokens: short-lived credentials for the WebSocket API, minted with an API key.

Browsers cannot set headers on a WebSocket, and an API key in a URL ends up in access logs; a
stream token may travel in the URL (``?token=``) because it is scoped to one workspace (optionally
to some of its conversations), expires within minutes, and dies with the key that minted it.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from parley import clock
from parley.config import settings
from parley.http import Principal
from parley.ids import api_key_hash
from parley.models.streams import CreateStreamToken, StreamToken
from parley.store import connections as store
from parley.store import conversations as conversation_store

TOKEN_PREFIX = "st_"  # noqa: S105 - a prefix, not a secret


def mint_token(principal: Principal, body: CreateStreamToken) -> StreamToken:
    scope = list(dict.fromkeys(body.conversation_ids)) if body.conversation_ids else None
    for conversation_id in scope or ():
        conversation_store.require(principal.workspace_id, conversation_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = int(time.time()) + body.expires_in
    grant: dict[str, Any] = {
        "workspace_id": principal.workspace_id,
        "key_id": principal.key_id,
        "role": principal.role,
        "created_at": clock.iso(),
        "expires_at": expires_at,
    }
    if scope:
        grant["conversation_ids"] = scope
    store.put_token(api_key_hash(token), grant)
    return StreamToken(
        token=token,
        url=settings().stream_url or None,
        expires_at=clock.iso(datetime.fromtimestamp(expires_at, UTC)),
        conversation_ids=scope,
    )
