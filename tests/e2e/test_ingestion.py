"""Ingestion end to end on the devstack: a real presigned PUT to the local S3, whose event notification
reaches the ingest queue and its worker (configured from template.yaml alone); the file becomes
indexed (or failed, with the reason) and its chunks are listed; a re-upload replaces them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient
from tests.e2e.test_files import auth, put

pytestmark = pytest.mark.e2e

# A bound on waiting for the worker, not a timing assertion: the queue is polled continuously, and a
# loaded machine can take a while to get to it.
WAIT_SECONDS = 60

NOTE = b"""# Warranty

Every Parley toaster has a **two-year** warranty covering parts and labour.

## Returns

Unused toasters can be returned within 30 days of delivery for a full refund.
"""


@pytest.fixture(scope="module")
def inbox(api: ApiClient, key: str) -> dict[str, Any]:
    status, _, body = api.post("/v1/inboxes", headers=auth(key), json={"name": "e2e ingestion"})
    assert status == 201, body
    return dict(body)


def upload(api: ApiClient, key: str, inbox_id: str, name: str, data: bytes, content_type: str) -> str:
    status, _, created = api.post(
        "/v1/files",
        headers=auth(key),
        json={"inbox_id": inbox_id, "name": name, "content_type": content_type, "size": len(data)},
    )
    assert status == 201, created
    assert created["index_status"] == "pending"
    assert put(created["upload_url"], data, created["upload_headers"]) == 200
    return str(created["id"])


def settled(api: ApiClient, key: str, file_id: str) -> dict[str, Any]:
    """The file once the worker has settled its index status (or as it is when the wait runs out)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status, _, file = api.get(f"/v1/files/{file_id}", headers=auth(key))
        assert status == 200, file
        if file["index_status"] != "pending" or time.monotonic() > deadline:
            return dict(file)
        time.sleep(0.2)


def chunks_of(api: ApiClient, key: str, file_id: str) -> tuple[int, Any]:
    status, _, body = api.get(f"/v1/files/{file_id}/chunks?limit=100", headers=auth(key))
    return status, body


def test_an_uploaded_markdown_file_is_indexed_and_its_chunks_listed(api, key, inbox):
    file_id = upload(api, key, inbox["id"], "warranty.md", NOTE, "text/markdown")

    file = settled(api, key, file_id)

    assert (file["status"], file["index_status"], file["index_error"]) == ("uploaded", "indexed", None)
    assert file["chunk_count"] == 1
    status, body = chunks_of(api, key, file_id)
    assert status == 200, body
    (chunk,) = body["data"]
    assert chunk["id"] == f"{file_id}:0"
    assert chunk["content"].startswith("Warranty\n\nEvery Parley toaster has a two-year warranty")
    assert "Unused toasters can be returned within 30 days" in chunk["content"]
    assert chunk["display_text"].startswith("Warranty Every Parley toaster")


def test_a_file_that_cannot_be_indexed_fails_with_the_reason(api, key, inbox):
    file_id = upload(api, key, inbox["id"], "broken.pdf", b"%PDF-1.7 truncated", "application/pdf")

    file = settled(api, key, file_id)

    assert file["index_status"] == "failed"
    assert file["index_error"].startswith("The PDF could not be read")
    assert chunks_of(api, key, file_id) == (200, {"data": [], "next_cursor": None, "has_more": False})


def test_a_re_upload_of_the_same_name_replaces_the_older_files_chunks(api, key, inbox):
    old_id = upload(api, key, inbox["id"], "policy.txt", b"Refunds take 14 days.", "text/plain")
    assert settled(api, key, old_id)["index_status"] == "indexed"

    new_id = upload(api, key, inbox["id"], "policy.txt", b"Refunds take 30 days.", "text/plain")
    assert settled(api, key, new_id)["index_status"] == "indexed"

    old = settled(api, key, old_id)
    assert (old["status"], old["index_status"], old["chunk_count"]) == ("uploaded", "superseded", 0)
    assert chunks_of(api, key, old_id) == (200, {"data": [], "next_cursor": None, "has_more": False})
    assert chunks_of(api, key, new_id)[1]["data"][0]["content"] == "Refunds take 30 days."
