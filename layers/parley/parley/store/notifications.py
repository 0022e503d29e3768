"""Notifications: ``W#<ws>#N`` / ``N#<created_at>#<id>``, the workspace's event log, newest first.

The sort key starts with the RFC 3339 time (UTC, milliseconds, fixed width), so a reverse query lists
newest first and a ``before`` bound is a key range. An event is recorded once, where it is
published after the conditional write of its state change (parley.services.events), or in that
write's transaction (a turn's pause for tool outputs). Items carry
``expires_at`` (the table's TTL): notifications are a recent log, not an archive; DynamoDB deletes
expired items within days, so reads skip them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "N#"
_INTERNAL = frozenset({"PK", "SK", "expires_at"})
# Above every character of an id: the upper bound of "at or before" a time.
_AFTER_IDS = "~"


def _partition(workspace_id: str) -> str:
    return f"{workspace_pk(workspace_id)}#N"


def put(workspace_id: str, notification: Mapping[str, Any], *, expires_at: int) -> None:
    """Write (or write again, unchanged) one notification."""
    item = _item(workspace_id, notification, expires_at)
    table.client().put_item(TableName=table.table_name(), Item=table.to_item(item))


def put_op(workspace_id: str, notification: Mapping[str, Any], *, expires_at: int) -> dict[str, Any]:
    """``put`` as one operation of a transaction (the state change it tells of)."""
    return table.put_op(_item(workspace_id, notification, expires_at))


def _item(workspace_id: str, notification: Mapping[str, Any], expires_at: int) -> dict[str, Any]:
    return {
        "PK": _partition(workspace_id),
        "SK": f"{_PREFIX}{notification['created_at']}#{notification['id']}",
        "expires_at": expires_at,
        **notification,
    }


def newest(
    workspace_id: str,
    limit: int,
    cursor: str | None,
    *,
    before: str | None = None,
    inclusive: bool = False,
    now: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of notifications, newest first; ``before`` (an RFC 3339 time in the stored format)
    keeps only older ones (or those at that time too, when ``inclusive``)."""
    high = f"{_PREFIX}{before}{'#' + _AFTER_IDS if inclusive else ''}" if before else f"{_PREFIX}{_AFTER_IDS}"
    page = table.query(
        _partition(workspace_id),
        sk_between=(_PREFIX, high),
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    live = [item for item in page.items if int(item.get("expires_at") or 0) > now]
    return [{k: v for k, v in item.items() if k not in _INTERNAL} for item in live], page.cursor
