"""Workspace settings: one item, ``W#<ws>`` / ``#SETTINGS`` (absent until something is set).

Writes are checked against ``version`` (optimistic locking): a rule that spans fields (the default
embedding model is one of the supported ones) holds even when two writers race.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_SK = "#SETTINGS"
_INTERNAL = frozenset({"PK", "SK"})


def get(workspace_id: str, *, consistent: bool = False) -> dict[str, Any]:
    """The stored settings (an empty dict when none were ever set), with their ``version`` (0 if none)."""
    item = table.get(workspace_pk(workspace_id), _SK, consistent=consistent) or {}
    return {"version": 0, **{k: v for k, v in item.items() if k not in _INTERNAL}}


def put(workspace_id: str, changes: Mapping[str, Any], *, expected_version: int) -> dict[str, Any]:
    """Set the given fields if the settings are still at ``expected_version`` (raises
    table.ConditionFailed otherwise); the settings as they now are."""
    item = table.update(
        workspace_pk(workspace_id),
        _SK,
        set_fields={**changes, "version": expected_version + 1},
        condition="attribute_not_exists(PK) OR version = :expected",
        values={":expected": expected_version},
    )
    return {k: v for k, v in item.items() if k not in _INTERNAL}


# The deployment's own settings (Shinkai's node: its name, keys, local processing preference) are
# read by public endpoints, before any workspace is known: one item beside the setup marker.
_NODE = ("DEPLOYMENT", "#NODE")


def get_node(*, consistent: bool = False) -> dict[str, Any]:
    """The deployment's node settings (an empty dict until something is set)."""
    item = table.get(*_NODE, consistent=consistent) or {}
    return {k: v for k, v in item.items() if k not in _INTERNAL}


def put_node(changes: Mapping[str, Any], *, only_if_absent: str | None = None) -> dict[str, Any]:
    """Set the given node fields; with ``only_if_absent`` only while that field is unset (raises
    table.ConditionFailed otherwise). The node settings as they now are."""
    condition = f"attribute_not_exists({only_if_absent})" if only_if_absent else None
    item = table.update(*_NODE, set_fields=dict(changes), condition=condition)
    return {k: v for k, v in item.items() if k not in _INTERNAL}
