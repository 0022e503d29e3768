"""Per-workspace request counters: one item per workspace per minute, expiring through the TTL.

``PK = W#<ws>#Q#<minute>``, ``SK = #QUOTA``, attribute ``n``. A fresh partition each minute, so a
counter never grows a hot history; one item takes ~1,000 writes/s, far above any sane quota.
"""

from __future__ import annotations

from parley.store import table
from parley.store.workspaces import workspace_pk

_SK = "#QUOTA"


def count(workspace_id: str, minute: int, *, limit: int, expires_at: int) -> bool:
    """Add one request to the workspace's counter for ``minute``; False (nothing added) at the limit."""
    try:
        table.client().update_item(
            TableName=table.table_name(),
            Key=table.key(f"{workspace_pk(workspace_id)}#Q#{minute}", _SK),
            UpdateExpression="ADD n :one SET expires_at = if_not_exists(expires_at, :expires_at)",
            ConditionExpression="attribute_not_exists(n) OR n < :limit",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":limit": {"N": str(limit)},
                ":expires_at": {"N": str(expires_at)},
            },
            ReturnValues="NONE",
        )
    except table.client().exceptions.ConditionalCheckFailedException:
        return False
    return True
