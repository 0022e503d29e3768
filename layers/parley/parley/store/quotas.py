"""Per-workspace request counters: one item per workspace per minute, expiring through the TTL.

``PK = W#<ws>#Q#<minute>``, ``SK = #QUOTA``, attribute ``n``: the requests admitted or reserved in
that minute. A fresh partition each minute, so a counter never grows a hot history; one item takes
~1,000 writes/s, far above any sane quota.
"""

from __future__ import annotations

from parley.store import table
from parley.store.workspaces import workspace_pk

_SK = "#QUOTA"


def reserve(workspace_id: str, minute: int, wanted: int, *, limit: int, expires_at: int) -> int:
    """Add ``wanted`` requests to the workspace's counter for ``minute`` if the limit allows them all,
    else one if it allows one; how many were added (0: the limit is reached)."""
    for size in dict.fromkeys((min(wanted, limit), 1)):
        if _add(workspace_id, minute, size, limit=limit, expires_at=expires_at):
            return size
    return 0


def _add(workspace_id: str, minute: int, size: int, *, limit: int, expires_at: int) -> bool:
    try:
        table.client().update_item(
            TableName=table.table_name(),
            Key=table.key(f"{workspace_pk(workspace_id)}#Q#{minute}", _SK),
            UpdateExpression="ADD n :size SET expires_at = if_not_exists(expires_at, :expires_at)",
            ConditionExpression="attribute_not_exists(n) OR n <= :room",
            ExpressionAttributeValues={
                ":size": {"N": str(size)},
                ":room": {"N": str(limit - size)},
                ":expires_at": {"N": str(expires_at)},
            },
            ReturnValues="NONE",
        )
    except Exception as exc:
        if table.lost_condition(exc):
            return False
        raise
    return True
