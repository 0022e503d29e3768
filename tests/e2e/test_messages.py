"""Message and conversation management end to end on the devstack (the starter agent answers)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def answered(api: ApiClient, key: str, conversation_id: str, content: str) -> dict[str, Any]:
    _, _, sent = api.post(
        f"/v1/conversations/{conversation_id}/messages", headers=auth(key), json={"content": content}
    )
    _, _, turn = api.get(
        f"/v1/conversations/{conversation_id}/turns/{sent['turn']['id']}?wait=10", headers=auth(key)
    )
    assert turn["status"] == "completed", turn
    return {"message": sent["message"], "turn": turn}


@pytest.fixture
def conversation(api: ApiClient, key: str) -> str:
    status, _, body = api.post("/v1/conversations", headers=auth(key), json={"title": "messages"})
    assert status == 201
    return str(body["id"])


def test_edit_answers_the_new_version_on_its_own_branch(api, key, conversation):
    first = answered(api, key, conversation, "helo")
    status, _, edited = api.post(
        f"/v1/conversations/{conversation}/messages/{first['message']['id']}/edit",
        headers=auth(key),
        json={"content": "hello"},
    )
    assert status == 202
    _, _, turn = api.get(
        f"/v1/conversations/{conversation}/turns/{edited['turn']['id']}?wait=10", headers=auth(key)
    )
    _, _, path = api.get(
        f"/v1/conversations/{conversation}/messages?branch={turn['reply_message_id']}", headers=auth(key)
    )
    assert [m["content"] for m in path["data"]] == ["hello", "You said: hello"]


def test_tags_metadata_and_feedback_per_end_user(api, key, conversation):
    reply_id = answered(api, key, conversation, "rate me")["turn"]["reply_message_id"]
    path = f"/v1/conversations/{conversation}/messages/{reply_id}"
    status, _, tagged = api.request(
        "PATCH", path, headers=auth(key), json={"tags": ["good"], "meta_data": {"a": 1}}
    )
    assert status == 200
    assert tagged["tags"] == ["good"]
    api.request("PUT", f"{path}/feedback", headers=auth(key), json={"rating": "like", "user_id": "ann"})
    _, _, rated = api.request(
        "PUT", f"{path}/feedback", headers=auth(key), json={"rating": "dislike", "user_id": "bo"}
    )
    assert rated["likes"] == ["ann"]
    assert rated["dislikes"] == ["bo"]
    _, _, listed = api.get(f"/v1/conversations/{conversation}/messages?tag=good", headers=auth(key))
    assert [m["id"] for m in listed["data"]] == [reply_id]


def test_archive_then_delete(api, key, conversation):
    sent = answered(api, key, conversation, "last words")
    status, _, archived = api.post(f"/v1/conversations/{conversation}/archive", headers=auth(key))
    assert status == 200
    assert archived["status"] == "archived"
    refused = api.post(
        f"/v1/conversations/{conversation}/messages", headers=auth(key), json={"content": "more"}
    )
    assert refused.status == 409
    _, _, listed = api.get("/v1/conversations?status=archived&limit=100", headers=auth(key))
    assert conversation in {c["id"] for c in listed["data"]}

    assert api.delete(f"/v1/conversations/{conversation}", headers=auth(key)).status == 204
    assert api.get(f"/v1/conversations/{conversation}", headers=auth(key)).status == 404
    message = api.get(f"/v1/conversations/{conversation}/messages/{sent['message']['id']}", headers=auth(key))
    assert message.status == 404


def test_bad_input_gets_a_clear_4xx(api, key, conversation):
    malformed = api.request(
        "POST",
        f"/v1/conversations/{conversation}/messages",
        headers={**auth(key), "content-type": "application/json"},
        body=b"{not json",
    )
    assert malformed.status == 400
    assert malformed.json["error"]["type"] == "bad_request"
    invalid = api.post(f"/v1/conversations/{conversation}/messages", headers=auth(key), json={"content": 5})
    assert invalid.status == 422
    assert invalid.json["error"]["details"][0]["loc"] == ["body", "content"]
    huge = api.post(
        f"/v1/conversations/{conversation}/messages", headers=auth(key), json={"content": "x" * 1_100_000}
    )
    assert huge.status == 413
    missing = api.get("/v1/conversations/conv_missing", headers=auth(key))
    assert missing.status == 404
    assert missing.json["error"]["request_id"]
