"""Mielto's messages API (docs.mielto.com/api-reference/messages) on the devstack, over HTTP."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

MESSAGE_READ_FIELDS = {
    "id",
    "conversation_id",
    "sender_id",
    "content",
    "workspace_id",
    "role",
    "tool_calls",
    "message_type",
    "tags",
    "checksum",
    "attachments",
    "parent_message_id",
    "meta_data",
    "sent_at",
    "owner_id",
    "created_at",
    "updated_at",
}
# The seed page's request example (docs.mielto.com/api-reference/messages/create-message).
SEED_MESSAGE: dict[str, Any] = {
    "content": "Hello",
    "role": "user",
    "message_type": "text",
    "sender_id": "u1",
    "created_at": "2025-06-10T10:28:06.658Z",
    "tool_calls": [],
    "parent_message_id": None,
    "tags": [],
    "meta_data": {},
    "attachments": [],
}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def conversation(api: ApiClient, key: str, title: str = "Mielto") -> str:
    status, _, body = api.post("/api/v1/conversations", headers=bearer(key), json={"title": title})
    assert status == 201, body
    return str(body["id"])


def listed(api: ApiClient, key: str, **params: Any) -> list[dict[str, Any]]:
    status, _, body = api.get(f"/api/v1/messages?{urlencode(params)}", headers=bearer(key))
    assert status == 200, body
    assert isinstance(body, list)
    return body


def post_messages(api: ApiClient, key: str, conversation_id: str, content: Any) -> list[dict[str, Any]]:
    status, _, body = api.post(
        "/api/v1/messages",
        headers=bearer(key),
        json={"conversation_id": conversation_id, "content": content, "enable_memories": False},
    )
    assert status == 201, body
    return list(body)


def until_replied(api: ApiClient, key: str, conversation_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        found = listed(api, key, conversation_id=conversation_id)
        if sum(m["role"] == "assistant" for m in found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture
def conversation_id(api: ApiClient, key: str) -> str:
    return conversation(api, key)


def test_seed_example_creates_one_message_as_a_list_of_message_read(api, key, conversation_id):
    status, _, body = api.post(
        "/api/v1/messages",
        headers=bearer(key),
        json={"conversation_id": conversation_id, "content": SEED_MESSAGE, "enable_memories": False},
    )

    assert status == 201
    assert isinstance(body, list)
    assert len(body) == 1
    message = body[0]
    assert set(message) == MESSAGE_READ_FIELDS
    assert message["conversation_id"] == conversation_id
    assert message["content"] == "Hello"
    assert message["sender_id"] == "u1"
    assert message["role"] == "user"
    assert message["message_type"] == "text"
    assert message["sent_at"] == "2025-06-10T10:28:06.658Z"
    assert isinstance(message["workspace_id"], str)
    assert isinstance(message["checksum"], str)
    assert isinstance(message["id"], str)
    assert message["tags"] == []
    assert message["tool_calls"] == []
    assert message["attachments"] == []
    assert message["meta_data"] == {}


def test_user_message_starts_a_turn_whose_reply_is_listed(api, key, conversation_id):
    [sent] = post_messages(api, key, conversation_id, {"content": "ping", "sender_id": "u1"})

    messages = until_replied(api, key, conversation_id, 1)

    assert [m["content"] for m in messages] == ["ping", "You said: ping"]
    reply = messages[1]
    assert reply["role"] == "assistant"
    assert reply["parent_message_id"] == sent["id"]
    assert set(reply) == MESSAGE_READ_FIELDS


def test_a_list_is_stored_in_order_and_only_the_last_user_message_is_answered(api, key, conversation_id):
    sent = post_messages(
        api,
        key,
        conversation_id,
        [
            {"content": "be brief", "role": "system"},
            {"content": "first", "sender_id": "u1"},
            {"content": "second", "sender_id": "u1"},
        ],
    )

    assert [m["content"] for m in sent] == ["be brief", "first", "second"]
    assert sent[1]["parent_message_id"] == sent[0]["id"]
    assert sent[2]["parent_message_id"] == sent[1]["id"]
    messages = until_replied(api, key, conversation_id, 1)
    time.sleep(0.5)  # a second (wrong) turn would have answered by now too
    messages = listed(api, key, conversation_id=conversation_id)
    assert [m["content"] for m in messages] == ["be brief", "first", "second", "You said: second"]


def test_enable_memories_is_kept_on_the_message_meta_data(api, key, conversation_id):
    status, _, body = api.post(
        "/api/v1/messages",
        headers=bearer(key),
        json={"conversation_id": conversation_id, "content": {"content": "x"}, "enable_memories": True},
    )

    assert status == 201
    assert body[0]["meta_data"] == {"enable_memories": True}


def test_listing_filters_by_role_sender_type_tags_and_search(api, key, conversation_id):
    post_messages(
        api,
        key,
        conversation_id,
        [
            {"content": "Alpha one", "sender_id": "a", "tags": ["x", "y"], "role": "system"},
            {"content": "beta", "sender_id": "b", "tags": ["z"], "message_type": "note", "role": "system"},
            {"content": "ALPHA two", "sender_id": "a", "role": "system"},
        ],
    )

    def contents(**params: Any) -> list[str]:
        return [m["content"] for m in listed(api, key, conversation_id=conversation_id, **params)]

    assert contents(sender_id="a") == ["Alpha one", "ALPHA two"]
    assert contents(message_type="note") == ["beta"]
    assert contents(tags="z,y") == ["Alpha one", "beta"]
    assert contents(search="alpha") == ["Alpha one", "ALPHA two"]
    assert contents(role="user") == []


def test_listing_pages_with_skip_limit_and_direction(api, key, conversation_id):
    post_messages(api, key, conversation_id, [{"content": str(i), "role": "system"} for i in range(5)])

    def contents(**params: Any) -> list[str]:
        return [m["content"] for m in listed(api, key, conversation_id=conversation_id, **params)]

    assert contents(skip=1, limit=2) == ["1", "2"]
    assert contents(order_direction="desc", limit=2) == ["4", "3"]
    assert contents(order_by="updated_at", order_direction="desc", skip=4) == ["0"]


def test_listing_without_conversation_id_is_422(api, key):
    status, _, body = api.get("/api/v1/messages", headers=bearer(key))

    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "conversation_id"]
    assert body["detail"][0]["type"] == "missing"


def test_a_message_is_read_and_updated_by_its_id(api, key, conversation_id):
    [sent] = post_messages(api, key, conversation_id, {"content": "draft", "role": "system"})
    path = f"/api/v1/messages/{sent['id']}"

    status, _, got = api.get(path, headers=bearer(key))
    assert status == 200
    assert got == sent

    status, _, updated = api.request(
        "PUT",
        path,
        headers=bearer(key),
        json={"content": "final", "tags": ["done"], "meta_data": {"k": 1}, "message_type": "note"},
    )
    assert status == 200
    assert set(updated) == MESSAGE_READ_FIELDS
    assert updated["content"] == "final"
    assert updated["tags"] == ["done"]
    assert updated["meta_data"] == {"k": 1}
    assert updated["message_type"] == "note"
    assert updated["checksum"] != sent["checksum"]
    assert api.get(path, headers=bearer(key)).json["content"] == "final"


def test_unknown_message_is_404_detail(api, key, conversation_id):
    for path in (
        "/api/v1/messages/nonsense",
        f"/api/v1/messages/{conversation_id}.msg_01JD2QF1A3C5E7G9J1K3M5P7R9",
    ):
        status, _, body = api.get(path, headers=bearer(key))
        assert status == 404
        assert body == {"detail": "Message not found"}


def test_message_to_unknown_conversation_is_404_detail(api, key):
    status, _, body = api.post(
        "/api/v1/messages",
        headers=bearer(key),
        json={"conversation_id": "conv_nope", "content": {"content": "hi"}},
    )

    assert status == 404
    assert body == {"detail": "Conversation not found"}


def test_body_without_content_is_422_fastapi_shape(api, key, conversation_id):
    status, _, body = api.post(
        "/api/v1/messages", headers=bearer(key), json={"conversation_id": conversation_id}
    )

    assert status == 422
    assert body["detail"] == [{"loc": ["body", "content"], "msg": "Field required", "type": "missing"}]


def test_message_without_its_text_is_422_at_its_position(api, key, conversation_id):
    status, _, body = api.post(
        "/api/v1/messages",
        headers=bearer(key),
        json={"conversation_id": conversation_id, "content": [{"content": "ok"}, {"role": "user"}]},
    )

    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "content", 1, "content"]


def test_malformed_json_is_422_json_invalid(api, key):
    status, _, body = api.request(
        "POST",
        "/api/v1/messages",
        headers={**bearer(key), "content-type": "application/json"},
        body=b'{"conversation_id": ',
    )

    assert status == 422
    [detail] = body["detail"]
    assert detail["type"] == "json_invalid"
    assert detail["loc"][0] == "body"
    assert detail["msg"] == "JSON decode error"
