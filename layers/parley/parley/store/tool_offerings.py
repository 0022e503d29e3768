"""Tool offerings: ``W#<ws>`` / ``TO#<tool key>``, one per tool a workspace offers to other workspaces.

A tool key (``local:::<toolkit>:::<tool>``) holds only letters, digits, ``_``, ``-`` and ``:``, so it
is a sort key as it is. Writes are conditional: a new offering only where there is none (two
concurrent first offers: one creates, the other updates it), a change only to an offering that is
still there, and a removal answers what it removed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "TO#"


def _sk(tool_key: str) -> str:
    return _PREFIX + tool_key


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK"}}


def get(workspace_id: str, tool_key: str, *, consistent: bool = False) -> dict[str, Any] | None:
    item = table.get(workspace_pk(workspace_id), _sk(tool_key), consistent=consistent)
    return _public(item) if item else None


def all_for_workspace(workspace_id: str) -> Iterator[dict[str, Any]]:
    """Every offering of the workspace, by tool key."""
    return (_public(item) for item in table.query_all(workspace_pk(workspace_id), sk_prefix=_PREFIX))


def create(workspace_id: str, offering: Mapping[str, Any]) -> bool:
    """Write a new offering; False if the tool is offered already (nothing written)."""
    item = {"PK": workspace_pk(workspace_id), "SK": _sk(offering["tool_key"]), **offering}
    try:
        table.client().put_item(
            TableName=table.table_name(),
            Item=table.to_item(item),
            ConditionExpression="attribute_not_exists(PK)",
        )
    except Exception as exc:
        if table.lost_condition(exc):
            return False
        raise
    return True


def update(workspace_id: str, tool_key: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Change an existing offering (fields set to None are removed); None if there is none."""
    try:
        item = table.update(workspace_pk(workspace_id), _sk(tool_key), **table.set_or_remove(changes))
    except table.ConditionFailed:
        return None
    return _public(item)


def delete(workspace_id: str, tool_key: str) -> dict[str, Any] | None:
    """Remove the offering; what it was, or None if there was none."""
    response = table.client().delete_item(
        TableName=table.table_name(),
        Key=table.key(workspace_pk(workspace_id), _sk(tool_key)),
        ReturnValues="ALL_OLD",
    )
    old = response.get("Attributes")
    return _public(table.from_item(old)) if old else None
