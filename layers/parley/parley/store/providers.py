"""Providers: ``W#<ws>`` / ``P#<id>``. The API key is not here: it lives in Secrets Manager (store.secrets).

``agent_count`` counts the agents that use a provider. Agent writes move it in the same transaction
that writes the agent, so deleting a provider can be refused atomically while agents still need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "P#"
_INTERNAL = frozenset({"PK", "SK", "agent_count"})


def _sk(provider_id: str) -> str:
    return _PREFIX + provider_id


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


def put_op(workspace_id: str, provider: Mapping[str, Any], *, agents: int = 0) -> dict[str, Any]:
    """A new provider (``agents``: how many agents written in the same transaction use it)."""
    item = {"PK": workspace_pk(workspace_id), "SK": _sk(provider["id"]), **provider}
    if agents:
        item["agent_count"] = agents
    return table.put_op(item, "attribute_not_exists(PK)")


def create(workspace_id: str, provider: Mapping[str, Any]) -> None:
    table.transact([put_op(workspace_id, provider)])


def get(workspace_id: str, provider_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    item = table.get(workspace_pk(workspace_id), _sk(provider_id), consistent=consistent)
    return _public(item) if item else None


def list_for_workspace(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(workspace_pk(workspace_id), sk_prefix=_PREFIX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


def update(workspace_id: str, provider_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Set the given fields (None removes one); the updated provider, or None if there is none."""
    try:
        item = table.update(
            workspace_pk(workspace_id),
            _sk(provider_id),
            **table.set_or_remove(changes),
        )
    except table.ConditionFailed:
        return None
    return _public(item)


def delete_op(workspace_id: str, provider_id: str) -> dict[str, Any]:
    """Fails unless the provider exists and no agent uses it."""
    return table.delete_op(
        workspace_pk(workspace_id),
        _sk(provider_id),
        "attribute_exists(PK) AND (attribute_not_exists(agent_count) OR agent_count <= :none)",
        values={":none": 0},
    )


def count_agents_op(workspace_id: str, provider_id: str, delta: int) -> dict[str, Any]:
    """Move the provider's agent count by ``delta``; fails if the provider does not exist."""
    return table.update_op(
        workspace_pk(workspace_id),
        _sk(provider_id),
        add={"agent_count": delta},
    )
