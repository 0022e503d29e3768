"""Files: records in the table, bytes in S3 under the workspace's prefix.

Two ways in: ``POST /v1/files`` writes a ``pending`` record and answers with a presigned PUT (up to
``MAX_FILE_BYTES``); or a multipart/form-data upload through the API (up to
``MAX_DIRECT_UPLOAD_BYTES``), stored ``uploaded`` at once. A pending record is reconciled when it is
read: once the object is there with the declared size its SHA-256 is computed and the record becomes
``uploaded``; a size that differs, or an upload URL that expired with nothing uploaded, makes it
``failed`` with the reason. Only an uploaded file has a ``download_url``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from parley import clock, errors, ids
from parley.http import Principal, Response
from parley.models.base import Page
from parley.models.files import (
    DOWNLOAD_URL_SECONDS,
    MAX_DIRECT_UPLOAD_BYTES,
    MAX_FILE_BYTES,
    MAX_INLINE_DOWNLOAD_BYTES,
    UPLOAD_URL_SECONDS,
    CreateFile,
    File,
    FileUpload,
    InboxFilesQuery,
    check_file_name,
    normalise_content_type,
)
from parley.observability import logger
from parley.services.validation import invalid
from parley.store import blobs, table
from parley.store import files as store
from parley.store import inboxes as inbox_store

if TYPE_CHECKING:
    from parley.multipart import Part

OCTET_STREAM = "application/octet-stream"
# What a multipart upload without a useful Content-Type is taken to be, by its name's extension.
CONTENT_TYPES_BY_EXTENSION = {
    "txt": "text/plain",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "html": "text/html",
    "htm": "text/html",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "xml": "application/xml",
    "yaml": "application/yaml",
    "yml": "application/yaml",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "epub": "application/epub+zip",
}


# -- the API --------------------------------------------------------------------------------------
def create(principal: Principal, body: CreateFile) -> FileUpload:
    """A pending record and a presigned PUT for its bytes."""
    if body.size > MAX_FILE_BYTES:
        raise errors.PayloadTooLarge(
            f"The file is {body.size} bytes; a file may be at most {MAX_FILE_BYTES} bytes (100 MiB)."
        )
    workspace_id = principal.workspace_id
    expires_at = clock.iso(clock.now() + timedelta(seconds=UPLOAD_URL_SECONDS))
    record = new_file(
        workspace_id,
        body.inbox_id,
        body.name,
        body.content_type,
        body.size,
        status="pending",
        upload_expires_at=expires_at,
    )
    _create(workspace_id, record)
    upload_url, upload_headers = blobs.presign_put(
        record["s3_key"], record["content_type"], UPLOAD_URL_SECONDS
    )
    return FileUpload(
        **view(record).model_dump(),
        upload_url=upload_url,
        upload_headers=upload_headers,
        expires_at=expires_at,
    )


def get(principal: Principal, file_id: str) -> File:
    """The record (reconciled if pending), with a download URL once uploaded."""
    record = _existing(principal.workspace_id, file_id)
    if record["status"] == "pending":
        record = reconcile(principal.workspace_id, record)
    return view(record, download=True)


def content(principal: Principal, file_id: str) -> Response:
    """The file's bytes in the response (small files only: the response limit is 6 MB)."""
    workspace_id = principal.workspace_id
    record = _existing(workspace_id, file_id)
    if record["size"] > MAX_INLINE_DOWNLOAD_BYTES:
        raise errors.PayloadTooLarge(
            f"File {file_id} is {record['size']} bytes; this endpoint returns files of at most "
            f"{MAX_INLINE_DOWNLOAD_BYTES} bytes. Download it through the download_url of "
            f"GET /v1/files/{file_id}."
        )
    if record["status"] == "pending":
        record = reconcile(workspace_id, record)
    _require_uploaded(record)
    data = blobs.get_bytes(record["s3_key"])
    return Response(
        200,
        data,
        {"content-type": record["content_type"], "content-disposition": content_disposition(record["name"])},
    )


def delete(principal: Principal, file_id: str) -> None:
    """The record, then its object (an object left behind by a failed S3 call is logged, not fatal)."""
    workspace_id = principal.workspace_id
    record = _existing(workspace_id, file_id, consistent=True)
    if not store.delete(workspace_id, file_id, record["inbox_id"]):
        raise errors.NotFound(f"File {file_id} not found.")
    try:
        blobs.delete(record["s3_key"])
    except Exception:
        logger.exception("could not delete a deleted file's object", extra={"file_id": file_id})


def list_in_inbox(principal: Principal, inbox_id: str, query: InboxFilesQuery) -> Page[File]:
    """A page of the inbox's files, by name (stored status: only ``GET /v1/files/{id}`` reconciles)."""
    workspace_id = principal.workspace_id
    if inbox_store.get(workspace_id, inbox_id) is None:
        raise errors.NotFound(f"Inbox {inbox_id} not found.")
    items, cursor = store.list_in_inbox(workspace_id, inbox_id, query.limit, query.cursor, name=query.name)
    return Page[File](
        data=[view(item, download=True) for item in items], next_cursor=cursor, has_more=cursor is not None
    )


def upload(principal: Principal, inbox_id: str, body: bytes, content_type: str) -> File:
    """A multipart/form-data upload: a ``file`` part (with its filename and type), or Shinkai's
    ``file_data`` part with the name in a ``filename`` part."""
    fields = form_parts(body, content_type)
    file_part = fields.get("file") or fields.get("file_data")
    if file_part is None:
        raise invalid("file", "is required: a part named file (or file_data)", error_type="missing")
    given_name = fields["filename"].text().strip() if "filename" in fields else ""
    name = given_name or (file_part.filename or "").strip()
    if not name:
        raise invalid(
            "filename", "is required: the file part's filename, or a filename part", error_type="missing"
        )
    try:
        name = check_file_name(name)
        if len(name) > 255:
            raise ValueError("must be at most 255 characters")
    except ValueError as exc:
        raise invalid("filename", str(exc)) from exc
    try:
        checked_type = normalise_content_type(declared_type(file_part, name))
    except ValueError as exc:
        raise invalid("file.content_type", str(exc)) from exc
    record = store_bytes(principal.workspace_id, inbox_id, name, checked_type, file_part.data)
    return view(record, download=True)


# -- shared with other services (compat, jobs, messages) ------------------------------------------
def form_parts(body: bytes, content_type: str) -> dict[str, Part]:
    """A multipart/form-data body's parts by name (the first of each name); BadRequest if it is none."""
    from parley import multipart  # only uploads parse multipart bodies

    try:
        parts = multipart.parse(body, content_type)
    except multipart.MultipartError as exc:
        raise errors.BadRequest(str(exc)) from exc
    fields: dict[str, Part] = {}
    for part in parts:
        fields.setdefault(part.name, part)
    return fields


def declared_type(part: Part, name: str) -> str:
    """The part's content type, or one guessed from the file's name if it declares none (or only
    application/octet-stream)."""
    declared = part.content_type
    if not declared or declared.split(";", 1)[0].strip().lower() == OCTET_STREAM:
        return guess_content_type(name)
    return declared


def store_bytes(
    workspace_id: str, inbox_id: str, name: str, content_type: str, data: bytes
) -> dict[str, Any]:
    """Store bytes received through the API as an uploaded file of the inbox; returns the record."""
    if not data:
        raise invalid("file", "is empty")
    if len(data) > MAX_DIRECT_UPLOAD_BYTES:
        raise errors.PayloadTooLarge(
            f"The file is {len(data)} bytes; an upload through the API may be at most "
            f"{MAX_DIRECT_UPLOAD_BYTES} bytes. Use POST /v1/files and its upload_url for larger files."
        )
    if inbox_store.get(workspace_id, inbox_id) is None:
        raise errors.NotFound(f"Inbox {inbox_id} not found.")
    # The record first, pending, as a presigned upload's: the object's creation wakes the ingestion
    # worker, which must find the record (written after the bytes, it could be missed for good). If
    # the worker settles it first, it computes the same checksum from S3.
    record = new_file(workspace_id, inbox_id, name, content_type, len(data), status="pending")
    _create(workspace_id, record)
    try:
        blobs.put_bytes(record["s3_key"], data, content_type)
    except Exception:
        store.delete(workspace_id, record["id"], inbox_id)
        raise
    now = clock.iso()
    return _settle(
        workspace_id,
        record,
        {"status": "uploaded", "checksum": hashlib.sha256(data).hexdigest(), "uploaded_at": now},
    )


def reconcile(workspace_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """Settle a pending record against its object in S3; the record as it now is."""
    found = blobs.head(record["s3_key"])
    now = clock.iso()
    if found is None:
        if record.get("upload_expires_at", now) < now:
            return _settle(
                workspace_id,
                record,
                {"status": "failed", "error": "Nothing was uploaded before the upload URL expired."},
            )
        return record
    if found["size"] != record["size"]:
        return _settle(
            workspace_id,
            record,
            {
                "status": "failed",
                "error": f"The upload is {found['size']} bytes but the file was declared as "
                f"{record['size']} bytes.",
            },
        )
    hashed = blobs.sha256(record["s3_key"], etag=found["etag"])
    if hashed is None or hashed[1] != record["size"]:  # changed or removed while it was read
        return record
    return _settle(workspace_id, record, {"status": "uploaded", "checksum": hashed[0], "uploaded_at": now})


def missing(workspace_id: str, file_ids: Sequence[str]) -> list[str]:
    """Those of ``file_ids`` that name no file of the workspace, in the order given."""
    found = store.get_many(workspace_id, list(file_ids))
    return [file_id for file_id in dict.fromkeys(file_ids) if file_id not in found]


def check_attachments(workspace_id: str, attachments: Sequence[dict[str, Any]]) -> None:
    """Every attachment that names a ``file_id`` names a file of the workspace (else 422)."""
    named: dict[str, int] = {}
    for position, attachment in enumerate(attachments):
        if "file_id" not in attachment:
            continue
        file_id = attachment["file_id"]
        if not isinstance(file_id, str) or not file_id:
            raise invalid(f"attachments.{position}.file_id", "must be a file id such as file_01J…")
        named.setdefault(file_id, position)
    if not named:
        return
    absent = missing(workspace_id, list(named))
    if absent:
        raise invalid(f"attachments.{named[absent[0]]}.file_id", f"File {absent[0]} not found.")


def new_file(
    workspace_id: str,
    inbox_id: str,
    name: str,
    content_type: str,
    size: int,
    *,
    status: str,
    **fields: Any,
) -> dict[str, Any]:
    now = clock.iso()
    file_id = ids.new_id("file")
    return {
        "id": file_id,
        "inbox_id": inbox_id,
        "name": name,
        "content_type": content_type,
        "size": size,
        "status": status,
        "s3_key": store.object_key(workspace_id, file_id, safe_name(name)),
        "index_status": "pending",  # the ingestion worker indexes it once its bytes are in S3
        "created_at": now,
        "updated_at": now,
        **fields,
    }


def view(record: dict[str, Any], *, download: bool = False) -> File:
    fields = {k: record[k] for k in File.model_fields if k in record}
    if download and record["status"] == "uploaded":
        fields["download_url"] = blobs.presign_get(
            record["s3_key"],
            DOWNLOAD_URL_SECONDS,
            content_type=record["content_type"],
            disposition=content_disposition(record["name"]),
        )
        fields["download_url_expires_at"] = clock.iso(clock.now() + timedelta(seconds=DOWNLOAD_URL_SECONDS))
    return File(**fields)


def safe_name(name: str) -> str:
    """The name's readable part as an S3 key segment (the file id keeps keys unique)."""
    kept = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    return kept.strip("._")[:100] or "file"


def guess_content_type(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return CONTENT_TYPES_BY_EXTENSION.get(extension, OCTET_STREAM)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact one in RFC 5987 form (RFC 6266)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- helpers --------------------------------------------------------------------------------------
def _create(workspace_id: str, record: dict[str, Any]) -> None:
    try:
        store.create(workspace_id, record)
    except table.TransactionCancelled as exc:
        if exc.failed_at(1):
            raise errors.NotFound(f"Inbox {record['inbox_id']} not found.") from exc
        raise


def _existing(workspace_id: str, file_id: str, *, consistent: bool = False) -> dict[str, Any]:
    record = store.get(workspace_id, file_id, consistent=consistent)
    if record is None:
        # Another workspace's file is as missing as one that never existed.
        raise errors.NotFound(f"File {file_id} not found.")
    return record


def _settle(workspace_id: str, record: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    settled = store.settle(workspace_id, record["id"], {**changes, "updated_at": clock.iso()})
    if settled is not None:
        return settled
    # Settled (or deleted) by a concurrent read: that outcome stands.
    current = store.get(workspace_id, record["id"], consistent=True)
    if current is None:
        raise errors.NotFound(f"File {record['id']} not found.")
    return current


def _require_uploaded(record: dict[str, Any]) -> None:
    if record["status"] != "uploaded":
        reason = f": {record['error']}" if record.get("error") else ""
        raise errors.InvalidState(
            f"File {record['id']} is {record['status']}{reason}; its content is not available."
        )
