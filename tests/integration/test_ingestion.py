"""Ingestion against moto: the bucket's own S3 event notifications (configured from template.yaml) land
on the ingest queue and are fed to IngestFileFunction as Lambda would; files end indexed (chunks
listed through GET /v1/files/{id}/chunks) or failed with the reason; duplicates, late events, removals,
re-uploads and transient failures are handled.

Under moto's in-process mock a client's presigned PUT is simulated by writing the same key.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from parley.services import ingestion
from parley.store import chunks as chunk_store
from parley.store import files as file_store
from tests.integration.conftest import authorize
from tests.integration.files_support import Bucket, RawClient, multipart, stored_file
from tests.integration.queues_support import QueueWorker
from tests.unit.pdf_support import text_pdf

GUIDE = b"""# Refund policy

Refunds are paid within **14 days** to the original card. Ask the [billing team](https://x.test/billing).

## Exceptions

Gift cards are never refunded. Orders older than a year need a manager's approval.
"""


@pytest.fixture
def bucket(aws) -> Bucket:
    return Bucket(aws)


@pytest.fixture
def worker(aws) -> QueueWorker:
    return QueueWorker(aws, "IngestQueue", "IngestFileFunction")


@pytest.fixture
def inbox(invoke, admin) -> dict[str, Any]:
    reply = invoke("CreateInboxFunction", key=admin["key"], body={"name": "Docs"})
    assert reply.status == 201, reply.body
    return reply.body


def upload(
    invoke, bucket: Bucket, key: str, inbox_id: str, name: str, data: bytes, content_type: str
) -> dict[str, Any]:
    """POST /v1/files, then the client's PUT of the bytes (which makes S3 notify the ingest queue)."""
    created = invoke(
        "CreateFileFunction",
        key=key,
        body={"inbox_id": inbox_id, "name": name, "content_type": content_type, "size": len(data)},
    )
    assert created.status == 201, created.body
    assert created.body["index_status"] == "pending"
    workspace_id = authorize({"authorization": f"Bearer {key}"})["context"]["workspace_id"]
    bucket.put(stored_file(workspace_id, created.body["id"])["s3_key"], data, content_type)
    return created.body


def get_file(invoke, key: str, file_id: str) -> dict[str, Any]:
    reply = invoke("GetFileFunction", key=key, path={"file_id": file_id})
    assert reply.status == 200, reply.body
    return reply.body


def list_chunks(invoke, key: str, file_id: str, query: str = "") -> Any:
    return invoke("ListFileChunksFunction", key=key, path={"file_id": file_id}, query=query)


def all_chunks(invoke, key: str, file_id: str) -> list[dict[str, Any]]:
    reply = list_chunks(invoke, key, file_id, "limit=100")
    assert reply.status == 200, reply.body
    return list(reply.body["data"])


def events_of(messages: list[dict[str, Any]]) -> list[str]:
    return [r["eventName"] for m in messages for r in json.loads(m["Body"]).get("Records", [])]


# -- indexing -------------------------------------------------------------------------------------
def test_an_uploaded_markdown_file_is_indexed_and_its_chunks_listed(invoke, admin, bucket, worker, inbox):
    # Given a file uploaded through its presigned URL
    file = upload(invoke, bucket, admin["key"], inbox["id"], "refunds.md", GUIDE, "text/markdown")

    # When the ingest queue (the bucket's test event and the object's event) is drained into the worker
    worker.drain()

    # Then the file is uploaded (reconciled by the worker) and indexed
    indexed = get_file(invoke, admin["key"], file["id"])
    assert (indexed["status"], indexed["index_status"], indexed["index_error"]) == (
        "uploaded",
        "indexed",
        None,
    )
    assert indexed["chunk_count"] == 1
    assert indexed["indexed_at"] >= indexed["created_at"]
    # And its chunk holds the text without the Markdown noise
    (chunk,) = all_chunks(invoke, admin["key"], file["id"])
    assert chunk["id"] == f"{file['id']}:0"
    assert (chunk["file_id"], chunk["position"], chunk["page"]) == (file["id"], 0, None)
    assert chunk["content"].startswith(
        "Refund policy\n\nRefunds are paid within 14 days to the original card."
    )
    assert "billing team" in chunk["content"] and "https://" not in chunk["content"]
    assert chunk["display_text"].startswith("Refund policy Refunds are paid within 14 days")
    assert chunk["start"] == 0 and chunk["end"] == len(chunk["content"])


def test_a_file_uploaded_through_the_api_is_indexed_too(invoke, admin, worker, inbox, aws):
    raw = RawClient()
    body, content_type = multipart([("file", "notes.txt", "text/plain", b"Parley keeps files in S3.")])
    uploaded = raw(
        "UploadInboxFileFunction",
        key=admin["key"],
        body=body,
        content_type=content_type,
        path={"inbox_id": inbox["id"]},
    )
    assert uploaded.status == 201, uploaded.data
    file_id = uploaded.json()["id"]

    worker.drain()

    assert get_file(invoke, admin["key"], file_id)["index_status"] == "indexed"
    assert [c["content"] for c in all_chunks(invoke, admin["key"], file_id)] == ["Parley keeps files in S3."]


def test_a_long_pdf_is_chunked_with_overlap_and_pages(invoke, admin, bucket, worker, inbox):
    pages = [[f"Page {n} line {i}: the warranty covers parts and labour." for i in range(40)] for n in (1, 2)]
    file = upload(
        invoke, bucket, admin["key"], inbox["id"], "warranty.pdf", text_pdf(pages), "application/pdf"
    )

    worker.drain()

    assert get_file(invoke, admin["key"], file["id"])["index_status"] == "indexed"
    chunks = all_chunks(invoke, admin["key"], file["id"])
    assert len(chunks) == get_file(invoke, admin["key"], file["id"])["chunk_count"] > 2
    assert [c["position"] for c in chunks] == list(range(len(chunks)))
    assert {c["page"] for c in chunks} == {1, 2}
    assert all(c["content"].startswith(f"Page {c['page']} line") for c in chunks)
    assert all(later["start"] < earlier["end"] for earlier, later in itertools.pairwise(chunks))


def test_chunks_are_listed_in_pages_with_a_cursor(invoke, admin, bucket, worker, inbox):
    text = "\n\n".join(f"Paragraph {i}. " + "Words about refunds and returns. " * 30 for i in range(6))
    file = upload(invoke, bucket, admin["key"], inbox["id"], "long.txt", text.encode(), "text/plain")
    worker.drain()
    total = get_file(invoke, admin["key"], file["id"])["chunk_count"]
    assert total > 3

    first = list_chunks(invoke, admin["key"], file["id"], "limit=2")
    second = list_chunks(invoke, admin["key"], file["id"], f"limit=100&cursor={first.body['next_cursor']}")

    assert first.status == second.status == 200
    assert [c["position"] for c in first.body["data"]] == [0, 1] and first.body["has_more"]
    assert [c["position"] for c in second.body["data"]] == list(range(2, total))
    assert second.body["next_cursor"] is None and not second.body["has_more"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=forged"])
def test_a_bad_chunk_listing_query_is_refused(invoke, admin, bucket, worker, inbox, query):
    file = upload(invoke, bucket, admin["key"], inbox["id"], "a.txt", b"Some text.", "text/plain")

    reply = list_chunks(invoke, admin["key"], file["id"], query)

    assert reply.status in (400, 422)
    assert reply.body["error"]["type"] in ("validation_error", "bad_request")


def test_another_workspaces_file_has_no_chunks_to_list(invoke, admin, bucket, worker, inbox, other_key):
    file = upload(invoke, bucket, admin["key"], inbox["id"], "a.txt", b"Tenant secret.", "text/plain")
    worker.drain()

    reply = list_chunks(invoke, other_key, file["id"])

    assert reply.status == 404
    assert reply.body["error"]["type"] == "not_found"
    assert list_chunks(invoke, admin["key"], "file_missing").status == 404


# -- failures -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content_type", "data", "reason"),
    [
        ("photo.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image/png files are not indexed"),
        ("broken.pdf", "application/pdf", b"%PDF-1.7\nnot a pdf at all", "The PDF could not be read"),
        ("empty.txt", "text/plain", b"   \n\n  ", "The file has no text to index."),
        ("bad.json", "application/json", b'{"a": ', "The JSON could not be parsed"),
    ],
)
def test_a_file_that_cannot_be_indexed_is_failed_with_the_reason_and_not_retried(
    invoke, admin, bucket, worker, inbox, name, content_type, data, reason
):
    file = upload(invoke, bucket, admin["key"], inbox["id"], name, data, content_type)
    messages = [m for m in worker.receive() if events_of([m])]

    result = worker.deliver(messages)

    assert result["batchItemFailures"] == []  # acknowledged: retrying would fail the same way
    failed = get_file(invoke, admin["key"], file["id"])
    assert (failed["status"], failed["index_status"], failed["chunk_count"]) == ("uploaded", "failed", 0)
    assert failed["index_error"].startswith(reason)
    assert all_chunks(invoke, admin["key"], file["id"]) == []


def test_an_upload_of_the_wrong_size_fails_its_indexing_with_the_uploads_reason(
    invoke, admin, bucket, worker, inbox
):
    created = invoke(
        "CreateFileFunction",
        key=admin["key"],
        body={"inbox_id": inbox["id"], "name": "a.txt", "content_type": "text/plain", "size": 100},
    ).body
    bucket.put(stored_file(admin["workspace"]["id"], created["id"])["s3_key"], b"short", "text/plain")

    worker.drain()

    failed = get_file(invoke, admin["key"], created["id"])
    assert (failed["status"], failed["index_status"]) == ("failed", "failed")
    assert failed["index_error"] == f"The upload failed: {failed['error']}"


def test_a_file_too_large_to_index_is_failed_with_the_limit(
    invoke, admin, bucket, worker, inbox, monkeypatch
):
    monkeypatch.setattr(ingestion, "MAX_INDEXED_BYTES", 10)
    file = upload(invoke, bucket, admin["key"], inbox["id"], "big.txt", b"more than ten bytes", "text/plain")

    worker.drain()

    failed = get_file(invoke, admin["key"], file["id"])
    assert failed["index_status"] == "failed"
    assert failed["index_error"].startswith("The file is 19 bytes; files of at most 10 bytes")


def test_a_transient_failure_fails_the_record_so_it_is_retried(
    invoke, admin, bucket, worker, inbox, monkeypatch
):
    # Given S3 throttles the first read of the file's bytes
    file = upload(invoke, bucket, admin["key"], inbox["id"], "a.txt", b"Retry me.", "text/plain")
    messages = [m for m in worker.receive() if events_of([m])]
    real_get = ingestion.blobs.get_bytes
    throttled = ClientError(
        {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "GetObject"
    )
    monkeypatch.setattr(ingestion.blobs, "get_bytes", lambda key: (_ for _ in ()).throw(throttled))

    # When the record is delivered
    result = worker.deliver(messages)

    # Then it is reported failed (back to the queue) and the file is still pending
    assert result["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    assert get_file(invoke, admin["key"], file["id"])["index_status"] == "pending"

    # And the redelivery, once S3 answers again, indexes it
    monkeypatch.setattr(ingestion.blobs, "get_bytes", real_get)
    worker.drain()
    assert get_file(invoke, admin["key"], file["id"])["index_status"] == "indexed"


def test_the_last_attempt_of_a_failing_record_marks_the_file_failed(
    invoke, admin, bucket, worker, inbox, monkeypatch
):
    file = upload(invoke, bucket, admin["key"], inbox["id"], "a.txt", b"Never readable.", "text/plain")
    throttled = ClientError({"Error": {"Code": "SlowDown", "Message": "Slow down"}}, "GetObject")
    monkeypatch.setattr(ingestion.blobs, "get_bytes", lambda key: (_ for _ in ()).throw(throttled))

    receive_counts = []
    for _ in range(ingestion.MAX_ATTEMPTS):
        messages = [m for m in worker.receive() if events_of([m])]
        receive_counts.append(int(messages[0]["Attributes"]["ApproximateReceiveCount"]))
        result = worker.deliver(messages)
        assert len(result["batchItemFailures"]) == 1  # each attempt goes back (the last to the DLQ)

    assert receive_counts == [1, 2, 3, 4, 5]
    failed = get_file(invoke, admin["key"], file["id"])
    assert failed["index_status"] == "failed"
    assert failed["index_error"] == "Indexing failed after 5 attempts (ClientError)."


# -- at least once, in any order ------------------------------------------------------------------
def test_a_duplicated_event_neither_duplicates_chunks_nor_changes_the_file(
    invoke, admin, bucket, worker, inbox
):
    file = upload(invoke, bucket, admin["key"], inbox["id"], "refunds.md", GUIDE, "text/markdown")
    messages = [m for m in worker.receive() if events_of([m])]
    worker.deliver(messages)
    indexed = get_file(invoke, admin["key"], file["id"])
    chunks = all_chunks(invoke, admin["key"], file["id"])

    # When SQS delivers the same notification again (twice, in one batch)
    result = worker.deliver([messages[0], {**messages[0], "MessageId": "duplicate-2"}])

    assert result["batchItemFailures"] == []
    again = get_file(invoke, admin["key"], file["id"])
    assert (again["index_status"], again["chunk_count"], again["indexed_at"]) == (
        "indexed",
        indexed["chunk_count"],
        indexed["indexed_at"],
    )
    assert all_chunks(invoke, admin["key"], file["id"]) == chunks


def test_deleting_a_file_removes_its_chunks(invoke, admin, bucket, worker, inbox):
    file = upload(invoke, bucket, admin["key"], inbox["id"], "refunds.md", GUIDE, "text/markdown")
    worker.drain()
    workspace_id = admin["workspace"]["id"]
    assert chunk_store.list_for_file(workspace_id, file["id"], 10, None)[0]

    deleted = invoke("DeleteFileFunction", key=admin["key"], path={"file_id": file["id"]})
    assert deleted.status == 204
    removal = [m for m in worker.receive() if events_of([m])]
    assert [e.split(":")[0] for e in events_of(removal)] == ["ObjectRemoved"]
    worker.deliver(removal)

    assert chunk_store.list_for_file(workspace_id, file["id"], 10, None) == ([], None)


def test_a_created_event_handled_after_the_file_was_deleted_leaves_no_chunks(
    invoke, admin, bucket, worker, inbox
):
    # Given the file's created event is still queued when the file is deleted (and its removal handled)
    file = upload(invoke, bucket, admin["key"], inbox["id"], "refunds.md", GUIDE, "text/markdown")
    created = [m for m in worker.receive() if events_of([m])]
    invoke("DeleteFileFunction", key=admin["key"], path={"file_id": file["id"]})
    worker.drain()

    # When the created event comes late
    result = worker.deliver(created)

    # Then nothing is indexed for the deleted file
    assert result["batchItemFailures"] == []
    assert chunk_store.list_for_file(admin["workspace"]["id"], file["id"], 10, None) == ([], None)


def test_a_file_deleted_while_it_is_being_indexed_keeps_no_chunks(
    invoke, admin, bucket, worker, inbox, monkeypatch
):
    # Given the file is deleted (and its removal event handled) just before its chunks are written
    file = upload(invoke, bucket, admin["key"], inbox["id"], "refunds.md", GUIDE, "text/markdown")
    created = [m for m in worker.receive() if events_of([m])]
    real_replace = chunk_store.replace_file

    def delete_then_replace(workspace_id: str, record: dict[str, Any], chunks: list[Any]) -> None:
        assert invoke("DeleteFileFunction", key=admin["key"], path={"file_id": record["id"]}).status == 204
        worker.deliver([m for m in worker.receive() if events_of([m])])
        real_replace(workspace_id, record, chunks)

    monkeypatch.setattr(ingestion.chunks, "replace_file", delete_then_replace)

    # When the created event is handled
    result = worker.deliver(created)

    # Then the chunks written for the now deleted file are dropped again
    assert result["batchItemFailures"] == []
    assert chunk_store.list_for_file(admin["workspace"]["id"], file["id"], 10, None) == ([], None)


def test_a_file_superseded_while_it_is_being_indexed_keeps_no_chunks(
    invoke, admin, bucket, worker, inbox, monkeypatch
):
    # Given a newer upload of the same name is indexed just before the older one's chunks are written
    old = upload(
        invoke, bucket, admin["key"], inbox["id"], "policy.txt", b"Refunds take 14 days.", "text/plain"
    )
    created = [m for m in worker.receive() if events_of([m])]
    real_replace = chunk_store.replace_file
    newer: dict[str, Any] = {}

    def reupload_then_replace(workspace_id: str, record: dict[str, Any], chunks: list[Any]) -> None:
        if record["id"] == old["id"]:
            newer.update(
                upload(
                    invoke,
                    bucket,
                    admin["key"],
                    inbox["id"],
                    "policy.txt",
                    b"Refunds take 30 days.",
                    "text/plain",
                )
            )
            worker.deliver([m for m in worker.receive() if events_of([m])])
        real_replace(workspace_id, record, chunks)

    monkeypatch.setattr(ingestion.chunks, "replace_file", reupload_then_replace)

    # When the older file's event is handled
    worker.deliver(created)

    # Then only the newer file's chunks remain
    assert get_file(invoke, admin["key"], old["id"])["index_status"] == "superseded"
    assert all_chunks(invoke, admin["key"], old["id"]) == []
    assert [c["content"] for c in all_chunks(invoke, admin["key"], newer["id"])] == ["Refunds take 30 days."]


def test_deleting_an_inbox_removes_the_chunks_of_its_files(invoke, admin, bucket, worker, inbox):
    file = upload(invoke, bucket, admin["key"], inbox["id"], "refunds.md", GUIDE, "text/markdown")
    worker.drain()

    assert invoke("DeleteInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]}).status == 204
    worker.drain()

    assert chunk_store.list_for_file(admin["workspace"]["id"], file["id"], 10, None) == ([], None)


def test_bytes_removed_outside_the_api_unindex_the_file_with_the_reason(invoke, admin, bucket, worker, inbox):
    file = upload(invoke, bucket, admin["key"], inbox["id"], "refunds.md", GUIDE, "text/markdown")
    worker.drain()

    bucket.s3.delete_object(
        Bucket=bucket.name, Key=stored_file(admin["workspace"]["id"], file["id"])["s3_key"]
    )
    worker.drain()

    record = get_file(invoke, admin["key"], file["id"])
    assert (record["index_status"], record["chunk_count"]) == ("failed", 0)
    assert record["index_error"] == "The file's bytes were removed from storage."
    assert all_chunks(invoke, admin["key"], file["id"]) == []


def test_other_objects_and_the_s3_test_event_are_acknowledged_and_ignored(aws, bucket, worker):
    bucket.put("workspaces/ws_x/conversations/conv_1/messages/m.txt", b"a stored message body")

    messages = worker.receive()
    bodies = [json.loads(m["Body"]) for m in messages]
    result = worker.deliver(messages)

    assert [b.get("Event") for b in bodies if "Event" in b] == ["s3:TestEvent"]
    assert len(messages) == 2
    assert result["batchItemFailures"] == []


def test_a_message_that_is_not_an_s3_notification_is_acknowledged(aws, worker):
    worker.sqs.send_message(QueueUrl=worker.url, MessageBody="not json")
    worker.sqs.send_message(QueueUrl=worker.url, MessageBody=json.dumps({"Records": [{"eventName": 1}]}))

    messages = worker.receive()
    result = worker.deliver(messages)

    assert result["batchItemFailures"] == []
    assert worker.receive() == []


# -- re-uploads -----------------------------------------------------------------------------------
def test_a_re_upload_of_the_same_name_replaces_the_older_files_chunks(invoke, admin, bucket, worker, inbox):
    # Given a file indexed once
    old = upload(
        invoke, bucket, admin["key"], inbox["id"], "policy.txt", b"Refunds take 14 days.", "text/plain"
    )
    worker.drain()

    # When a new version of it is uploaded to the same inbox under the same name
    new = upload(
        invoke, bucket, admin["key"], inbox["id"], "policy.txt", b"Refunds take 30 days.", "text/plain"
    )
    worker.drain()

    # Then only the new version's chunks remain; the old one is superseded but still there
    assert [c["content"] for c in all_chunks(invoke, admin["key"], new["id"])] == ["Refunds take 30 days."]
    assert all_chunks(invoke, admin["key"], old["id"]) == []
    superseded = get_file(invoke, admin["key"], old["id"])
    assert (superseded["status"], superseded["index_status"], superseded["chunk_count"]) == (
        "uploaded",
        "superseded",
        0,
    )
    assert get_file(invoke, admin["key"], new["id"])["index_status"] == "indexed"
    # And the same name elsewhere (another inbox) is not touched
    other_inbox = invoke("CreateInboxFunction", key=admin["key"], body={"name": "Other"}).body
    elsewhere = upload(invoke, bucket, admin["key"], other_inbox["id"], "policy.txt", b"Other.", "text/plain")
    worker.drain()
    assert get_file(invoke, admin["key"], elsewhere["id"])["index_status"] == "indexed"
    assert get_file(invoke, admin["key"], new["id"])["index_status"] == "indexed"


def test_an_older_uploads_late_event_does_not_index_it_over_the_newer_one(
    invoke, admin, bucket, worker, inbox
):
    # Given two uploads of one name whose events arrive newest first
    old = upload(
        invoke, bucket, admin["key"], inbox["id"], "policy.txt", b"Refunds take 14 days.", "text/plain"
    )
    old_event = [m for m in worker.receive() if events_of([m])]
    new = upload(
        invoke, bucket, admin["key"], inbox["id"], "policy.txt", b"Refunds take 30 days.", "text/plain"
    )
    worker.drain()

    # When the older upload's event comes last
    worker.deliver(old_event)

    # Then the older file is superseded, never indexed, and the newer keeps its chunks
    assert get_file(invoke, admin["key"], old["id"])["index_status"] == "superseded"
    assert all_chunks(invoke, admin["key"], old["id"]) == []
    assert [c["content"] for c in all_chunks(invoke, admin["key"], new["id"])] == ["Refunds take 30 days."]


def test_a_file_from_before_indexing_shows_no_index_status_until_an_event_indexes_it(
    invoke, admin, bucket, worker, inbox
):
    # Given a file record written before files had an index status (its event not handled yet)
    file = upload(invoke, bucket, admin["key"], inbox["id"], "old.txt", b"Written long ago.", "text/plain")
    legacy = {"index_status": None}  # a None value removes the field
    assert file_store.set_index_state(admin["workspace"]["id"], file["id"], legacy, from_states=("pending",))

    before = get_file(invoke, admin["key"], file["id"])
    worker.drain()
    after = get_file(invoke, admin["key"], file["id"])

    assert (before["index_status"], before["chunk_count"], before["indexed_at"]) == (None, None, None)
    assert (after["index_status"], after["chunk_count"]) == ("indexed", 1)
