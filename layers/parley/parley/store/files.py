"""Files: ``W#<ws>`` / ``F#<id>``, the record of bytes kept in S3 under the workspace's prefix.

An inbox lists its files through the Listing index: ``ListPK = W#<ws>#INBOX#<inbox_id>`` and
``ListSK = <name>#<file_id>``, so a listing is ordered by name (then by creation, ids being ULIDs) and
the files of one name are found with a prefix query (Shinkai addresses files by inbox and name).

Status: ``pending`` (record written, bytes not yet seen) → ``uploaded`` (size checked, checksum set) or
``failed`` (with ``error``). Those transitions are conditional on the record still being ``pending``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from parley.store import inboxes, table
from parley.store.workspaces import workspace_pk

_PREFIX = "F#"
_INTERNAL = frozenset({"PK", "SK", "ListPK", "ListSK"})
# BatchGetItem reads at most 100 keys per call.
_BATCH = 100


def _sk(file_id: str) -> str:
    return _PREFIX + file_id


def _listing_pk(workspace_id: str, inbox_id: str) -> str:
    return f"{workspace_pk(workspace_id)}#INBOX#{inbox_id}"


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


def object_key(workspace_id: str, file_id: str, safe_name: str) -> str:
    """Where a file's bytes live: always under the workspace's prefix."""
    return f"workspaces/{workspace_id}/files/{file_id}/{safe_name}"


def get(workspace_id: str, file_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """The file record of this workspace, or None (another workspace's file is as missing as no file)."""
    item = table.get(workspace_pk(workspace_id), _sk(file_id), consistent=consistent)
    return _public(item) if item else None


def get_many(workspace_id: str, file_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Several file records of the workspace, by id (missing ones are absent)."""
    unique = list(dict.fromkeys(file_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), _BATCH):
        chunk = table.get_many(workspace_pk(workspace_id), [_sk(i) for i in unique[start : start + _BATCH]])
        found.update({item["id"]: _public(item) for item in chunk.values()})
    return found


def create(workspace_id: str, record: Mapping[str, Any]) -> None:
    """Write a new record and count it in its inbox; raises table.TransactionCancelled (position 1:
    the inbox is gone)."""
    table.transact(
        [put_new_op(workspace_id, record), inboxes.count_files_op(workspace_id, record["inbox_id"], 1)]
    )


def put_new_op(workspace_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The write of a new record alone (its inbox's count is the caller's: a folder copy writes the
    counts of the inboxes it creates in the same transaction)."""
    item = {
        "PK": workspace_pk(workspace_id),
        "SK": _sk(record["id"]),
        "ListPK": _listing_pk(workspace_id, record["inbox_id"]),
        "ListSK": f"{record['name']}#{record['id']}",
        **record,
    }
    return table.put_op(item, "attribute_not_exists(PK)")


def move(workspace_id: str, record: Mapping[str, Any], inbox_id: str, name: str, now: str) -> dict[str, Any]:
    """Move/rename a file: the record, its listing keys and both inboxes' counts in one transaction.

    Raises table.TransactionCancelled: position 0 the file is gone or moved meanwhile, then the inboxes
    (the old one's count at 1, the new one's at 2 when the inbox changes)."""
    changes = {
        "inbox_id": inbox_id,
        "name": name,
        "ListPK": _listing_pk(workspace_id, inbox_id),
        "ListSK": f"{name}#{record['id']}",
        "updated_at": now,
    }
    operations = [
        table.update_op(
            workspace_pk(workspace_id),
            _sk(record["id"]),
            set_fields=changes,
            condition="attribute_exists(PK) AND #inbox = :inbox AND #name = :name",
            names={"#inbox": "inbox_id", "#name": "name"},
            values={":inbox": record["inbox_id"], ":name": record["name"]},
        )
    ]
    if inbox_id != record["inbox_id"]:
        operations.append(inboxes.count_files_op(workspace_id, record["inbox_id"], -1))
        operations.append(inboxes.count_files_op(workspace_id, inbox_id, 1))
    table.transact(operations)
    return {**_public(record), **{k: v for k, v in changes.items() if k not in _INTERNAL}}


def list_in_inbox(
    workspace_id: str, inbox_id: str, limit: int, cursor: str | None, *, name: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the inbox's files, by name; ``name`` narrows it to the files called exactly that."""
    page = table.query(
        _listing_pk(workspace_id, inbox_id),
        index=table.LISTING_INDEX,
        sk_prefix=f"{name}#" if name is not None else None,
        limit=limit,
        cursor=cursor,
    )
    items = [_public(item) for item in page.items]
    if name is not None:  # a name that itself contains "#…" shares the prefix
        items = [item for item in items if item["name"] == name]
    return items, page.cursor


def settle(
    workspace_id: str, file_id: str, changes: Mapping[str, Any], *, expected_status: str = "pending"
) -> dict[str, Any] | None:
    """Set ``changes`` (e.g. status uploaded + checksum) if the file is still ``expected_status``;
    the updated record, or None if it is gone or was settled meanwhile."""
    try:
        item = table.update(
            workspace_pk(workspace_id),
            _sk(file_id),
            set_fields=changes,
            condition="attribute_exists(PK) AND #status = :expected",
            names={"#status": "status"},
            values={":expected": expected_status},
        )
    except table.ConditionFailed:
        return None
    return _public(item)


def delete(workspace_id: str, file_id: str, inbox_id: str) -> bool:
    """Remove the record and uncount it from its inbox (if the inbox still exists); False if it was gone."""
    record_op = table.delete_op(workspace_pk(workspace_id), _sk(file_id), "attribute_exists(PK)")
    try:
        table.transact([record_op, inboxes.count_files_op(workspace_id, inbox_id, -1)])
        return True
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            return False
    try:  # the inbox is being deleted: the record goes alone
        table.transact([record_op])
    except table.TransactionCancelled:
        return False
    return True


def delete_records(workspace_id: str, file_ids: list[str]) -> None:
    """Remove records without touching their inbox (used when the inbox itself is deleted)."""
    partition = workspace_pk(workspace_id)
    requests = [{"DeleteRequest": {"Key": table.key(partition, _sk(file_id))}} for file_id in file_ids]
    for start in range(0, len(requests), 25):  # BatchWriteItem takes 25 requests per call
        pending = {table.table_name(): requests[start : start + 25]}
        for _ in range(5):
            unprocessed = table.client().batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
            if not unprocessed:
                break
            pending = unprocessed


# -- indexing (see parley.services.ingestion) -----------------------------------------------------
_OBJECT_KEY = re.compile(r"^workspaces/([^/]+)/files/([^/]+)/[^/]+$")


def parse_object_key(key: str) -> tuple[str, str] | None:
    """``(workspace_id, file_id)`` of a file's object key; None for any other object."""
    found = _OBJECT_KEY.match(key)
    return (found.group(1), found.group(2)) if found else None


def set_index_state(
    workspace_id: str, file_id: str, changes: Mapping[str, Any], *, from_states: tuple[str | None, ...]
) -> dict[str, Any] | None:
    """Apply ``changes`` (a None value removes the field) if the record exists and its ``index_status``
    is one of ``from_states`` (None: no index status yet); the updated record, or None if not."""
    allowed = [f":from{i}" for i, state in enumerate(from_states) if state is not None]
    clauses = [f"#index_status IN ({', '.join(allowed)})"] if allowed else []
    if None in from_states:
        clauses.append("attribute_not_exists(#index_status)")
    try:
        item = table.update(
            workspace_pk(workspace_id),
            _sk(file_id),
            **table.set_or_remove(changes),
            condition=f"attribute_exists(PK) AND ({' OR '.join(clauses)})",
            names={"#index_status": "index_status"},
            values={f":from{i}": state for i, state in enumerate(from_states) if state is not None},
        )
    except table.ConditionFailed:
        return None
    return _public(item)
