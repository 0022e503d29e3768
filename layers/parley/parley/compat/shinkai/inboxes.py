"""Shinkai's files inboxes over native inboxes and files: a files inbox is a native inbox.

The node names a files inbox by a uuid v4 string. A native inbox id is ``inbox_<ULID>`` and its ULID
is minted so that its 128 bits are also a uuid v4 (parley.ids.uuid4_ulid), so the Shinkai name is
that ULID spelled as a uuid and the native id is derived back from it: nothing extra is stored or
looked up, and the derived id is then read under the caller's workspace like any other (another
workspace's uuid is a not-found). Every route also accepts the native id itself."""

from __future__ import annotations

from parley import errors, ids
from parley.http import Principal
from parley.models.files import MAX_DIRECT_UPLOAD_BYTES, CreateInbox, check_file_name, normalise_content_type
from parley.services import files as file_service
from parley.services import inboxes
from parley.store import blobs
from parley.store import files as file_store

NATIVE_PREFIX = "inbox_"


# -- names -----------------------------------------------------------------------------------------
def files_inbox_name(inbox_id: str) -> str:
    """The Shinkai name (a uuid string) of a native inbox id."""
    return ids.uuid_of_ulid(inbox_id.removeprefix(NATIVE_PREFIX))


def native_inbox_id(name: str) -> str:
    """The native inbox id a Shinkai files inbox name stands for: a uuid becomes ``inbox_<ULID>``; a
    native id (or anything else, which then is simply not found) is kept as it is."""
    name = name.strip()
    found = ids.ulid_of_uuid(name)
    return NATIVE_PREFIX + found if found is not None else name


# -- files inboxes ------------------------------------------------------------------------------
def create_files_inbox(principal: Principal) -> str:
    """A native inbox, answered as the node does: its name, a uuid v4 string."""
    try:
        return files_inbox_name(inboxes.create(principal, CreateInbox()).id)
    except errors.ParleyError as exc:
        raise errors.BadRequest(exc.message) from exc


def _require(workspace_id: str, name: str) -> str:
    """The native id of the workspace's files inbox of that name (NotFound naming it as given)."""
    inbox_id = native_inbox_id(name)
    try:
        inboxes.require(workspace_id, inbox_id)
    except errors.NotFound as exc:
        raise errors.NotFound(f"Inbox {name} not found.") from exc
    return inbox_id


def add_file_to_inbox(principal: Principal, body: bytes, content_type: str) -> str:
    """Shinkai's multipart upload: ``file_inbox_name``, ``filename`` and ``file_data`` (or ``file``)."""
    fields = file_service.form_parts(body, content_type)
    inbox_name = fields["file_inbox_name"].text().strip() if "file_inbox_name" in fields else ""
    if not inbox_name:
        raise errors.BadRequest("Missing field: file_inbox_name")
    file_part = fields.get("file_data") or fields.get("file")
    if file_part is None or not file_part.data:
        raise errors.BadRequest("No file data found in the request (a file_data or file part).")
    name = (fields["filename"].text().strip() if "filename" in fields else "") or (file_part.filename or "")
    try:
        name = check_file_name(name.strip())
    except ValueError as exc:
        raise errors.BadRequest(f"Invalid filename: {exc}") from exc
    try:
        checked_type = normalise_content_type(file_service.declared_type(file_part, name))
    except ValueError:
        checked_type = file_service.OCTET_STREAM
    if len(file_part.data) > MAX_DIRECT_UPLOAD_BYTES:
        raise errors.PayloadTooLarge("The request payload is too large.")
    inbox_id = native_inbox_id(inbox_name)
    try:
        file_service.store_bytes(principal.workspace_id, inbox_id, name, checked_type, file_part.data)
    except errors.NotFound as exc:
        raise errors.NotFound(f"Inbox {inbox_name} not found.") from exc
    return "File added successfully"


def list_files_in_inbox(principal: Principal, inbox_name: str) -> list[str]:
    workspace_id = principal.workspace_id
    inbox_id = _require(workspace_id, inbox_name)
    names: list[str] = []
    cursor: str | None = None
    while True:
        items, cursor = file_store.list_in_inbox(workspace_id, inbox_id, 100, cursor)
        names.extend(item["name"] for item in items if item.get("status") == "uploaded")
        if cursor is None:
            return names


def download_file_from_inbox(principal: Principal, inbox_name: str, filename: str) -> bytes:
    """The newest uploaded file of that name in the inbox (raises NotFound if there is none)."""
    workspace_id = principal.workspace_id
    inbox_id = _require(workspace_id, inbox_name)
    items, _ = file_store.list_in_inbox(workspace_id, inbox_id, 100, None, name=filename)
    uploaded = sorted(
        (item for item in items if item.get("status") == "uploaded"), key=lambda item: item["created_at"]
    )
    if not uploaded:
        raise errors.NotFound(f"File {filename} not found in inbox {inbox_name}.")
    return blobs.get_bytes(uploaded[-1]["s3_key"])
