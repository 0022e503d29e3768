"""Size and count limits over the devstack: each is a clear 4xx that names the limit."""

from __future__ import annotations

from typing import Any

import pytest

from parley.models.files import MAX_DIRECT_UPLOAD_BYTES, MAX_FILE_BYTES
from parley.models.messages import MAX_ATTACHMENTS, MAX_CONTENT_CHARS
from tests.e2e.devstack_process import ApiClient
from tests.integration.files_support import multipart

pytestmark = pytest.mark.e2e

MAX_BODY_BYTES = 1_048_576  # the default PARLEY_MAX_BODY_BYTES
MAX_PAGE = 100


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def conversation(api: ApiClient, key: str) -> str:
    status, _, body = api.post("/v1/conversations", headers=auth(key), json={"title": "limits"})
    assert status == 201, body
    return str(body["id"])


def send(api: ApiClient, key: str, conversation: str, **body: Any) -> Any:
    return api.post(f"/v1/conversations/{conversation}/messages", headers=auth(key), json=body)


def error_locations(body: Any) -> list[list[str]]:
    return [detail["loc"] for detail in body["error"].get("details", [])]


def test_message_content_over_the_character_limit_is_a_422(api, key, conversation):
    status, _, body = send(api, key, conversation, content="x" * (MAX_CONTENT_CHARS + 1))

    assert status == 422
    assert ["body", "content"] in error_locations(body)
    assert str(MAX_CONTENT_CHARS) in str(body["error"]["details"])


def test_a_request_body_over_the_byte_limit_is_a_413(api, key, conversation):
    status, _, body = send(api, key, conversation, content="x" * MAX_BODY_BYTES)

    assert status == 413
    assert body["error"]["type"] == "payload_too_large"
    assert str(MAX_BODY_BYTES) in body["error"]["message"]


def test_more_attachments_than_allowed_is_a_422(api, key, conversation):
    attachments = [{"file_id": f"f{i}"} for i in range(MAX_ATTACHMENTS + 1)]

    status, _, body = send(api, key, conversation, content="hi", attachments=attachments)

    assert status == 422
    assert ["body", "attachments"] in error_locations(body)
    assert str(MAX_ATTACHMENTS) in str(body["error"]["details"])


def test_a_message_page_larger_than_allowed_is_a_422(api, key, conversation):
    status, _, body = api.get(
        f"/v1/conversations/{conversation}/messages?limit={MAX_PAGE + 1}", headers=auth(key)
    )

    assert status == 422
    assert ["query", "limit"] in error_locations(body)
    assert str(MAX_PAGE) in str(body["error"]["details"])


def test_a_file_larger_than_allowed_is_refused_with_413(api, key):
    _, _, inbox = api.post("/v1/inboxes", headers=auth(key), json={"name": "limits"})
    declared = {"inbox_id": inbox["id"], "name": "big.bin", "content_type": "application/octet-stream"}

    status, _, body = api.post("/v1/files", headers=auth(key), json={**declared, "size": MAX_FILE_BYTES + 1})

    assert status == 413
    assert str(MAX_FILE_BYTES) in body["error"]["message"]


def test_a_direct_upload_larger_than_allowed_is_refused_with_413(api, key):
    _, _, inbox = api.post("/v1/inboxes", headers=auth(key), json={"name": "limits upload"})
    upload, content_type = multipart(
        [("file", "big.bin", "application/octet-stream", b"x" * MAX_DIRECT_UPLOAD_BYTES)]
    )

    status, _, body = api.post(
        f"/v1/inboxes/{inbox['id']}/files", headers={**auth(key), "content-type": content_type}, body=upload
    )

    assert status == 413
    assert str(MAX_DIRECT_UPLOAD_BYTES) in body["error"]["message"]
