"""Folders: a folder is an inbox (``W#<ws>`` / ``I#<id>``) with a ``path``, and a path index item
``W#<ws>`` / ``FP#<path>`` → ``inbox_id`` that makes a path unique in its workspace.

The index item and the inbox's ``path`` are written in one transaction, always. The index item is
also in the Listing index (``ListPK = W#<ws>#FOLDERS#<parent path>``, ``ListSK = <name>``), so a
folder's subfolders are listed by name; a subtree is a prefix query of the table on ``FP#<path>/``
(strongly consistent, the slash keeps ``/ab`` out of ``/a``'s subtree).

Each folder inbox counts its direct subfolders in ``folder_count``: creating or deleting a subfolder
moves its parent's count in the same transaction, and a move requires every moved folder's count to
be what was read, so a subfolder created during a move fails the move instead of being left behind
at the old path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "FP#"
_INBOX_PREFIX = "I#"
_INTERNAL = frozenset({"PK", "SK", "ListPK", "ListSK"})


def _sk(path: str) -> str:
    return _PREFIX + path


def _inbox_sk(inbox_id: str) -> str:
    return _INBOX_PREFIX + inbox_id


def _children_pk(workspace_id: str, parent: str) -> str:
    return f"{workspace_pk(workspace_id)}#FOLDERS#{parent}"


def parent_of(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


def name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _index_item(workspace_id: str, path: str, inbox_id: str) -> dict[str, Any]:
    return {
        "PK": workspace_pk(workspace_id),
        "SK": _sk(path),
        "ListPK": _children_pk(workspace_id, parent_of(path)),
        "ListSK": name_of(path),
        "inbox_id": inbox_id,
        "path": path,
    }


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


# -- reads ------------------------------------------------------------------------------------------
def lookup(workspace_id: str, path: str, *, consistent: bool = False) -> str | None:
    """The inbox id at ``path``, or None."""
    item = table.get(workspace_pk(workspace_id), _sk(path), consistent=consistent)
    return str(item["inbox_id"]) if item else None


def descendants(workspace_id: str, path: str, limit: int) -> list[dict[str, Any]]:
    """``{path, inbox_id}`` of the folders under ``path`` (not itself), by path, at most ``limit`` + 1
    of them (so a caller can tell there are more than ``limit``)."""
    prefix = _sk("/" if path == "/" else path + "/")
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) <= limit:
        page = table.query(
            workspace_pk(workspace_id),
            sk_prefix=prefix,
            limit=min(100, limit + 1 - len(found)),
            cursor=cursor,
            consistent=True,
        )
        found.extend(_public(item) for item in page.items)
        cursor = page.cursor
        if cursor is None:
            break
    return found[: limit + 1]


def has_subfolders(workspace_id: str, path: str) -> bool:
    return bool(descendants(workspace_id, path, 0))


def children(
    workspace_id: str, parent: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the direct subfolders of ``parent`` (``{path, inbox_id}``), by name."""
    page = table.query(
        _children_pk(workspace_id, parent), index=table.LISTING_INDEX, limit=limit, cursor=cursor
    )
    return [_public(item) for item in page.items], page.cursor


# -- writes -----------------------------------------------------------------------------------------
def parent_count_op(workspace_id: str, parent_id: str, parent_path: str, delta: int) -> dict[str, Any]:
    """Move the parent's subfolder count; fails unless the parent is still the folder at that path."""
    return table.update_op(
        workspace_pk(workspace_id),
        _inbox_sk(parent_id),
        add={"folder_count": delta},
        condition="attribute_exists(PK) AND #path = :parent",
        names={"#path": "path"},
        values={":parent": parent_path},
    )


def create(workspace_id: str, inbox: Mapping[str, Any], parent_id: str | None) -> None:
    """Write a folder (an inbox with ``path``), its index item and its parent's count, all or nothing.

    Raises table.TransactionCancelled: position 1 the path exists, position 2 the parent is gone."""
    path = inbox["path"]
    operations = new_folder_ops(workspace_id, inbox)
    if parent_id is not None:
        operations.append(parent_count_op(workspace_id, parent_id, parent_of(path), 1))
    table.transact(operations)


def new_folder_ops(workspace_id: str, inbox: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The writes of a new folder: its inbox (position 0) and its path index item (position 1), each
    failing if it exists. Its parent's count is the caller's (``parent_count_op``)."""
    item = {"PK": workspace_pk(workspace_id), "SK": _inbox_sk(inbox["id"]), "file_count": 0, **inbox}
    return [
        table.put_op(item, "attribute_not_exists(PK)"),
        table.put_op(_index_item(workspace_id, inbox["path"], inbox["id"]), "attribute_not_exists(PK)"),
    ]


def move_ops(
    workspace_id: str,
    moves: list[tuple[dict[str, Any], str]],
    *,
    old_parent: tuple[str, str] | None,
    new_parent: tuple[str, str] | None,
    now: str,
) -> list[dict[str, Any]]:
    """The operations that move folders: ``moves`` is ``(inbox as read, new path)``; each inbox must
    still have its path and subfolder count. ``old_parent``/``new_parent`` are ``(id, path)`` of the
    top folder's parents whose counts move (None: the root, or no parent before)."""
    partition = workspace_pk(workspace_id)
    operations: list[dict[str, Any]] = []
    for inbox, new_path in moves:
        old_path = inbox.get("path")
        count = int(inbox.get("folder_count", 0))
        names = {"#path": "path", "#fc": "folder_count"}
        values: dict[str, Any] = {":zero": 0, ":count": count}
        if old_path is None:
            condition = "attribute_exists(PK) AND attribute_not_exists(#path)"
        else:
            condition = "attribute_exists(PK) AND #path = :old"
            values[":old"] = old_path
        condition += " AND (#fc = :count OR (attribute_not_exists(#fc) AND :count = :zero))"
        operations.append(
            table.update_op(
                partition,
                _inbox_sk(inbox["id"]),
                set_fields={"path": new_path, "updated_at": now},
                condition=condition,
                names=names,
                values=values,
            )
        )
        if old_path is not None:
            operations.append(
                table.delete_op(
                    partition,
                    _sk(old_path),
                    "#inbox = :inbox",
                    names={"#inbox": "inbox_id"},
                    values={":inbox": inbox["id"]},
                )
            )
        operations.append(
            table.put_op(_index_item(workspace_id, new_path, inbox["id"]), "attribute_not_exists(PK)")
        )
    if old_parent is not None:
        operations.append(parent_count_op(workspace_id, old_parent[0], old_parent[1], -1))
    if new_parent is not None:
        operations.append(parent_count_op(workspace_id, new_parent[0], new_parent[1], 1))
    return operations


def delete(workspace_id: str, inbox: Mapping[str, Any], parent_id: str | None) -> None:
    """Remove a folder that has no subfolders: its inbox item, its index item and its count in its
    parent, all or nothing. Raises table.TransactionCancelled (position 0: gone, moved or it has
    subfolders)."""
    partition = workspace_pk(workspace_id)
    path = inbox["path"]
    operations = [
        table.delete_op(
            partition,
            _inbox_sk(inbox["id"]),
            "attribute_exists(PK) AND #path = :path AND (attribute_not_exists(#fc) OR #fc = :zero)",
            names={"#path": "path", "#fc": "folder_count"},
            values={":path": path, ":zero": 0},
        ),
        table.delete_op(
            partition,
            _sk(path),
            "#inbox = :inbox",
            names={"#inbox": "inbox_id"},
            values={":inbox": inbox["id"]},
        ),
    ]
    if parent_id is not None:
        # The parent may be gone only if the tree is already broken; the count then has no owner.
        operations.append(
            table.update_op(
                partition,
                _inbox_sk(parent_id),
                add={"folder_count": -1},
                condition="attribute_exists(PK)",
            )
        )
    table.transact(operations)
