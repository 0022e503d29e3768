"""Idempotency records: one item per (scope, Idempotency-Key), expiring through the table's TTL.

``PK = W#<scope>#IDEM#<sha256(key)>``, ``SK = #IDEM``: each key is its own partition (no hot
partition for a busy workspace), and the scope (the workspace, or ``public`` for unauthenticated
routes) is part of the key, so one workspace's key can never meet another's record.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_SK = "#IDEM"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"


def _pk(scope: str, key: str) -> str:
    return f"{workspace_pk(scope)}#IDEM#{hashlib.sha256(key.encode()).hexdigest()}"


def claim(
    scope: str, key: str, fingerprint: str, *, now: int, lease_until: int, expires_at: int
) -> dict[str, Any] | None:
    """Write an in-progress record for the key; None if it was free, else the record that holds it.

    A record whose TTL has passed (DynamoDB deletes them lazily) or whose in-progress lease ran out
    (the function died mid-request) counts as free."""
    item = {
        "PK": _pk(scope, key),
        "SK": _SK,
        "status": IN_PROGRESS,
        "fingerprint": fingerprint,
        "lease_until": lease_until,
        "expires_at": expires_at,
    }
    try:
        table.client().put_item(
            TableName=table.table_name(),
            Item=table.to_item(item),
            ConditionExpression=(
                "attribute_not_exists(PK) OR expires_at < :now"
                " OR (#status = :in_progress AND lease_until < :now)"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":now": {"N": str(now)}, ":in_progress": {"S": IN_PROGRESS}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except table.client().exceptions.ConditionalCheckFailedException as exc:
        old = exc.response.get("Item")
        if old:
            return table.from_item(old)
        # Not every DynamoDB implementation returns the old item: read it (strongly) instead.
        return table.get(_pk(scope, key), _SK, consistent=True) or {"status": IN_PROGRESS}
    return None


def complete(scope: str, key: str, fingerprint: str, response: Mapping[str, Any]) -> None:
    """Keep the response for replays (only if this request still holds the record)."""
    # A lost condition: the lease ran out and another request took the key over; its record wins.
    with contextlib.suppress(table.ConditionFailed):
        table.update(
            _pk(scope, key),
            _SK,
            set_fields={"status": COMPLETED, "response": dict(response)},
            remove=["lease_until"],
            condition="fingerprint = :fingerprint AND #held = :in_progress",
            names={"#held": "status"},
            values={":fingerprint": fingerprint, ":in_progress": IN_PROGRESS},
        )


def release(scope: str, key: str, fingerprint: str) -> None:
    """Forget the key, so that a retry runs again (the request failed without a result to keep)."""
    try:
        table.client().delete_item(
            TableName=table.table_name(),
            Key=table.key(_pk(scope, key), _SK),
            ConditionExpression="fingerprint = :fingerprint AND #status = :in_progress",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":fingerprint": {"S": fingerprint},
                ":in_progress": {"S": IN_PROGRESS},
            },
        )
    except table.client().exceptions.ConditionalCheckFailedException:
        pass
