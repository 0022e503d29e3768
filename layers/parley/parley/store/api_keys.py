"""API keys: a record under the workspace (for listing and revoking) and a lookup item by hash.

The lookup item (``K#<sha256>``) is what the authorizer reads; revoking deletes it in the same
transaction that stamps the record, so a revoked key stops working on its next request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley import errors
from parley.store import table
from parley.store.workspaces import workspace_pk

_LOOKUP_SK = "#KEY"
_RECORD_PREFIX = "KEY#"
_LOOKUP_FIELDS = ("workspace_id", "key_id", "role", "deployment_admin")


def _lookup_pk(secret_hash: str) -> str:
    return f"K#{secret_hash}"


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK", "secret_hash"}}


def put_ops(key: Mapping[str, Any], secret_hash: str) -> list[dict[str, Any]]:
    """The two items of a new key; both conditional so a duplicate can never overwrite."""
    record = {
        "PK": workspace_pk(key["workspace_id"]),
        "SK": _RECORD_PREFIX + key["id"],
        "secret_hash": secret_hash,
        **key,
    }
    lookup = {
        "PK": _lookup_pk(secret_hash),
        "SK": _LOOKUP_SK,
        "workspace_id": key["workspace_id"],
        "key_id": key["id"],
        "role": key["role"],
        "deployment_admin": bool(key.get("deployment_admin", False)),
    }
    return [
        table.put_op(record, "attribute_not_exists(PK)"),
        table.put_op(lookup, "attribute_not_exists(PK)"),
    ]


def lookup(secret_hash: str) -> dict[str, Any] | None:
    """The authorizer's read: which workspace and role a key (by its hash) stands for, if it is live."""
    item = table.get(_lookup_pk(secret_hash), _LOOKUP_SK)
    return {f: item.get(f) for f in _LOOKUP_FIELDS} if item else None


def get(workspace_id: str, key_id: str) -> dict[str, Any] | None:
    item = table.get(workspace_pk(workspace_id), _RECORD_PREFIX + key_id)
    return _public(item) if item else None


def list_for_workspace(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(workspace_pk(workspace_id), sk_prefix=_RECORD_PREFIX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


def revoke(workspace_id: str, key_id: str, revoked_at: str) -> None:
    item = table.get(workspace_pk(workspace_id), _RECORD_PREFIX + key_id, consistent=True)
    if item is None:
        raise errors.NotFound(f"API key {key_id} not found.")
    if item.get("revoked_at"):
        return  # revoking twice is the same as revoking once
    try:
        table.transact(
            [
                table.update_op(
                    workspace_pk(workspace_id),
                    _RECORD_PREFIX + key_id,
                    set_fields={"revoked_at": revoked_at},
                    condition="attribute_exists(PK) AND attribute_not_exists(revoked_at)",
                ),
                table.delete_op(_lookup_pk(item["secret_hash"]), _LOOKUP_SK),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            return  # a concurrent revoke won; the key is revoked either way
        raise


def key_is_live(workspace_id: str, key_id: str) -> bool:
    """The key exists and is not revoked (what a credential minted with it depends on)."""
    item = table.get(workspace_pk(workspace_id), _RECORD_PREFIX + key_id)
    return item is not None and not item.get("revoked_at")
