"""Inboxes: named groups of files (Shinkai's files inboxes), which a job's scope can name."""

from __future__ import annotations

from typing import Any

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.base import ListQuery, Page
from parley.models.files import CreateInbox, Inbox, UpdateInbox
from parley.observability import logger
from parley.store import blobs, table
from parley.store import files as file_store
from parley.store import inboxes as store

# Deleting an inbox deletes its files in the same request: this many at most (a few seconds of
# batched deletes). A larger inbox is refused with 409 until some of its files are deleted.
MAX_FILES_DELETED_WITH_INBOX = 1000
_PAGE = 100


def create(principal: Principal, body: CreateInbox) -> Inbox:
    # The id's ULID is also a uuid v4 (ids.uuid4_ulid): Shinkai's name for the inbox, derived both ways.
    now = clock.iso()
    inbox: dict[str, Any] = {"id": f"inbox_{ids.uuid4_ulid()}", "created_at": now, "updated_at": now}
    if body.name is not None:
        inbox["name"] = body.name
    store.create(principal.workspace_id, inbox)
    return view({**inbox, "file_count": 0})


def get(principal: Principal, inbox_id: str) -> Inbox:
    return view(require(principal.workspace_id, inbox_id))


def list_inboxes(principal: Principal, query: ListQuery) -> Page[Inbox]:
    items, cursor = store.list_for_workspace(principal.workspace_id, query.limit, query.cursor)
    return Page[Inbox](data=[view(item) for item in items], next_cursor=cursor, has_more=cursor is not None)


def update(principal: Principal, inbox_id: str, body: UpdateInbox) -> Inbox:
    updated = store.update(principal.workspace_id, inbox_id, {"name": body.name, "updated_at": clock.iso()})
    if updated is None:
        raise errors.NotFound(f"Inbox {inbox_id} not found.")
    return view(updated)


def delete(principal: Principal, inbox_id: str) -> None:
    """The inbox, then its files (records and objects), up to MAX_FILES_DELETED_WITH_INBOX of them."""
    workspace_id = principal.workspace_id
    inbox = require(workspace_id, inbox_id, consistent=True)
    if inbox.get("file_count", 0) > MAX_FILES_DELETED_WITH_INBOX:
        raise errors.Conflict(
            f"Inbox {inbox_id} has {inbox['file_count']} files; an inbox is deleted with at most "
            f"{MAX_FILES_DELETED_WITH_INBOX} of them. Delete some of its files first."
        )
    # The inbox goes first: from then on no file can be added to it (adding one counts it in the inbox).
    if inbox.get("path"):  # a folder: its path index item goes with it (refused if it has subfolders)
        from parley.services import folders

        if not folders.delete_folder_record(workspace_id, inbox):
            raise errors.NotFound(f"Inbox {inbox_id} not found.")
    else:
        try:
            deleted = store.delete_pathless(workspace_id, inbox_id)
        except table.ConditionFailed:
            return delete(principal, inbox_id)  # moved into the tree meanwhile: delete it as a folder
        if deleted is None:
            raise errors.NotFound(f"Inbox {inbox_id} not found.")
    from parley.services import sharing  # a shared folder's subscriptions end with it

    sharing.end_shares(workspace_id, [inbox_id], "the folder was deleted")
    files: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = file_store.list_in_inbox(workspace_id, inbox_id, _PAGE, cursor)
        files.extend(page)
        if cursor is None:
            break
    file_store.delete_records(workspace_id, [f["id"] for f in files])
    try:
        blobs.delete_keys([f["s3_key"] for f in files])
    except Exception:
        logger.exception("could not delete a deleted inbox's objects", extra={"inbox_id": inbox_id})


def require(workspace_id: str, inbox_id: str, *, consistent: bool = False) -> dict[str, Any]:
    """The workspace's inbox, or NotFound: another tenant's id is simply not there."""
    inbox = store.get(workspace_id, inbox_id, consistent=consistent)
    if inbox is None:
        raise errors.NotFound(f"Inbox {inbox_id} not found.")
    return inbox


def view(inbox: dict[str, Any]) -> Inbox:
    return Inbox.model_validate(inbox)
