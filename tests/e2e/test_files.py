"""Files end to end on the devstack: a real presigned PUT to the local S3, the record reconciled, and the
bytes downloaded back identical through the presigned GET and through the API; a multipart upload
through the gateway."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient
from tests.integration.files_support import BINARY, multipart

pytestmark = pytest.mark.e2e


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def inbox(api: ApiClient, key: str) -> dict[str, Any]:
    status, _, body = api.post("/v1/inboxes", headers=auth(key), json={"name": "e2e files"})
    assert status == 201, body
    return dict(body)


def put(url: str, data: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def download(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers.get("content-type", "")


def test_a_file_uploaded_through_its_presigned_url_downloads_back_byte_identical(api, key, inbox):
    status, _, created = api.post(
        "/v1/files",
        headers=auth(key),
        json={
            "inbox_id": inbox["id"],
            "name": "data.bin",
            "content_type": "application/pdf",
            "size": len(BINARY),
        },
    )
    assert status == 201, created
    assert created["status"] == "pending"

    assert put(created["upload_url"], BINARY, created["upload_headers"]) == 200
    status, _, file = api.get(f"/v1/files/{created['id']}", headers=auth(key))

    assert status == 200, file
    assert file["status"] == "uploaded"
    assert file["checksum"] == hashlib.sha256(BINARY).hexdigest()
    data, content_type = download(file["download_url"])
    assert data == BINARY
    assert content_type == "application/pdf"
    status, headers, raw = api.raw("GET", f"/v1/files/{created['id']}/content", headers=auth(key))
    assert status == 200
    assert raw == BINARY
    assert headers["content-type"] == "application/pdf"


def test_a_presigned_url_uploads_once(api, key, inbox):
    status, _, created = api.post(
        "/v1/files",
        headers=auth(key),
        json={"inbox_id": inbox["id"], "name": "once.txt", "content_type": "text/plain", "size": 5},
    )
    assert status == 201, created
    assert put(created["upload_url"], b"first", created["upload_headers"]) == 200

    with pytest.raises(urllib.error.HTTPError) as refused:
        put(created["upload_url"], b"again", created["upload_headers"])

    assert refused.value.code == 412
    status, _, file = api.get(f"/v1/files/{created['id']}", headers=auth(key))
    assert file["checksum"] == hashlib.sha256(b"first").hexdigest()


def test_a_multipart_upload_through_the_gateway_downloads_back_byte_identical(api, key, inbox):
    body, content_type = multipart([("file", "scan.png", "image/png", BINARY)])

    status, _, file = api.post(
        f"/v1/inboxes/{inbox['id']}/files", headers={**auth(key), "content-type": content_type}, body=body
    )

    assert status == 201, file
    assert file["status"] == "uploaded"
    assert file["checksum"] == hashlib.sha256(BINARY).hexdigest()
    status, _, raw = api.raw("GET", f"/v1/files/{file['id']}/content", headers=auth(key))
    assert (status, raw) == (200, BINARY)
    assert download(file["download_url"])[0] == BINARY
    status, _, listed = api.get(f"/v1/inboxes/{inbox['id']}/files?name=scan.png", headers=auth(key))
    assert [f["id"] for f in listed["data"]] == [file["id"]]


def test_a_deleted_file_is_gone_with_its_bytes(api, key, inbox):
    body, content_type = multipart([("file", "gone.txt", "text/plain", b"bye")])
    _, _, file = api.post(
        f"/v1/inboxes/{inbox['id']}/files", headers={**auth(key), "content-type": content_type}, body=body
    )

    status, _, _ = api.delete(f"/v1/files/{file['id']}", headers=auth(key))

    assert status == 204
    assert api.get(f"/v1/files/{file['id']}", headers=auth(key)).status == 404
    with pytest.raises(urllib.error.HTTPError) as missing:
        download(file["download_url"])
    assert missing.value.code in (403, 404)  # S3 says 403 for a missing key to who may not list the bucket
