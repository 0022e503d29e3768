"""Files through their handlers against moto: presigned uploads and their reconciliation, uploads through
the API (multipart/form-data), downloads (presigned and inline, byte for byte), limits, deletion,
attachments, and tenant isolation.

Under moto's in-process mock a presigned URL cannot be called over HTTP, so a client's PUT is
simulated by writing the same key; tests/e2e/test_files.py does the real round trip on the devstack.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from parley.models.files import MAX_DIRECT_UPLOAD_BYTES, MAX_FILE_BYTES, MAX_INLINE_DOWNLOAD_BYTES
from tests.integration.files_support import BINARY, Bucket, RawClient, multipart, sha256, stored_file


@pytest.fixture
def bucket(aws) -> Bucket:
    return Bucket(aws)


@pytest.fixture
def raw(aws) -> RawClient:
    return RawClient()


@pytest.fixture
def inbox(invoke, admin) -> dict[str, Any]:
    reply = invoke("CreateInboxFunction", key=admin["key"], body={"name": "Docs"})
    assert reply.status == 201, reply.body
    return reply.body


def new_file(invoke, key: str, inbox_id: str, **overrides: Any) -> Any:
    body: dict[str, Any] = {"inbox_id": inbox_id, "name": "report.bin", "size": len(BINARY)}
    body["content_type"] = "application/octet-stream"
    return invoke("CreateFileFunction", key=key, body={**body, **overrides})


def get_file(invoke, key: str, file_id: str) -> Any:
    return invoke("GetFileFunction", key=key, path={"file_id": file_id})


def content(raw: RawClient, key: str, file_id: str) -> Any:
    return raw("GetFileContentFunction", key=key, path={"file_id": file_id})


def upload(raw: RawClient, key: str, inbox_id: str, parts: list[Any]) -> Any:
    body, content_type = multipart(parts)
    return raw(
        "UploadInboxFileFunction", key=key, body=body, content_type=content_type, path={"inbox_id": inbox_id}
    )


def uploaded(invoke, bucket: Bucket, admin, inbox, data: bytes = BINARY, **overrides: Any) -> dict[str, Any]:
    """A file created, its bytes PUT, and reconciled by a GET."""
    created = new_file(invoke, admin["key"], inbox["id"], size=len(data), **overrides)
    assert created.status == 201, created.body
    record = stored_file(admin["workspace"]["id"], created.body["id"])
    bucket.put(record["s3_key"], data, record["content_type"])
    fetched = get_file(invoke, admin["key"], created.body["id"])
    assert fetched.status == 200, fetched.body
    return dict(fetched.body)


# ------------------------------------------------------------------------------ presigned uploads


def test_creating_a_file_answers_a_pending_record_and_a_presigned_put_under_the_workspace_prefix(
    invoke, admin, inbox, bucket
):
    created = new_file(
        invoke, admin["key"], inbox["id"], name="Q3 report (final).pdf", content_type="application/pdf"
    )

    assert created.status == 201
    file = created.body
    assert file["id"].startswith("file_")
    assert file["status"] == "pending"
    assert file["checksum"] is None
    assert file["download_url"] is None
    assert (file["inbox_id"], file["name"], file["size"]) == (
        inbox["id"],
        "Q3 report (final).pdf",
        len(BINARY),
    )
    assert file["upload_headers"] == {"Content-Type": "application/pdf", "If-None-Match": "*"}
    assert file["expires_at"] > file["created_at"]
    url = urlsplit(file["upload_url"])
    assert "X-Amz-Signature=" in url.query
    key = stored_file(admin["workspace"]["id"], file["id"])["s3_key"]
    assert key == f"workspaces/{admin['workspace']['id']}/files/{file['id']}/Q3_report__final_.pdf"
    assert unquote(url.path).endswith(key)
    assert url.hostname is not None and bucket.name in (url.hostname + url.path)


def test_a_pending_file_becomes_uploaded_with_its_sha256_once_its_bytes_are_there(
    invoke, admin, inbox, bucket
):
    created = new_file(invoke, admin["key"], inbox["id"]).body
    before = get_file(invoke, admin["key"], created["id"])
    assert before.body["status"] == "pending"
    assert before.body["download_url"] is None

    bucket.put(stored_file(admin["workspace"]["id"], created["id"])["s3_key"], BINARY)
    after = get_file(invoke, admin["key"], created["id"])

    assert after.status == 200
    assert after.body["status"] == "uploaded"
    assert after.body["checksum"] == sha256(BINARY)
    assert after.body["uploaded_at"] is not None
    assert after.body["download_url"] is not None
    assert "X-Amz-Signature=" in after.body["download_url"]
    assert stored_file(admin["workspace"]["id"], created["id"])["status"] == "uploaded"


def test_an_upload_of_another_size_than_declared_fails_with_the_reason(invoke, admin, inbox, bucket, raw):
    created = new_file(invoke, admin["key"], inbox["id"], size=10).body
    bucket.put(stored_file(admin["workspace"]["id"], created["id"])["s3_key"], b"0123456789AB")

    fetched = get_file(invoke, admin["key"], created["id"]).body

    assert fetched["status"] == "failed"
    assert "12 bytes" in fetched["error"]
    assert "10 bytes" in fetched["error"]
    assert fetched["checksum"] is None
    assert fetched["download_url"] is None
    refused = content(raw, admin["key"], created["id"])
    assert refused.status == 409
    assert "failed" in refused.json()["error"]["message"]


def test_a_file_whose_upload_url_expired_with_nothing_uploaded_fails(invoke, admin, inbox):
    from parley.store import table

    created = new_file(invoke, admin["key"], inbox["id"]).body
    table.update(
        f"W#{admin['workspace']['id']}",
        f"F#{created['id']}",
        set_fields={"upload_expires_at": "2020-01-01T00:00:00.000Z"},
    )

    fetched = get_file(invoke, admin["key"], created["id"]).body

    assert fetched["status"] == "failed"
    assert "expired" in fetched["error"]
    assert stored_file(admin["workspace"]["id"], created["id"])["status"] == "failed"


def test_a_file_without_its_bytes_stays_pending_and_has_no_content_yet(invoke, admin, inbox, raw):
    created = new_file(invoke, admin["key"], inbox["id"]).body

    assert get_file(invoke, admin["key"], created["id"]).body["status"] == "pending"
    refused = content(raw, admin["key"], created["id"])
    assert refused.status == 409
    assert refused.json()["error"]["type"] == "invalid_state"


# ------------------------------------------------------------------------------ downloads


def test_the_content_endpoint_returns_the_exact_bytes_with_the_files_content_type(
    invoke, admin, inbox, bucket, raw
):
    file = uploaded(invoke, bucket, admin, inbox, name="café.png", content_type="image/png")

    reply = content(raw, admin["key"], file["id"])

    assert reply.status == 200
    assert reply.data == BINARY
    assert reply.headers["content-type"] == "image/png"
    assert reply.headers["content-disposition"] == (
        "attachment; filename=\"caf_.png\"; filename*=UTF-8''caf%C3%A9.png"
    )


def test_the_content_endpoint_reconciles_a_pending_upload_first(invoke, admin, inbox, bucket, raw):
    created = new_file(invoke, admin["key"], inbox["id"]).body
    bucket.put(stored_file(admin["workspace"]["id"], created["id"])["s3_key"], BINARY)

    reply = content(raw, admin["key"], created["id"])

    assert reply.status == 200
    assert reply.data == BINARY
    assert get_file(invoke, admin["key"], created["id"]).body["checksum"] == sha256(BINARY)


def test_a_file_too_large_to_return_inline_is_a_413_pointing_at_its_download_url(invoke, admin, inbox, raw):
    created = new_file(invoke, admin["key"], inbox["id"], size=MAX_INLINE_DOWNLOAD_BYTES + 1).body

    reply = content(raw, admin["key"], created["id"])

    assert reply.status == 413
    message = reply.json()["error"]["message"]
    assert str(MAX_INLINE_DOWNLOAD_BYTES) in message
    assert "download_url" in message


# ------------------------------------------------------------------------------ what is accepted


@pytest.mark.parametrize(
    ("content_type", "kept"),
    [
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("Text/Markdown", "text/markdown"),
        ("text/csv", "text/csv"),
        ("application/json", "application/json"),
        ("application/pdf", "application/pdf"),
        ("image/jpeg", "image/jpeg"),
    ],
)
def test_accepted_content_types_are_kept_with_a_lower_cased_media_type(
    invoke, admin, inbox, content_type, kept
):
    created = new_file(invoke, admin["key"], inbox["id"], content_type=content_type)

    assert created.status == 201, created.body
    assert created.body["content_type"] == kept


@pytest.mark.parametrize("content_type", ["application/x-msdownload", "video/mp4", "not a type", ""])
def test_a_content_type_outside_the_allowlist_is_a_422(invoke, admin, inbox, content_type):
    refused = new_file(invoke, admin["key"], inbox["id"], content_type=content_type)

    assert refused.status == 422
    assert refused.body["error"]["details"][0]["loc"] == ["body", "content_type"]


def test_a_file_over_the_size_limit_is_a_413_naming_the_limit(invoke, admin, inbox):
    refused = new_file(invoke, admin["key"], inbox["id"], size=MAX_FILE_BYTES + 1)

    assert refused.status == 413
    assert str(MAX_FILE_BYTES) in refused.body["error"]["message"]


@pytest.mark.parametrize(
    ("field", "value"), [("size", 0), ("name", "../etc/passwd"), ("name", "a\nb"), ("name", "")]
)
def test_an_empty_size_or_a_name_that_is_not_a_plain_file_name_is_a_422(invoke, admin, inbox, field, value):
    refused = new_file(invoke, admin["key"], inbox["id"], **{field: value})

    assert refused.status == 422
    assert refused.body["error"]["details"][0]["loc"] == ["body", field]


def test_a_file_for_an_unknown_inbox_is_a_404_and_leaves_nothing_behind(invoke, admin, bucket):
    refused = new_file(invoke, admin["key"], "inbox_missing")

    assert refused.status == 404
    assert "inbox_missing" in refused.body["error"]["message"]
    assert bucket.object_keys() == []


# ------------------------------------------------------------------------------ uploads through the API


def test_a_multipart_upload_stores_the_exact_bytes_as_an_uploaded_file(invoke, admin, inbox, bucket, raw):
    reply = upload(raw, admin["key"], inbox["id"], [("file", "scan.png", "image/png", BINARY)])

    assert reply.status == 201, reply.data
    file = reply.json()
    assert file["status"] == "uploaded"
    assert (file["name"], file["content_type"], file["size"]) == ("scan.png", "image/png", len(BINARY))
    assert file["checksum"] == sha256(BINARY)
    assert file["download_url"] is not None
    key = stored_file(admin["workspace"]["id"], file["id"])["s3_key"]
    assert key.startswith(f"workspaces/{admin['workspace']['id']}/files/{file['id']}/")
    assert bucket.get(key) == BINARY
    assert content(raw, admin["key"], file["id"]).data == BINARY


def test_a_multipart_upload_accepts_shinkais_file_data_and_filename_parts(invoke, admin, inbox, raw):
    parts = [
        ("file_inbox_name", None, None, b"ignored: the path names the inbox"),
        ("filename", None, None, "notes é.md".encode()),
        ("file_data", "blob", "application/octet-stream", b"# Notes\n"),
    ]

    reply = upload(raw, admin["key"], inbox["id"], parts)

    assert reply.status == 201, reply.data
    file = reply.json()
    assert file["name"] == "notes é.md"
    assert file["content_type"] == "text/markdown"  # from the extension, the part said octet-stream
    assert content(raw, admin["key"], file["id"]).data == b"# Notes\n"


def test_an_empty_multipart_file_is_a_422(admin, inbox, raw):
    reply = upload(raw, admin["key"], inbox["id"], [("file", "empty.txt", "text/plain", b"")])

    assert reply.status == 422
    assert reply.json()["error"]["details"][0]["loc"] == ["body", "file"]


def test_a_multipart_body_without_a_file_part_is_a_422(admin, inbox, raw):
    reply = upload(raw, admin["key"], inbox["id"], [("note", None, None, b"hello")])

    assert reply.status == 422
    assert reply.json()["error"]["details"][0]["loc"] == ["body", "file"]


def test_a_multipart_file_of_a_refused_content_type_is_a_422(admin, inbox, raw):
    reply = upload(raw, admin["key"], inbox["id"], [("file", "setup.exe", "application/x-msdownload", b"MZ")])

    assert reply.status == 422


def test_an_upload_that_is_not_multipart_is_a_400(admin, inbox, raw):
    reply = raw(
        "UploadInboxFileFunction",
        key=admin["key"],
        body=b'{"file": "x"}',
        content_type="application/json",
        path={"inbox_id": inbox["id"]},
    )

    assert reply.status == 400
    assert "multipart/form-data" in reply.json()["error"]["message"]


def test_a_multipart_body_over_the_limit_is_a_413_naming_the_limit(admin, inbox, raw, bucket):
    data = b"x" * MAX_DIRECT_UPLOAD_BYTES

    reply = upload(raw, admin["key"], inbox["id"], [("file", "big.txt", "text/plain", data)])

    assert reply.status == 413
    assert str(MAX_DIRECT_UPLOAD_BYTES) in reply.json()["error"]["message"]
    assert bucket.object_keys() == []


def test_a_multipart_upload_to_an_unknown_inbox_is_a_404(admin, raw, bucket):
    reply = upload(raw, admin["key"], "inbox_missing", [("file", "a.txt", "text/plain", b"a")])

    assert reply.status == 404
    assert bucket.object_keys() == []


# ------------------------------------------------------------------------------ deletion


def test_deleting_a_file_removes_its_record_its_object_and_its_count_in_the_inbox(
    invoke, admin, inbox, bucket
):
    file = uploaded(invoke, bucket, admin, inbox)
    key = stored_file(admin["workspace"]["id"], file["id"])["s3_key"]
    assert (
        invoke("GetInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]}).body["file_count"] == 1
    )

    deleted = invoke("DeleteFileFunction", key=admin["key"], path={"file_id": file["id"]})

    assert deleted.status == 204
    assert key not in bucket.object_keys()
    assert get_file(invoke, admin["key"], file["id"]).status == 404
    assert (
        invoke("GetInboxFunction", key=admin["key"], path={"inbox_id": inbox["id"]}).body["file_count"] == 0
    )
    assert invoke("DeleteFileFunction", key=admin["key"], path={"file_id": file["id"]}).status == 404


# ------------------------------------------------------------------------------ listing


def test_an_inbox_lists_its_files_by_name_with_download_urls_for_uploaded_ones(invoke, admin, inbox, bucket):
    done = uploaded(invoke, bucket, admin, inbox, name="b.txt", content_type="text/plain")
    waiting = new_file(invoke, admin["key"], inbox["id"], name="a.txt", content_type="text/plain").body

    listed = invoke("ListInboxFilesFunction", key=admin["key"], path={"inbox_id": inbox["id"]})

    assert listed.status == 200
    assert [f["id"] for f in listed.body["data"]] == [waiting["id"], done["id"]]
    assert listed.body["data"][0]["download_url"] is None
    assert listed.body["data"][1]["download_url"] is not None


def test_files_of_one_name_are_found_by_name(invoke, admin, inbox):
    wanted = new_file(invoke, admin["key"], inbox["id"], name="a.txt").body
    new_file(invoke, admin["key"], inbox["id"], name="a.txt#2")
    new_file(invoke, admin["key"], inbox["id"], name="a.txt.bak")

    listed = invoke(
        "ListInboxFilesFunction", key=admin["key"], path={"inbox_id": inbox["id"]}, query="name=a.txt"
    )

    assert [f["id"] for f in listed.body["data"]] == [wanted["id"]]


# ------------------------------------------------------------------------------ attachments


@pytest.fixture
def conversation(invoke, admin) -> dict[str, Any]:
    reply = invoke("CreateConversationFunction", key=admin["key"], body={"title": "with files"})
    assert reply.status == 201
    return reply.body


def send(invoke, key: str, conversation_id: str, attachments: list[dict[str, Any]]) -> Any:
    return invoke(
        "SendMessageFunction",
        key=key,
        path={"conversation_id": conversation_id},
        body={"content": "see attached", "attachments": attachments, "respond": False},
    )


def test_a_message_may_attach_files_of_its_workspace(invoke, admin, inbox, conversation):
    file = new_file(invoke, admin["key"], inbox["id"]).body
    attachments = [{"file_id": file["id"], "name": "report.bin"}, {"url": "https://example.com/a.png"}]

    sent = send(invoke, admin["key"], conversation["id"], attachments)

    assert sent.status == 202, sent.body
    assert sent.body["message"]["attachments"] == attachments


def test_an_attachment_naming_an_unknown_file_is_a_422_naming_it(invoke, admin, inbox, conversation):
    file = new_file(invoke, admin["key"], inbox["id"]).body

    refused = send(
        invoke, admin["key"], conversation["id"], [{"file_id": file["id"]}, {"file_id": "file_nope"}]
    )

    assert refused.status == 422
    assert "file_nope" in refused.body["error"]["message"]
    assert refused.body["error"]["details"][0]["loc"] == ["body", "attachments", "1", "file_id"]


def test_an_attachment_naming_another_workspaces_file_is_a_422(invoke, admin, other_key, conversation):
    other_inbox = invoke("CreateInboxFunction", key=other_key, body={}).body
    theirs = new_file(invoke, other_key, other_inbox["id"]).body

    refused = send(invoke, admin["key"], conversation["id"], [{"file_id": theirs["id"]}])

    assert refused.status == 422
    assert theirs["id"] in refused.body["error"]["message"]


# ------------------------------------------------------------------------------ isolation


def test_another_workspaces_file_and_inbox_are_not_found_anywhere(
    invoke, admin, inbox, bucket, raw, other_key
):
    file = uploaded(invoke, bucket, admin, inbox)

    assert get_file(invoke, other_key, file["id"]).status == 404
    assert content(raw, other_key, file["id"]).status == 404
    assert invoke("DeleteFileFunction", key=other_key, path={"file_id": file["id"]}).status == 404
    assert new_file(invoke, other_key, inbox["id"]).status == 404
    assert invoke("ListInboxFilesFunction", key=other_key, path={"inbox_id": inbox["id"]}).status == 404
    assert upload(raw, other_key, inbox["id"], [("file", "a.txt", "text/plain", b"a")]).status == 404
    assert get_file(invoke, admin["key"], file["id"]).body["status"] == "uploaded"
