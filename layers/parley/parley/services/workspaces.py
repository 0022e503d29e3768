"""Workspaces. The deployment admin (the key made at setup) manages all; any other key sees its own."""

from __future__ import annotations

from typing import Any

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.base import ListQuery, Page
from parley.models.workspaces import CreateWorkspace, Workspace
from parley.store import workspaces as store


def new_workspace(name: str) -> dict[str, Any]:
    return {"id": ids.new_id("ws"), "name": name, "created_at": clock.iso()}


def create(principal: Principal, body: CreateWorkspace) -> Workspace:
    if not principal.deployment_admin:
        raise errors.Forbidden("Only the deployment admin (the key created at setup) can create workspaces.")
    workspace = new_workspace(body.name)
    store.create(workspace)
    return Workspace(**workspace)


def get(principal: Principal, workspace_id: str) -> Workspace:
    if workspace_id != principal.workspace_id and not principal.deployment_admin:
        raise errors.NotFound(f"Workspace {workspace_id} not found.")
    workspace = store.get(workspace_id)
    if workspace is None:
        raise errors.NotFound(f"Workspace {workspace_id} not found.")
    return Workspace(**workspace)


def list_workspaces(principal: Principal, query: ListQuery) -> Page[Workspace]:
    if not principal.deployment_admin:
        own = store.get(principal.workspace_id)
        return Page[Workspace](data=[Workspace(**own)] if own else [])
    items, cursor = store.list_all(query.limit, query.cursor)
    return Page[Workspace](
        data=[Workspace(**item) for item in items], next_cursor=cursor, has_more=cursor is not None
    )
