"""Turns: ``T#<turn id>`` items in the conversation's partition.

Unfinished turns carry ``OpenTurnPK``/``OpenTurnSK`` (the sparse OpenTurns index, sharded so no one
partition takes every write); ``OpenTurnSK`` starts with the moment the turn is overdue, so the
sweeper reads exactly the overdue ones. Finishing a turn removes both attributes.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.conversations import META, TURNS_END, conversation_pk

TURN_PREFIX = "T#"
OPEN_SHARDS = 8
_INTERNAL = {"PK", "SK", "OpenTurnPK", "OpenTurnSK"}
TERMINAL = frozenset({"completed", "failed", "cancelled", "expired"})
# Where a long poll stops: the turn is over, or it waits for the client's tool outputs.
SETTLED = TERMINAL | {"requires_action"}


def turn_sk(turn_id: str) -> str:
    return TURN_PREFIX + turn_id


def open_shard(turn_id: str) -> str:
    return f"OPEN#{zlib.crc32(turn_id.encode()) % OPEN_SHARDS}"


def open_key(turn_id: str, overdue_at: str) -> dict[str, str]:
    return {"OpenTurnPK": open_shard(turn_id), "OpenTurnSK": f"{overdue_at}#{turn_id}"}


def public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


def put_op(turn: Mapping[str, Any], overdue_at: str) -> dict[str, Any]:
    item = {
        "PK": conversation_pk(turn["workspace_id"], turn["conversation_id"]),
        "SK": turn_sk(turn["id"]),
        **open_key(turn["id"], overdue_at),
        **turn,
    }
    return table.put_op(item, "attribute_not_exists(PK)")


def get(
    workspace_id: str, conversation_id: str, turn_id: str, *, consistent: bool = False
) -> dict[str, Any] | None:
    item = table.get(conversation_pk(workspace_id, conversation_id), turn_sk(turn_id), consistent=consistent)
    return public(item) if item else None


def page(
    workspace_id: str,
    conversation_id: str,
    *,
    limit: int,
    cursor: str | None = None,
    newest_first: bool = True,
) -> tuple[list[dict[str, Any]], str | None]:
    found = listing(workspace_id, conversation_id, limit=limit, cursor=cursor, newest_first=newest_first)
    return found.items, found.cursor


def listing(
    workspace_id: str,
    conversation_id: str,
    *,
    limit: int,
    cursor: str | None = None,
    newest_first: bool = True,
) -> table.Page:
    """A page of turns; the range ends with the conversation's turn sentinel (a newest-first first page
    meets it: see conversations.listing_proof)."""
    found = table.query(
        conversation_pk(workspace_id, conversation_id),
        sk_between=(TURN_PREFIX, TURNS_END),
        markers=(TURNS_END,),
        limit=limit,
        cursor=cursor,
        newest_first=newest_first,
    )
    found.items = [public(item) for item in found.items]
    return found


def update(workspace_id: str, conversation_id: str, turn_id: str, **kwargs: Any) -> dict[str, Any]:
    """table.update on one turn (raises table.ConditionFailed)."""
    return public(table.update(conversation_pk(workspace_id, conversation_id), turn_sk(turn_id), **kwargs))


def update_op(workspace_id: str, conversation_id: str, turn_id: str, **kwargs: Any) -> dict[str, Any]:
    return table.update_op(conversation_pk(workspace_id, conversation_id), turn_sk(turn_id), **kwargs)


def overdue(shard: int, now: str, limit: int = 100) -> list[dict[str, Any]]:
    """Unfinished turns whose deadline (lease or queue deadline) is before ``now``, from one shard."""
    response = table.client().query(
        TableName=table.table_name(),
        IndexName=table.OPEN_TURNS_INDEX,
        KeyConditionExpression="OpenTurnPK = :shard AND OpenTurnSK < :now",
        ExpressionAttributeValues={":shard": {"S": f"OPEN#{shard}"}, ":now": {"S": now}},
        Limit=limit,
    )
    return [public(table.from_item(item)) for item in response.get("Items", [])]


def moved_on(workspace_id: str, conversation_id: str, turn_id: str, attempt: int) -> str | None:
    """Why the attempt ``attempt`` running this turn should stop: "cancel_requested", "skipped" (the
    turn is no longer this attempt's, or gone), or None (go on). One small consistent read."""
    response = table.client().get_item(
        TableName=table.table_name(),
        Key=table.key(conversation_pk(workspace_id, conversation_id), turn_sk(turn_id)),
        ProjectionExpression="#st, attempts, cancel_requested",
        ExpressionAttributeNames={"#st": "status"},
        ConsistentRead=True,
    )
    item = table.from_item(response.get("Item") or {})
    if item.get("status") != "running" or item.get("attempts") != attempt:
        return "skipped"
    return "cancel_requested" if item.get("cancel_requested") else None


def get_with_conversation(
    workspace_id: str, conversation_id: str, turn_id: str, *, consistent: bool = False
) -> dict[str, Any] | None:
    """A turn, only if its conversation still exists - in one read."""
    found = get_and_conversation(workspace_id, conversation_id, turn_id, consistent=consistent)
    return found[0] if found else None


def get_and_conversation(
    workspace_id: str, conversation_id: str, turn_id: str, *, consistent: bool = False
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A turn and its conversation's #META (raw), only if both exist - in one read."""
    pk = conversation_pk(workspace_id, conversation_id)
    found = table.get_many(pk, [META, turn_sk(turn_id)], consistent=consistent)
    if META not in found or turn_sk(turn_id) not in found:
        return None
    return public(found[turn_sk(turn_id)]), found[META]
