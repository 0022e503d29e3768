"""Inboxes: ``W#<ws>`` / ``I#<id>``, a named group of files (Shinkai's files inbox).

``file_count`` counts the inbox's file records, whatever their status. File writes move it in the same
transaction that writes the file (store.files), and that step fails once the inbox is gone, so a file
can never be added to a deleted inbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "I#"
# BatchGetItem reads at most 100 keys per call.
_BATCH = 100


def _sk(inbox_id: str) -> str:
    return _PREFIX + inbox_id


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK"}}


def get(workspace_id: str, inbox_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """The inbox of this workspace, or None (another workspace's inbox is as missing as no inbox)."""
    item = table.get(workspace_pk(workspace_id), _sk(inbox_id), consistent=consistent)
    return _public(item) if item else None


def get_many(workspace_id: str, inbox_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Several inboxes of the workspace in one call, by id (missing ones are absent)."""
    unique = list(dict.fromkeys(inbox_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), _BATCH):
        chunk = table.get_many(workspace_pk(workspace_id), [_sk(i) for i in unique[start : start + _BATCH]])
        found.update({item["id"]: _public(item) for item in chunk.values()})
    return found


def create(workspace_id: str, inbox: Mapping[str, Any]) -> None:
    item = {"PK": workspace_pk(workspace_id), "SK": _sk(inbox["id"]), "file_count": 0, **inbox}
    table.transact([table.put_op(item, "attribute_not_exists(PK)")])


def list_for_workspace(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Oldest first (ids are ULIDs, so the sort key orders by creation)."""
    page = table.query(workspace_pk(workspace_id), sk_prefix=_PREFIX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


def update(workspace_id: str, inbox_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Set the given fields; the updated inbox, or None if there is none."""
    try:
        item = table.update(workspace_pk(workspace_id), _sk(inbox_id), set_fields=changes)
    except table.ConditionFailed:
        return None
    return _public(item)


def count_files_op(workspace_id: str, inbox_id: str, delta: int) -> dict[str, Any]:
    """Move the inbox's file count by ``delta``; fails if the inbox does not exist."""
    return table.update_op(workspace_pk(workspace_id), _sk(inbox_id), add={"file_count": delta})


def delete_pathless(workspace_id: str, inbox_id: str) -> dict[str, Any] | None:
    """Remove the inbox item if it has no path; returns what it was (None if there was none). Raises
    table.ConditionFailed if it has a path now: it was moved into the folder tree meanwhile, and a
    folder goes with its path index item (parley.services.folders)."""
    try:
        response = table.client().delete_item(
            TableName=table.table_name(),
            Key=table.key(workspace_pk(workspace_id), _sk(inbox_id)),
            ConditionExpression="attribute_not_exists(#path)",
            ExpressionAttributeNames={"#path": "path"},
            ReturnValues="ALL_OLD",
        )
    except Exception as exc:
        if table.lost_condition(exc):
            raise table.ConditionFailed(inbox_id) from exc
        raise
    old = response.get("Attributes")
    return _public(table.from_item(old)) if old else None
