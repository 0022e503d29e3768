"""Agents: ``W#<ws>`` / ``A#<id>``. Which agent is the default is the workspace item's pointer
(store.workspaces), not a flag here, so there can never be two.

Every write that adds, moves or removes an agent's provider also moves that provider's agent count
(store.providers) in the same transaction; the conditions on ``provider_id`` keep the count exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "A#"
_PAGE = 100


def _sk(agent_id: str) -> str:
    return _PREFIX + agent_id


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK"}}


def put_op(workspace_id: str, agent: Mapping[str, Any]) -> dict[str, Any]:
    item = {"PK": workspace_pk(workspace_id), "SK": _sk(agent["id"]), **agent}
    return table.put_op(item, "attribute_not_exists(PK)")


def get(workspace_id: str, agent_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    item = table.get(workspace_pk(workspace_id), _sk(agent_id), consistent=consistent)
    return _public(item) if item else None


def list_for_workspace(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(workspace_pk(workspace_id), sk_prefix=_PREFIX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


# The workspace partition's own items that sort before the agents: the workspace (with the default
# pointer, store.workspaces) and its settings (store.settings).
_WORKSPACE = "#META"
_BEFORE_AGENTS = (_WORKSPACE, "#SETTINGS")


def list_with_default(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None, dict[str, Any] | None]:
    """A page of agents and, on a first page, the workspace item (which holds the default pointer) in
    the same query: it sorts just before the agents. None when the page did not reach it."""
    page = table.query(
        workspace_pk(workspace_id),
        # "A$" sorts right after every "A#…" key.
        sk_between=(_WORKSPACE, "A$"),
        markers=_BEFORE_AGENTS,
        limit=limit,
        cursor=cursor,
    )
    return [_public(item) for item in page.items], page.cursor, page.markers.get(_WORKSPACE)


def all_for_workspace(workspace_id: str) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        items, cursor = list_for_workspace(workspace_id, _PAGE, cursor)
        yield from items
        if cursor is None:
            return


def using_provider(workspace_id: str, provider_id: str) -> list[dict[str, Any]]:
    return [agent for agent in all_for_workspace(workspace_id) if agent.get("provider_id") == provider_id]


def update_op(
    workspace_id: str, agent_id: str, changes: Mapping[str, Any], *, provider_id: str
) -> dict[str, Any]:
    """Set the given fields (None removes one); fails unless the agent still uses ``provider_id``."""
    return table.update_op(
        workspace_pk(workspace_id),
        _sk(agent_id),
        **table.set_or_remove(changes),
        condition="attribute_exists(PK) AND provider_id = :expected_provider",
        values={":expected_provider": provider_id},
    )


def delete_op(workspace_id: str, agent_id: str, *, provider_id: str) -> dict[str, Any]:
    """Fails unless the agent exists and still uses ``provider_id`` (whose count the delete moves)."""
    return table.delete_op(
        workspace_pk(workspace_id),
        _sk(agent_id),
        "attribute_exists(PK) AND provider_id = :expected_provider",
        values={":expected_provider": provider_id},
    )
