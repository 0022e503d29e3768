"""Ingestion: a file's bytes arriving in S3 make it searchable; their removal drops it from the index.

The bucket sends its ``ObjectCreated`` / ``ObjectRemoved`` notifications (under ``workspaces/``) to the
ingest queue; the worker hands each to ``handle``. A created file object is reconciled if its record
is still ``pending``, and only an ``uploaded`` file is indexed: read, extracted, chunked and given to the
chunk store, then its record's ``index_status`` moves ``pending → indexed | failed`` (with
``index_error``), with ``chunk_count`` and ``indexed_at``.

Delivery is at least once and in any order, so every step is safe to repeat or to run late:

* The index status only moves forward (each change is conditional on the state it leaves), so a
  duplicate or late event never regresses it; an already indexed or failed file is not indexed again
  (its bytes cannot change under its id: uploads are write-once).
* Chunks are written before the status. When the status write loses because the file was deleted or
  superseded meanwhile, the chunks just written are dropped again.
* Re-uploading a file is a new upload of the same name into the same inbox. Once the newer file's
  chunks are written, the older ones of that name are ``superseded`` (before the newer one reads
  ``indexed``): their chunks are dropped and they are not indexed again, but their records and bytes
  stay (messages may attach them and scopes may name them).

A failure that retrying may fix (throttling, a transient AWS error) raises, so the SQS record fails
and comes back; one that cannot (an unsupported type, a corrupt or locked PDF, a file too large) marks
the file ``failed`` with the reason. The last attempt of a record that kept failing marks the file
``failed`` too before the record goes to the dead-letter queue, so no file stays ``pending`` forever.
"""

from __future__ import annotations

from typing import Any, Literal

from parley import clock, errors
from parley.http import Principal
from parley.knowledge.chunking import MAX_CHUNKS, chunk_text, truncated
from parley.knowledge.extract import ExtractionError, extract
from parley.models.base import ListQuery, Page
from parley.models.files import FileChunk
from parley.models.ingestion import S3Notification, S3Record
from parley.observability import logger
from parley.services import files as file_service
from parley.store import blobs, chunks, table
from parley.store import files as store

# Extraction holds the bytes and their text in memory (the function has 1 GB); larger files are refused.
MAX_INDEXED_BYTES = 50 * 1024 * 1024
# The ingest queue's maxReceiveCount (template.yaml): the attempt after which a record goes to the DLQ.
MAX_ATTEMPTS = 5

Outcome = Literal["indexed", "failed", "superseded", "duplicate", "gone", "waiting", "removed", "ignored"]
_UNSETTLED = (None, "pending")  # no index status (a file from before indexing) or not indexed yet
# A file moved again while its index was being moved after it: this many rewrites at most.
_FOLLOW_MOVES = 4


# -- the worker's entry points --------------------------------------------------------------------
def parse(body: str) -> S3Notification:
    """An SQS message body of the ingest queue (raises pydantic's ValidationError if it is not one)."""
    return S3Notification.model_validate_json(body)


def handle(record: S3Record, *, attempt: int = 1) -> Outcome:
    """Index or un-index the file an S3 notification record is about."""
    named = store.parse_object_key(record.s3.object.key)
    if named is None:  # another object under workspaces/ (e.g. a stored message body)
        return "ignored"
    workspace_id, file_id = named
    if record.event_name.startswith("ObjectRemoved"):
        return remove(workspace_id, file_id)
    if not record.event_name.startswith("ObjectCreated"):
        return "ignored"
    try:
        return index(workspace_id, file_id)
    except Exception as exc:
        if attempt >= MAX_ATTEMPTS:
            _fail(workspace_id, file_id, f"Indexing failed after {attempt} attempts ({type(exc).__name__}).")
        raise


# -- indexing -------------------------------------------------------------------------------------
def index(workspace_id: str, file_id: str) -> Outcome:
    """Index the file (if it is uploaded and not indexed yet); what happened."""
    record = store.get(workspace_id, file_id, consistent=True)
    if record is not None and record["status"] == "pending":
        try:
            record = file_service.reconcile(workspace_id, record)
        except errors.NotFound:
            record = None
    if record is None:
        chunks.remove_file(workspace_id, file_id)  # deleted while an earlier attempt was indexing it
        return "gone"
    if record.get("index_status") not in _UNSETTLED:
        return "duplicate"
    if record["status"] == "pending":  # the object is not there (any more): its removal is on its way
        return "waiting"
    if record["status"] == "failed":
        return _fail(workspace_id, file_id, f"The upload failed: {record.get('error') or 'unknown reason'}")
    if _newer_upload(workspace_id, record) is not None:
        return _supersede(workspace_id, record)
    if record["size"] > MAX_INDEXED_BYTES:
        return _fail(
            workspace_id,
            file_id,
            f"The file is {record['size']} bytes; files of at most {MAX_INDEXED_BYTES} bytes (50 MiB) "
            "are indexed.",
        )
    data = _read(record["s3_key"])
    if data is None:
        return "waiting"
    try:
        extracted = extract(data, record["content_type"], record["name"])
    except ExtractionError as exc:
        return _fail(workspace_id, file_id, str(exc))
    found = chunk_text(file_id, extracted.text, pages=extracted.pages)
    note = None
    if truncated(extracted.text, found):
        note = (
            f"Only the first {MAX_CHUNKS} chunks ({found[-1].end} of {len(extracted.text)} characters) "
            "are indexed."
        )
    chunks.replace_file(workspace_id, record, found)
    # Older uploads of the name go first: once this file reads indexed, it is the only one indexed.
    _supersede_older(workspace_id, record)
    settled = store.set_index_state(
        workspace_id,
        file_id,
        {
            "index_status": "indexed",
            "index_error": note,
            "chunk_count": len(found),
            "indexed_at": clock.iso(),
            "updated_at": clock.iso(),
        },
        from_states=_UNSETTLED,
    )
    if settled is None:
        return _after_lost_race(workspace_id, file_id)
    # A move during indexing found no chunks to move: the index follows the inbox the record names now.
    for _ in range(_FOLLOW_MOVES):
        if settled is None or settled["inbox_id"] == record["inbox_id"]:
            break
        record = settled
        chunks.replace_file(workspace_id, record, found)
        settled = store.get(workspace_id, file_id, consistent=True)
    logger.info("file indexed", extra={"file_id": file_id, "chunks": len(found)})
    return "indexed"


def _read(key: str) -> bytes | None:
    """The object's bytes, or None if it is gone (removed since the event was sent)."""
    try:
        return blobs.get_bytes(key)
    except Exception as exc:
        if table.error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise


def _after_lost_race(workspace_id: str, file_id: str) -> Outcome:
    """The indexed status was not written: the file was deleted, superseded or indexed meanwhile."""
    current = store.get(workspace_id, file_id, consistent=True)
    if current is None or current.get("index_status") == "superseded":
        chunks.remove_file(workspace_id, file_id)  # what this run wrote must not outlive the file
        return "gone" if current is None else "superseded"
    return "duplicate"


def _fail(workspace_id: str, file_id: str, reason: str) -> Outcome:
    logger.info("file not indexed", extra={"file_id": file_id, "reason": reason})
    store.set_index_state(
        workspace_id,
        file_id,
        {"index_status": "failed", "index_error": reason, "chunk_count": 0, "updated_at": clock.iso()},
        from_states=_UNSETTLED,
    )
    return "failed"


# -- re-uploads -----------------------------------------------------------------------------------
def _same_name(workspace_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The other uploaded files called like ``record`` in its inbox."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        items, cursor = store.list_in_inbox(
            workspace_id, record["inbox_id"], 100, cursor, name=record["name"]
        )
        found.extend(item for item in items if item["id"] != record["id"] and item["status"] == "uploaded")
        if cursor is None:
            return found


def _age(record: dict[str, Any]) -> tuple[str, str]:
    return record["created_at"], record["id"]  # ids are ULIDs: creation order breaks a tie


def _newer_upload(workspace_id: str, record: dict[str, Any]) -> dict[str, Any] | None:
    newer = [item for item in _same_name(workspace_id, record) if _age(item) > _age(record)]
    return max(newer, key=_age) if newer else None


def _supersede(workspace_id: str, record: dict[str, Any]) -> Outcome:
    """Mark the file superseded (first, so that a run indexing it cannot commit), then drop its chunks."""
    marked = store.set_index_state(
        workspace_id,
        record["id"],
        {"index_status": "superseded", "index_error": None, "chunk_count": 0, "updated_at": clock.iso()},
        from_states=(None, "pending", "indexed", "failed"),
    )
    chunks.remove_file(workspace_id, record["id"])
    if marked is not None:
        logger.info("file superseded by a newer upload", extra={"file_id": record["id"]})
    return "superseded"


def _supersede_older(workspace_id: str, record: dict[str, Any]) -> None:
    for older in _same_name(workspace_id, record):
        if _age(older) < _age(record) and older.get("index_status") != "superseded":
            _supersede(workspace_id, older)


# -- removal --------------------------------------------------------------------------------------
def remove(workspace_id: str, file_id: str) -> Outcome:
    """The file's object is gone: drop its chunks. A record that outlived its bytes (removed outside
    the API) is no longer indexed, with the reason."""
    removed = chunks.remove_file(workspace_id, file_id)
    record = store.get(workspace_id, file_id, consistent=True)
    outlived = record is not None and record.get("index_status") in (*_UNSETTLED, "indexed")
    # A late event for an object that is back (put again through an unexpired URL) changes nothing.
    if record is not None and outlived and blobs.head(record["s3_key"]) is None:
        store.set_index_state(
            workspace_id,
            file_id,
            {
                "index_status": "failed",
                "index_error": "The file's bytes were removed from storage.",
                "chunk_count": 0,
                "updated_at": clock.iso(),
            },
            from_states=(*_UNSETTLED, "indexed"),
        )
    logger.info("file index removed", extra={"file_id": file_id, "chunks": removed})
    return "removed"


# -- the API --------------------------------------------------------------------------------------
def list_chunks(principal: Principal, file_id: str, query: ListQuery) -> Page[FileChunk]:
    """A page of the file's indexed chunks, in order (another workspace's file is a 404)."""
    workspace_id = principal.workspace_id
    if store.get(workspace_id, file_id) is None:
        raise errors.NotFound(f"File {file_id} not found.")
    items, cursor = chunks.list_for_file(workspace_id, file_id, query.limit, query.cursor)
    return Page[FileChunk](
        data=[FileChunk.model_validate(item) for item in items],
        next_cursor=cursor,
        has_more=cursor is not None,
    )
