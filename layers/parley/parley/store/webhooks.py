"""Webhooks: ``W#<ws>`` / ``H#<id>``, and their signing secrets in Secrets Manager.

The secret is not in the table: it lives under ``<webhook_secrets_prefix><workspace>/<webhook>``
(the functions' policies are scoped to that prefix), like a provider's API key.
Delivery counters are plain numbers moved with ADD, so concurrent deliveries never lose a count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.config import settings
from parley.store import secrets, table
from parley.store.workspaces import workspace_pk

_PREFIX = "H#"
_INTERNAL = frozenset({"PK", "SK"})
# The delivery counters, by the name the API shows them under.
COUNTERS = {"attempts": "attempt_count", "succeeded": "success_count", "failed": "failure_count"}


def _sk(webhook_id: str) -> str:
    return _PREFIX + webhook_id


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


def create(workspace_id: str, webhook: Mapping[str, Any]) -> None:
    item = {"PK": workspace_pk(workspace_id), "SK": _sk(webhook["id"]), **webhook}
    table.transact([table.put_op(item, "attribute_not_exists(PK)")])


def put(workspace_id: str, webhook: Mapping[str, Any]) -> None:
    """Create or replace a webhook whole (a callback, whose id its conversation determines)."""
    item = {"PK": workspace_pk(workspace_id), "SK": _sk(webhook["id"]), **webhook}
    table.transact([table.put_op(item)])


def get(workspace_id: str, webhook_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    item = table.get(workspace_pk(workspace_id), _sk(webhook_id), consistent=consistent)
    return _public(item) if item else None


def list_for_workspace(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(workspace_pk(workspace_id), sk_prefix=_PREFIX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


def all_for_workspace(workspace_id: str) -> list[dict[str, Any]]:
    """Every webhook of a workspace (endpoints and callbacks), for the dispatcher."""
    return [_public(item) for item in table.query_all(workspace_pk(workspace_id), sk_prefix=_PREFIX)]


def any_for_workspace(workspace_id: str) -> bool:
    """Whether the workspace has a webhook or callback at all: one key-only read of at most one item
    (what decides whether its events go on the bus)."""
    response = table.client().query(
        TableName=table.table_name(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": workspace_pk(workspace_id)}, ":prefix": {"S": _PREFIX}},
        ProjectionExpression="PK",
        Limit=1,
    )
    return bool(response.get("Items"))


def update(workspace_id: str, webhook_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Set the given fields (None removes one); the updated webhook, or None if there is none."""
    try:
        item = table.update(
            workspace_pk(workspace_id),
            _sk(webhook_id),
            **table.set_or_remove(changes),
        )
    except table.ConditionFailed:
        return None
    return _public(item)


def record_outcome(
    workspace_id: str, webhook_id: str, fields: Mapping[str, Any], counters: Mapping[str, int]
) -> bool:
    """Record a delivery attempt's outcome; False if the webhook is gone."""
    try:
        table.update(
            workspace_pk(workspace_id),
            _sk(webhook_id),
            **table.set_or_remove(fields),
            add={COUNTERS[name]: count for name, count in counters.items()},
        )
    except table.ConditionFailed:
        return False
    return True


def delete(workspace_id: str, webhook_id: str) -> bool:
    """False if there was no such webhook."""
    try:
        table.transact([table.delete_op(workspace_pk(workspace_id), _sk(webhook_id), "attribute_exists(PK)")])
    except table.TransactionCancelled:
        return False
    return True


# -- signing secrets ------------------------------------------------------------------------------
def secret_name(workspace_id: str, webhook_id: str) -> str:
    return f"{settings().webhook_secrets_prefix}{workspace_id}/{webhook_id}"


def put_secret(workspace_id: str, webhook_id: str, value: str) -> None:
    """Create the secret, or store a new value if it exists (a rotation)."""
    secrets.put_named(
        secret_name(workspace_id, webhook_id),
        value,
        description="Signing secret of a Parley webhook",
        tags={"parley:workspace": workspace_id, "parley:webhook": webhook_id},
    )


def get_secret(workspace_id: str, webhook_id: str) -> str | None:
    return secrets.get_named(secret_name(workspace_id, webhook_id))


def delete_secret(workspace_id: str, webhook_id: str) -> None:
    secrets.delete_named(secret_name(workspace_id, webhook_id))
