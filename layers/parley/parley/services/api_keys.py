"""API keys: created with a secret shown once, listed without it, revoked at once."""

from __future__ import annotations

from typing import Any

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.api_keys import ApiKey, ApiKeyListQuery, CreateApiKey, CreatedApiKey, RevokeQuery
from parley.models.base import Page
from parley.store import api_keys as store
from parley.store import table
from parley.store import workspaces as workspace_store

# Enough of the secret to recognise a key in a list, far too little to guess the rest.
_SHOWN_PREFIX_CHARS = 10


def new_key(
    workspace_id: str, name: str, role: str, *, deployment_admin: bool = False
) -> tuple[dict[str, Any], str]:
    """A key record and its secret; nothing is stored yet (callers add ``store.put_ops`` to a transaction)."""
    secret = ids.new_api_key_secret()
    record = {
        "id": ids.new_id("key"),
        "name": name,
        "role": role,
        "workspace_id": workspace_id,
        "prefix": secret[:_SHOWN_PREFIX_CHARS],
        "created_at": clock.iso(),
        "deployment_admin": deployment_admin,
    }
    return record, secret


def created(record: dict[str, Any], secret: str) -> CreatedApiKey:
    return CreatedApiKey(**_fields(record), secret=secret)


def target_workspace(principal: Principal, workspace_id: str | None) -> str:
    """The workspace a key request acts on: the caller's own, or any for the deployment admin."""
    if workspace_id is None or workspace_id == principal.workspace_id:
        return principal.workspace_id
    if not principal.deployment_admin:
        # Another tenant's workspace is reported as missing, not forbidden: existence is not leaked.
        raise errors.NotFound(f"Workspace {workspace_id} not found.")
    return workspace_id


def create(principal: Principal, body: CreateApiKey) -> CreatedApiKey:
    principal.require_admin()
    workspace_id = target_workspace(principal, body.workspace_id)
    record, secret = new_key(workspace_id, body.name, body.role)
    try:
        table.transact(
            [workspace_store.exists_op(workspace_id), *store.put_ops(record, ids.api_key_hash(secret))]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            raise errors.NotFound(f"Workspace {workspace_id} not found.") from exc
        raise
    return created(record, secret)


def list_keys(principal: Principal, query: ApiKeyListQuery) -> Page[ApiKey]:
    principal.require_admin()
    workspace_id = target_workspace(principal, query.workspace_id)
    items, cursor = store.list_for_workspace(workspace_id, query.limit, query.cursor)
    return Page[ApiKey](
        data=[ApiKey(**_fields(item)) for item in items], next_cursor=cursor, has_more=cursor is not None
    )


def revoke(principal: Principal, key_id: str, query: RevokeQuery) -> None:
    principal.require_admin()
    store.revoke(target_workspace(principal, query.workspace_id), key_id, clock.iso())


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ApiKey.model_fields}
