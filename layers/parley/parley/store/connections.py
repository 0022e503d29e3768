"""WebSocket connections, their subscriptions, and the stream tokens that open them.

* A connection: ``W#<ws>#WS#<connection>`` / ``#CONN`` (who connected, the token's conversation scope).
* A subscription is written twice, in one transaction: under the conversation (``S#<connection>`` in
  the conversation's partition: what a worker streaming a turn reads, one query) and under the
  connection (``S#<conversation>`` in its partition: what ``$disconnect`` reads to clean up).
* A stream token: ``ST#<sha256>`` / ``#TOKEN`` (like an API key's lookup item, only its hash is kept),
  and a connection's pointer ``WS#<connection>`` / ``#CONN`` to its workspace: like API key lookups,
  the only items outside a workspace, because they are read before the workspace is known.

Every item carries ``expires_at`` (epoch seconds, the table's TTL attribute): API Gateway closes a
connection after two hours, so nothing here outlives one, even if ``$disconnect`` never ran. TTL
deletes within days, not at once: reads check ``expires_at`` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.conversations import META, conversation_pk
from parley.store.workspaces import workspace_pk

CONNECTION_SK = "#CONN"
SUBSCRIPTION_PREFIX = "S#"
TOKEN_SK = "#TOKEN"  # noqa: S105 - a sort key, not a secret
# API Gateway's maximum connection duration.
CONNECTION_TTL_SECONDS = 2 * 60 * 60
# On a conversation's #META: until when (epoch seconds) a subscription to it may still be live.
STREAMED_UNTIL = "streamed_until"
# A connection follows at most this many conversations, and a conversation streams to at most this
# many connections: a worker's fan-out per batch stays bounded.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
MAX_SUBSCRIBERS_PER_CONVERSATION = 25
_INTERNAL = {"PK", "SK"}


def connection_pk(workspace_id: str, connection_id: str) -> str:
    return f"{workspace_pk(workspace_id)}#WS#{connection_id}"


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


# -- connections ---------------------------------------------------------------------------------
def put_connection(connection: Mapping[str, Any]) -> None:
    """A new connection, and the pointer from its id to its workspace. Its id is API Gateway's, unique,
    so a repeated $connect just rewrites both."""
    item = {"PK": connection_pk(connection["workspace_id"], connection["connection_id"]), "SK": CONNECTION_SK}
    pointer = {
        "PK": _pointer_pk(connection["connection_id"]),
        "SK": CONNECTION_SK,
        "workspace_id": connection["workspace_id"],
        "expires_at": connection["expires_at"],
    }
    table.batch_write(puts=[{**item, **connection}, pointer])


def _pointer_pk(connection_id: str) -> str:
    return f"WS#{connection_id}"


def workspace_of(connection_id: str) -> str | None:
    """The workspace of a connection, by its id alone: API Gateway does not promise the authorizer's
    context on ``$disconnect``, so that route may know nothing else."""
    item = table.get(_pointer_pk(connection_id), CONNECTION_SK)
    return str(item["workspace_id"]) if item else None


def subscribed_conversations(workspace_id: str, connection_id: str, limit: int) -> list[str]:
    page = table.query(
        connection_pk(workspace_id, connection_id),
        sk_prefix=SUBSCRIPTION_PREFIX,
        limit=limit,
        consistent=True,
    )
    return [item["SK"].removeprefix(SUBSCRIPTION_PREFIX) for item in page.items]


def delete_connection(workspace_id: str, connection_id: str, conversation_ids: list[str]) -> None:
    """The connection, its subscriptions on both sides; already-deleted items are no error."""
    pk = connection_pk(workspace_id, connection_id)
    keys = [(pk, CONNECTION_SK), (_pointer_pk(connection_id), CONNECTION_SK)]
    for conversation_id in conversation_ids:
        keys.append((pk, SUBSCRIPTION_PREFIX + conversation_id))
        keys.append((conversation_pk(workspace_id, conversation_id), SUBSCRIPTION_PREFIX + connection_id))
    table.batch_write(deletes=keys)


def forget_connection(workspace_id: str, connection_id: str) -> None:
    """A connection and all its subscriptions (on $disconnect, or when a post found it gone)."""
    subscribed = subscribed_conversations(workspace_id, connection_id, MAX_SUBSCRIPTIONS_PER_CONNECTION)
    delete_connection(workspace_id, connection_id, subscribed)


# -- subscriptions -------------------------------------------------------------------------------
def subscribe(
    workspace_id: str, connection_id: str, conversation_id: str, *, now: int, expires_at: int
) -> None:
    """Both sides of a subscription, if the connection is still there (else ConditionFailed) and the
    conversation too (else LookupError)."""
    record = {"connection_id": connection_id, "conversation_id": conversation_id, "subscribed_at": now}
    on_conversation = {
        "PK": conversation_pk(workspace_id, conversation_id),
        "SK": SUBSCRIPTION_PREFIX + connection_id,
        "expires_at": expires_at,
        **record,
    }
    on_connection = {
        "PK": connection_pk(workspace_id, connection_id),
        "SK": SUBSCRIPTION_PREFIX + conversation_id,
        "expires_at": expires_at,
        **record,
    }
    try:
        table.transact(
            [
                table.condition_check_op(
                    connection_pk(workspace_id, connection_id),
                    CONNECTION_SK,
                    "attribute_exists(PK) AND expires_at > :now",
                    values={":now": now},
                ),
                table.put_op(on_conversation),
                table.put_op(on_connection),
                # Workers read the conversation anyway: this tells them whether to look for
                # subscribers at all (most conversations are never streamed).
                # (now + a connection's longest life: never earlier than another live subscription's end)
                table.update_op(
                    conversation_pk(workspace_id, conversation_id),
                    META,
                    set_fields={STREAMED_UNTIL: now + CONNECTION_TTL_SECONDS},
                ),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            raise table.ConditionFailed("the connection is gone") from exc
        if exc.failed_at(3):
            raise LookupError("the conversation is gone") from exc
        raise


def unsubscribe(workspace_id: str, connection_id: str, conversation_id: str) -> bool:
    """False if the connection was not subscribed to it."""
    try:
        table.transact(
            [
                table.delete_op(
                    connection_pk(workspace_id, connection_id),
                    SUBSCRIPTION_PREFIX + conversation_id,
                    "attribute_exists(PK)",
                ),
                table.delete_op(
                    conversation_pk(workspace_id, conversation_id), SUBSCRIPTION_PREFIX + connection_id
                ),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            return False
        raise
    return True


def subscribers(workspace_id: str, conversation_id: str, *, now: int, limit: int) -> list[str]:
    """The live connections subscribed to a conversation (at most ``limit``)."""
    page = table.query(
        conversation_pk(workspace_id, conversation_id), sk_prefix=SUBSCRIPTION_PREFIX, limit=limit
    )
    return [item["connection_id"] for item in page.items if int(item.get("expires_at") or 0) > now]


# -- stream tokens -------------------------------------------------------------------------------
def put_token(token_hash: str, grant: Mapping[str, Any]) -> None:
    """``grant`` holds ``key_hash``, the hash of the API key that minted it: a revoked key's tokens
    stop working with it."""
    item = {"PK": f"ST#{token_hash}", "SK": TOKEN_SK, **grant}
    table.client().put_item(
        TableName=table.table_name(), Item=table.to_item(item), ConditionExpression="attribute_not_exists(PK)"
    )


def lookup_token(token_hash: str, *, now: int) -> dict[str, Any] | None:
    """What a live token grants (workspace, key, role, conversation scope); None if unknown or expired."""
    item = table.get(f"ST#{token_hash}", TOKEN_SK)
    if item is None or int(item.get("expires_at") or 0) <= now:
        return None
    return _public(item)
