"""Memories: facts about one end user of a workspace.

Three kinds of item, every key under the workspace:

* the memory: ``W#<ws>#U#<user>`` / ``MEM#<id>``, so one read of the user's partition gives all of a
  user's memories (recall, deduplication). It also carries ``ListPK = W#<ws>#MEMORIES`` and
  ``ListSK = <updated_at>#<id>``: the Listing index lists (and searches) a workspace's memories across
  users, most recently updated first.
* a reference ``W#<ws>#MEM#<id>`` / ``#USER`` naming the memory's user, so a memory can be addressed
  by its id alone (``GET /v1/memories/{id}``) and found in one more read.
* a counter ``W#<ws>#U#<user>`` / ``#MEMORIES`` holding how many memories the user has, moved in the
  same transaction as every create and delete, so the per-user cap holds under concurrent writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from parley.store import table
from parley.store.workspaces import workspace_pk

_PREFIX = "MEM#"
_REFERENCE = "#USER"
_COUNTER = "#MEMORIES"
_INTERNAL = frozenset({"PK", "SK", "ListPK", "ListSK"})
_PAGE = 200


class CapReached(Exception):
    """The user already has the most memories one user may have."""


def user_pk(workspace_id: str, user_id: str) -> str:
    return f"{workspace_pk(workspace_id)}#U#{user_id}"


def _reference_pk(workspace_id: str, memory_id: str) -> str:
    return f"{workspace_pk(workspace_id)}#MEM#{memory_id}"


def _listing_pk(workspace_id: str) -> str:
    return f"{workspace_pk(workspace_id)}#MEMORIES"


def _listing_sk(updated_at: str, memory_id: str) -> str:
    return f"{updated_at}#{memory_id}"


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


def create(workspace_id: str, memory: Mapping[str, Any], *, cap: int) -> None:
    """Store a new memory, its reference and the user's count, all or nothing.

    Raises CapReached when the user already has ``cap`` memories, table.ConditionFailed if the id is taken.
    """
    pk = user_pk(workspace_id, memory["user_id"])
    item = {
        "PK": pk,
        "SK": _PREFIX + memory["id"],
        "ListPK": _listing_pk(workspace_id),
        "ListSK": _listing_sk(memory["updated_at"], memory["id"]),
        **memory,
    }
    reference = {
        "PK": _reference_pk(workspace_id, memory["id"]),
        "SK": _REFERENCE,
        "user_id": memory["user_id"],
    }
    try:
        table.transact(
            [
                table.put_op(item, "attribute_not_exists(PK)"),
                table.put_op(reference, "attribute_not_exists(PK)"),
                table.update_op(
                    pk,
                    _COUNTER,
                    add={"memory_count": 1},
                    condition="attribute_not_exists(memory_count) OR memory_count < :cap",
                    values={":cap": cap},
                ),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(2):
            raise CapReached() from exc
        if exc.failed_at(0) or exc.failed_at(1):
            raise table.ConditionFailed() from exc
        raise


def owner(workspace_id: str, memory_id: str, *, consistent: bool = False) -> str | None:
    """The user a memory belongs to (None if there is no such memory)."""
    reference = table.get(_reference_pk(workspace_id, memory_id), _REFERENCE, consistent=consistent)
    return str(reference["user_id"]) if reference else None


def get(
    workspace_id: str, user_id: str, memory_id: str, *, consistent: bool = False
) -> dict[str, Any] | None:
    item = table.get(user_pk(workspace_id, user_id), _PREFIX + memory_id, consistent=consistent)
    return _public(item) if item else None


def for_user(workspace_id: str, user_id: str, *, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` of a user's memories (all of them when ``limit`` is the per-user cap), oldest first."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < limit:
        page = table.query(
            user_pk(workspace_id, user_id),
            sk_prefix=_PREFIX,
            limit=min(_PAGE, limit - len(found)),
            cursor=cursor,
        )
        found.extend(_public(item) for item in page.items)
        cursor = page.cursor
        if cursor is None:
            break
    return found


def workspace_page(
    workspace_id: str, limit: int, cursor: str | None, *, newest_first: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a workspace's memories across users, by last update."""
    page = table.query(
        _listing_pk(workspace_id),
        index=table.LISTING_INDEX,
        limit=limit,
        cursor=cursor,
        newest_first=newest_first,
    )
    return [_public(item) for item in page.items], page.cursor


def recent_in_workspace(workspace_id: str, *, limit: int) -> Iterator[dict[str, Any]]:
    """A workspace's memories, most recently updated first, at most ``limit`` of them."""
    seen = 0
    cursor: str | None = None
    while seen < limit:
        items, cursor = workspace_page(workspace_id, min(_PAGE, limit - seen), cursor, newest_first=True)
        yield from items
        seen += len(items)
        if cursor is None:
            return


def update(
    workspace_id: str, user_id: str, memory_id: str, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Set the given fields (None removes one) and move the memory in the listing by its new
    ``updated_at``; the memory as it is now, or None if there is no such memory."""
    fields = dict(changes)
    fields["ListSK"] = _listing_sk(fields["updated_at"], memory_id)
    try:
        item = table.update(
            user_pk(workspace_id, user_id), _PREFIX + memory_id, **table.set_or_remove(fields)
        )
    except table.ConditionFailed:
        return None
    return _public(item)


def delete(workspace_id: str, user_id: str, memory_id: str) -> bool:
    """Remove a memory, its reference and one from the user's count; False if there was no such memory."""
    pk = user_pk(workspace_id, user_id)
    try:
        table.transact(
            [
                table.delete_op(pk, _PREFIX + memory_id, "attribute_exists(PK)"),
                table.delete_op(_reference_pk(workspace_id, memory_id), _REFERENCE),
                table.update_op(pk, _COUNTER, add={"memory_count": -1}, condition=None),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            return False
        raise
    return True
