"""Shares: ``W#<streamer>`` / ``SH#<folder_id>``, a folder (an inbox id) other workspaces may subscribe to.

Each share has a ``share_id`` minted when it is created and kept while it is updated; subscriptions and
links record it, and every read through them requires the live share to carry the same one, so a
folder unshared (and maybe shared again) never lets an old subscription or link back in, even before
their own items are cleaned up.

The share is written with a condition that its folder's inbox exists, and inbox deletion ends the
folder's shares afterwards (services.sharing.end_shares), so no share outlives its folder.

``files_page`` pages through the files of several folders (a shared folder's subtree) with one opaque
cursor: the position in the folder list and the inner folder's own cursor (which is bound to its
partition, so a forged one is refused by parley.store.table).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from parley import errors
from parley.store import files as file_store
from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "SH#"
_INBOX_PREFIX = "I#"


def _sk(folder_id: str) -> str:
    return _PREFIX + folder_id


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"PK", "SK"}}


def get(workspace_id: str, folder_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    item = table.get(workspace_pk(workspace_id), _sk(folder_id), consistent=consistent)
    return _public(item) if item else None


def create(workspace_id: str, share: Mapping[str, Any]) -> None:
    """A new share; ConditionFailed-like ``table.TransactionCancelled`` at 0 (already shared) or 1 (no
    such folder)."""
    item = {"PK": workspace_pk(workspace_id), "SK": _sk(share["folder_id"]), **share}
    table.transact(
        [
            table.put_op(item, "attribute_not_exists(PK)"),
            table.condition_check_op(
                workspace_pk(workspace_id), _INBOX_PREFIX + share["folder_id"], "attribute_exists(PK)"
            ),
        ]
    )


def update(workspace_id: str, folder_id: str, share_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change the share that has this ``share_id``; raises table.ConditionFailed if it is gone."""
    item = table.update(
        workspace_pk(workspace_id),
        _sk(folder_id),
        set_fields=changes,
        condition="attribute_exists(PK) AND share_id = :share_id",
        values={":share_id": share_id},
    )
    return _public(item)


def delete(workspace_id: str, folder_id: str) -> dict[str, Any] | None:
    """Remove the share; what it was, or None if there was none."""
    response = table.client().delete_item(
        TableName=table.table_name(),
        Key=table.key(workspace_pk(workspace_id), _sk(folder_id)),
        ReturnValues="ALL_OLD",
    )
    old = response.get("Attributes")
    return _public(table.from_item(old)) if old else None


def live_op(workspace_id: str, folder_id: str, share_id: str, *, open_only: bool = False) -> dict[str, Any]:
    """A transaction step that holds only while this share (this ``share_id``) is live (and open)."""
    condition = "attribute_exists(PK) AND share_id = :share_id"
    values: dict[str, Any] = {":share_id": share_id}
    if open_only:
        condition += " AND #open = :true"
        values[":true"] = True
    return table.condition_check_op(
        workspace_pk(workspace_id),
        _sk(folder_id),
        condition,
        names={"#open": "open"} if open_only else None,
        values=values,
    )


def list_for_workspace(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(workspace_pk(workspace_id), sk_prefix=_PREFIX, limit=limit, cursor=cursor)
    return [_public(item) for item in page.items], page.cursor


def all_for_workspace(workspace_id: str) -> list[dict[str, Any]]:
    """Every share of the workspace (a workspace shares few folders)."""
    return [_public(item) for item in table.query_all(workspace_pk(workspace_id), sk_prefix=_PREFIX)]


def get_many(workspace_id: str, folder_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The shares of these folders that exist, by folder id."""
    unique = list(dict.fromkeys(folder_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), 100):
        chunk = table.get_many(workspace_pk(workspace_id), [_sk(i) for i in unique[start : start + 100]])
        found.update({item["folder_id"]: _public(item) for item in chunk.values()})
    return found


# -- a shared folder's files ------------------------------------------------------------------------
def files_page(
    workspace_id: str, inbox_ids: list[str], limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` files of the inboxes, inbox by inbox in the order given, then by name."""
    position, inner = _decode(cursor, len(inbox_ids))
    found: list[dict[str, Any]] = []
    while position < len(inbox_ids) and len(found) < limit:
        items, inner = file_store.list_in_inbox(workspace_id, inbox_ids[position], limit - len(found), inner)
        found.extend(items)
        if inner is None:
            position += 1
    if position >= len(inbox_ids):
        return found, None
    return found, _encode(position, inner)


def _encode(position: int, inner: str | None) -> str:
    payload = json.dumps({"i": position, "c": inner}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode(cursor: str | None, count: int) -> tuple[int, str | None]:
    if not cursor:
        return 0, None
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position, inner = payload["i"], payload["c"]
        valid = (
            isinstance(position, int) and 0 <= position < count and (inner is None or isinstance(inner, str))
        )
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise errors.BadRequest("The cursor is not valid for this listing.")
    return position, inner
