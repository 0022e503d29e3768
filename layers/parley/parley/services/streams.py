"""The WebSocket API's use cases: stream tokens, connections and subscriptions (DESIGN §5a).

A client connects (``$connect``, after the stream authorizer vouched for its key or token), subscribes
to conversations or jobs of its workspace, and receives the frames workers post while their turns run
(``parley.streaming``). Each route answers with one frame; refusals are ``error`` frames and the
connection stays open.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from parley import errors
from parley.store import connections as store
from parley.store import conversations as conversation_store
from parley.store import table

MAX_SUBSCRIPTIONS_PER_CONNECTION = store.MAX_SUBSCRIPTIONS_PER_CONNECTION
MAX_SUBSCRIBERS_PER_CONVERSATION = store.MAX_SUBSCRIBERS_PER_CONVERSATION
MAX_ID_CHARS = 100


def connect(connection_id: str, grant: Mapping[str, Any]) -> None:
    """Record a connection the authorizer admitted (``grant`` is its context)."""
    now = int(time.time())
    store.put_connection(
        {
            "connection_id": connection_id,
            "workspace_id": grant["workspace_id"],
            "key_id": grant.get("key_id"),
            # a stream token's conversations, comma-separated; "" for the whole workspace
            "scope": grant.get("scope") or "",
            "connected_at": now,
            "expires_at": now + store.CONNECTION_TTL_SECONDS,
        }
    )


def disconnect(connection_id: str, workspace_id: str | None) -> None:
    """Forget a connection and its subscriptions (``$disconnect``; the workspace is looked up when the
    event does not carry the authorizer's context)."""
    workspace_id = workspace_id or store.workspace_of(connection_id)
    if workspace_id:
        store.forget_connection(workspace_id, connection_id)


def subscribe(
    workspace_id: str, connection_id: str, scope: str, connected_at: int, frame: Mapping[str, Any]
) -> dict[str, Any]:
    """Subscribe a connection (its ``scope`` a stream token's conversations, "" for all) to the
    conversation or job the frame names, until the connection's two hours are up."""
    conversation_id, kind = _target(frame)
    allowed = [c for c in scope.split(",") if c]
    if allowed and conversation_id not in allowed:
        raise errors.Forbidden(f"This connection's stream token does not cover {conversation_id}.")
    conversation = conversation_store.get(workspace_id, conversation_id)
    if conversation is None or (kind == "job" and conversation.get("kind") != conversation_store.JOB_KIND):
        raise errors.Forbidden(f"No {kind} {conversation_id} in this workspace.")
    now = int(time.time())
    followed = store.subscribed_conversations(
        workspace_id, connection_id, limit=MAX_SUBSCRIPTIONS_PER_CONNECTION
    )
    if conversation_id not in followed:
        if len(followed) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise errors.Conflict(
                f"A connection follows at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} conversations; "
                "unsubscribe from one first."
            )
        streaming_to = store.subscribers(
            workspace_id, conversation_id, now=now, limit=MAX_SUBSCRIBERS_PER_CONVERSATION
        )
        if len(streaming_to) >= MAX_SUBSCRIBERS_PER_CONVERSATION:
            raise errors.TooManyRequests(
                f"{conversation_id} already streams to {MAX_SUBSCRIBERS_PER_CONVERSATION} connections.",
                retry_after=60,
            )
    try:
        store.subscribe(
            workspace_id,
            connection_id,
            conversation_id,
            now=now,
            expires_at=connected_at + store.CONNECTION_TTL_SECONDS,
        )
    except table.ConditionFailed as exc:
        raise errors.NotFound("This connection is no longer registered; reconnect.") from exc
    except LookupError as exc:
        raise errors.Forbidden(f"No {kind} {conversation_id} in this workspace.") from exc
    return {"type": "subscribed", f"{kind}_id": conversation_id, "conversation_id": conversation_id}


def unsubscribe(workspace_id: str, connection_id: str, frame: Mapping[str, Any]) -> dict[str, Any]:
    conversation_id, kind = _target(frame)
    if not store.unsubscribe(workspace_id, connection_id, conversation_id):
        raise errors.NotFound(f"This connection is not subscribed to {conversation_id}.")
    return {"type": "unsubscribed", f"{kind}_id": conversation_id, "conversation_id": conversation_id}


def _target(frame: Mapping[str, Any]) -> tuple[str, str]:
    """(conversation id, "conversation" or "job") named by exactly one of the frame's two fields."""
    given = [
        (frame[field], field.removesuffix("_id")) for field in ("conversation_id", "job_id") if field in frame
    ]
    if len(given) != 1:
        raise errors.BadRequest("Name exactly one of conversation_id or job_id.")
    value, kind = given[0]
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
        raise errors.BadRequest(f"{kind}_id must be a non-empty string of at most {MAX_ID_CHARS} characters.")
    return value, kind
