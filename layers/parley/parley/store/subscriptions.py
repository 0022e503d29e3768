"""Subscriptions: one workspace's read access to another's shared folder, written on both sides.

Three items, always written and deleted in one transaction:

* ``W#<subscriber>`` / ``SUB#<subscription_id>``: the subscriber's subscription (listed, read, and the
  item every shared read checks first);
* ``W#<subscriber>`` / ``SUBTO#<streamer>#<folder_id>`` → the subscription id: one subscription per
  shared folder, and how Shinkai's unsubscribe (by streamer and path) finds it;
* ``W#<streamer>`` / ``SBR#<folder_id>#<subscription_id>``: the streamer's "my subscribers" entry,
  which unsharing walks to end them all.

Creating one is a transaction with the share's liveness (store.shares.live_op) and, through a link,
the link's redemption (store.share_links.redeem_ops), so a subscription never outlives a share it was
checked against: unsharing deletes the share first, then the subscribers it then finds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "SUB#"
_TARGET_PREFIX = "SUBTO#"
_SUBSCRIBER_PREFIX = "SBR#"


def _sk(subscription_id: str) -> str:
    return _PREFIX + subscription_id


def _target_sk(streamer_id: str, folder_id: str) -> str:
    return f"{_TARGET_PREFIX}{streamer_id}#{folder_id}"


def _subscriber_sk(folder_id: str, subscription_id: str) -> str:
    return f"{_SUBSCRIBER_PREFIX}{folder_id}#{subscription_id}"


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK"}}


def create(subscription: Mapping[str, Any], preconditions: Sequence[Mapping[str, Any]]) -> None:
    """The subscription's three items after ``preconditions`` (the share's liveness, a link's
    redemption); raises table.TransactionCancelled, whose positions are the preconditions' first, then
    0: the record, 1: already subscribed to this folder, 2: the streamer's entry."""
    subscriber, streamer = subscription["workspace_id"], subscription["streamer_workspace_id"]
    folder_id, subscription_id = subscription["folder_id"], subscription["id"]
    table.transact(
        [
            *preconditions,
            table.put_op(
                {"PK": workspace_pk(subscriber), "SK": _sk(subscription_id), **subscription},
                "attribute_not_exists(PK)",
            ),
            table.put_op(
                {
                    "PK": workspace_pk(subscriber),
                    "SK": _target_sk(streamer, folder_id),
                    "subscription_id": subscription_id,
                },
                "attribute_not_exists(PK)",
            ),
            table.put_op(
                {
                    "PK": workspace_pk(streamer),
                    "SK": _subscriber_sk(folder_id, subscription_id),
                    **subscription,
                },
                "attribute_not_exists(PK)",
            ),
        ]
    )


def get(workspace_id: str, subscription_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """The subscriber's subscription, or None (another workspace's is as missing as none)."""
    item = table.get(workspace_pk(workspace_id), _sk(subscription_id), consistent=consistent)
    return _public(item) if item else None


def find(workspace_id: str, streamer_id: str, folder_id: str) -> dict[str, Any] | None:
    """The workspace's subscription to this streamer's folder, if any."""
    pointer = table.get(workspace_pk(workspace_id), _target_sk(streamer_id, folder_id), consistent=True)
    return get(workspace_id, str(pointer["subscription_id"]), consistent=True) if pointer else None


def list_for_workspace(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The workspace's subscriptions, oldest first."""
    page = table.query(workspace_pk(workspace_id), sk_prefix=_PREFIX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


def subscribers(
    workspace_id: str, folder_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The subscriptions to the streamer's folder, oldest first."""
    page = table.query(
        workspace_pk(workspace_id),
        sk_prefix=f"{_SUBSCRIBER_PREFIX}{folder_id}#",
        limit=limit,
        cursor=cursor,
    )
    return [_public(item) for item in page.items], page.cursor


def all_subscribers(workspace_id: str, folder_id: str) -> list[dict[str, Any]]:
    """Every subscription to the folder, read consistently (what unsharing ends)."""
    found = table.query_all(
        workspace_pk(workspace_id), sk_prefix=f"{_SUBSCRIBER_PREFIX}{folder_id}#", consistent=True
    )
    return [_public(item) for item in found]


def delete(subscription: Mapping[str, Any]) -> bool:
    """The three items, together; False if the subscription was already gone."""
    subscriber, streamer = subscription["workspace_id"], subscription["streamer_workspace_id"]
    folder_id, subscription_id = subscription["folder_id"], subscription["id"]
    try:
        table.transact(
            [
                table.delete_op(workspace_pk(subscriber), _sk(subscription_id), "attribute_exists(PK)"),
                table.delete_op(workspace_pk(subscriber), _target_sk(streamer, folder_id)),
                table.delete_op(workspace_pk(streamer), _subscriber_sk(folder_id, subscription_id)),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            return False
        raise
    return True
