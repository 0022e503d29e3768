"""Workspaces (the tenants) and the deployment's one-time setup marker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley import errors
from parley.store import table

# The setup marker and API key lookups are the only items outside a workspace's partitions:
# they are read before anyone knows which workspace a request belongs to.
_SETUP = ("DEPLOYMENT", "#SETUP")
_ALL_WORKSPACES = "WORKSPACES"
_META = "#META"


def workspace_pk(workspace_id: str) -> str:
    return f"W#{workspace_id}"


def _item(workspace: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "PK": workspace_pk(workspace["id"]),
        "SK": _META,
        "ListPK": _ALL_WORKSPACES,
        "ListSK": workspace["id"],
        **workspace,
    }


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK", "ListPK", "ListSK"}}


def put_op(workspace: Mapping[str, Any]) -> dict[str, Any]:
    return table.put_op(_item(workspace), "attribute_not_exists(PK)")


def exists_op(workspace_id: str) -> dict[str, Any]:
    """A transaction step that fails unless the workspace exists."""
    return table.condition_check_op(workspace_pk(workspace_id), _META, "attribute_exists(PK)")


def setup_op(workspace_id: str, created_at: str) -> dict[str, Any]:
    return table.put_op(
        {"PK": _SETUP[0], "SK": _SETUP[1], "workspace_id": workspace_id, "created_at": created_at},
        "attribute_not_exists(PK)",
    )


def create(workspace: Mapping[str, Any]) -> None:
    try:
        table.transact([put_op(workspace)])
    except table.TransactionCancelled as exc:
        raise errors.Conflict(f"Workspace {workspace['id']} already exists.") from exc


def get(workspace_id: str) -> dict[str, Any] | None:
    item = table.get(workspace_pk(workspace_id), _META)
    return _public(item) if item else None


def list_all(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(_ALL_WORKSPACES, index=table.LISTING_INDEX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


def is_set_up() -> bool:
    return table.get(*_SETUP, consistent=True) is not None


# -- the default agent: a pointer on the workspace item, so there is never more than one ---------------
def default_agent_id(workspace_id: str, *, consistent: bool = False) -> str | None:
    item = table.get(workspace_pk(workspace_id), _META, consistent=consistent)
    return item.get("default_agent_id") if item else None


def set_default_agent_op(workspace_id: str, agent_id: str, *, only_if_unset: bool = False) -> dict[str, Any]:
    """Point the workspace's default at ``agent_id``; fails if the workspace is missing (or has one)."""
    condition = "attribute_exists(PK)"
    if only_if_unset:
        condition += " AND attribute_not_exists(default_agent_id)"
    return table.update_op(
        workspace_pk(workspace_id),
        _META,
        set_fields={"default_agent_id": agent_id},
        condition=condition,
    )


def clear_default_agent_op(workspace_id: str, agent_id: str) -> dict[str, Any]:
    """Remove the default pointer; fails unless it points at ``agent_id``."""
    return table.update_op(
        workspace_pk(workspace_id),
        _META,
        remove=("default_agent_id",),
        condition="default_agent_id = :agent",
        values={":agent": agent_id},
    )


def not_default_agent_op(workspace_id: str, agent_id: str) -> dict[str, Any]:
    """A transaction step that fails if ``agent_id`` is the default (it changed since it was read)."""
    return table.condition_check_op(
        workspace_pk(workspace_id),
        _META,
        "attribute_not_exists(default_agent_id) OR default_agent_id <> :agent",
        values={":agent": agent_id},
    )
