"""Share links: a token that subscribes whoever presents it to one share, once or until it expires.

Two items, as for API keys (store.api_keys): the record under the streamer's workspace
(``W#<ws>`` / ``SHL#<folder_id>#<link_id>``, for listing and revoking) and a lookup item by the
token's SHA-256 (``L#<sha256>`` / ``#LINK``). The lookup item is, with API keys, one of the few items
not under a workspace: a token is presented by another workspace, which cannot know the streamer's
partition; it holds no data beyond where the link points. The token itself is never stored.

A redemption is one step of the subscription's transaction (``redeem_op``): it holds only while the
lookup item exists (revoking deletes it), the link has not expired (``valid_until``, epoch seconds;
``expires_at`` is the table's TTL that later removes it) and, for a single-use link, it has not been
consumed, and it marks the link consumed. Two redemptions of a single-use link race on that
condition: one transaction commits, the other is cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_LOOKUP_SK = "#LINK"
_PREFIX = "SHL#"
# An expired link's lookup item is removed by TTL a day after it stops working.
_TTL_GRACE_SECONDS = 24 * 3600
_POINTER = ("workspace_id", "folder_id", "link_id", "share_id", "single_use", "valid_until")


def _lookup_pk(token_hash: str) -> str:
    return f"L#{token_hash}"


def _sk(folder_id: str, link_id: str) -> str:
    return f"{_PREFIX}{folder_id}#{link_id}"


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK", "token_hash"}}


def create(workspace_id: str, link: Mapping[str, Any], token_hash: str, valid_until: int | None) -> None:
    """Both items of a new link, each conditional so nothing is ever overwritten."""
    record = {"PK": workspace_pk(workspace_id), "SK": _sk(link["folder_id"], link["id"]), **link}
    record["token_hash"] = token_hash
    lookup: dict[str, Any] = {
        "PK": _lookup_pk(token_hash),
        "SK": _LOOKUP_SK,
        "workspace_id": workspace_id,
        "folder_id": link["folder_id"],
        "link_id": link["id"],
        "share_id": link["share_id"],
        "single_use": bool(link["single_use"]),
    }
    if valid_until is not None:
        lookup["valid_until"] = valid_until
        lookup["expires_at"] = valid_until + _TTL_GRACE_SECONDS
    table.transact(
        [
            table.put_op(record, "attribute_not_exists(PK)"),
            table.put_op(lookup, "attribute_not_exists(PK)"),
        ]
    )


def lookup(token_hash: str) -> dict[str, Any] | None:
    """Where a token points (whatever its state; the redemption's condition decides)."""
    item = table.get(_lookup_pk(token_hash), _LOOKUP_SK, consistent=True)
    return {f: item.get(f) for f in _POINTER} if item else None


def redeem_ops(
    token_hash: str, pointer: Mapping[str, Any], now: int, by: str, at: str
) -> list[dict[str, Any]]:
    """Two transaction steps: consume the lookup item (conditionally) and stamp the record."""
    condition = "attribute_exists(PK) AND (attribute_not_exists(valid_until) OR valid_until > :now)"
    if pointer.get("single_use"):
        condition += " AND attribute_not_exists(consumed_at)"
    return [
        table.update_op(
            _lookup_pk(token_hash),
            _LOOKUP_SK,
            set_fields={"consumed_at": at},
            condition=condition,
            values={":now": now},
        ),
        table.update_op(
            workspace_pk(str(pointer["workspace_id"])),
            _sk(str(pointer["folder_id"]), str(pointer["link_id"])),
            set_fields={"consumed_at": at, "consumed_by": by},
            add={"redemptions": 1},
        ),
    ]


def list_for_folder(
    workspace_id: str, folder_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(
        workspace_pk(workspace_id), sk_prefix=f"{_PREFIX}{folder_id}#", limit=limit, cursor=cursor
    )
    return [_public(item) for item in page.items], page.cursor


def get(
    workspace_id: str, folder_id: str, link_id: str, *, consistent: bool = False
) -> dict[str, Any] | None:
    item = table.get(workspace_pk(workspace_id), _sk(folder_id, link_id), consistent=consistent)
    return _public(item) if item else None


def revoke(workspace_id: str, folder_id: str, link_id: str, revoked_at: str) -> dict[str, Any] | None:
    """Stamp the record and delete the lookup item in one transaction (a revoked link stops working
    at once); the record as it now is, or None if there is no such link."""
    item = table.get(workspace_pk(workspace_id), _sk(folder_id, link_id), consistent=True)
    if item is None:
        return None
    if item.get("revoked_at"):
        return _public(item)
    try:
        table.transact(
            [
                table.update_op(
                    workspace_pk(workspace_id),
                    _sk(folder_id, link_id),
                    set_fields={"revoked_at": revoked_at},
                    condition="attribute_exists(PK) AND attribute_not_exists(revoked_at)",
                ),
                table.delete_op(_lookup_pk(item["token_hash"]), _LOOKUP_SK),
            ]
        )
    except table.TransactionCancelled as exc:
        if not exc.failed_at(0):
            raise
        # revoked (or deleted) concurrently: that outcome stands
    current = table.get(workspace_pk(workspace_id), _sk(folder_id, link_id), consistent=True)
    return _public(current) if current else None


def delete_all(workspace_id: str, folder_id: str) -> None:
    """Every link of the folder, records and lookup items (an unshared folder's links)."""
    doomed: list[tuple[str, str]] = []
    for item in table.query_all(workspace_pk(workspace_id), sk_prefix=f"{_PREFIX}{folder_id}#"):
        doomed.append((item["PK"], item["SK"]))
        doomed.append((_lookup_pk(item["token_hash"]), _LOOKUP_SK))
    if doomed:
        table.batch_write(deletes=doomed)
