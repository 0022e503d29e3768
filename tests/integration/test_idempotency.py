"""Idempotency-Key on the API's writes: a retry returns the first response, with no second effect."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from parley import idempotency
from parley.services import conversations
from parley.store import idempotency as records
from parley.store import table

KEY = "3f1c0a52-retry-me"


def create_conversation(invoke, key: str, title: str = "first", idem: str | None = KEY):
    headers = {"Idempotency-Key": idem} if idem is not None else {}
    return invoke("CreateConversationFunction", key=key, body={"title": title}, headers=headers)


def conversation_titles(invoke, key: str) -> list[str]:
    reply = invoke("ListConversationsFunction", key=key, query="limit=100")
    assert reply.status == 200, reply.body
    return [c["title"] for c in reply.body["data"]]


def idempotency_records() -> list[dict[str, Any]]:
    items = table.client().scan(TableName=table.table_name())["Items"]
    return [table.from_item(i) for i in items if "#IDEM#" in i["PK"]["S"]]


def test_same_key_and_body_replays_the_first_response_with_one_effect(invoke, admin):
    first = create_conversation(invoke, admin["key"])

    again = create_conversation(invoke, admin["key"])

    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert conversation_titles(invoke, admin["key"]) == ["first"]


def test_replay_of_a_sent_message_stores_one_message(invoke, admin):
    conversation = create_conversation(invoke, admin["key"], idem=None).body
    path = {"conversation_id": conversation["id"]}
    body = {"content": "hello once"}
    headers = {"Idempotency-Key": "send-1"}

    first = invoke("SendMessageFunction", key=admin["key"], path=path, body=body, headers=headers)
    again = invoke("SendMessageFunction", key=admin["key"], path=path, body=body, headers=headers)

    assert again.status == first.status
    assert again.body == first.body
    listed = invoke("ListMessagesFunction", key=admin["key"], path=path, query="limit=100").body["data"]
    assert [m["content"] for m in listed if m["role"] == "user"] == ["hello once"]


def test_same_key_with_another_body_is_rejected_with_422(invoke, admin):
    create_conversation(invoke, admin["key"], title="first")

    reply = create_conversation(invoke, admin["key"], title="second")

    assert reply.status == 422
    assert "Idempotency-Key was used with a different request body" in reply.body["error"]["message"]
    assert conversation_titles(invoke, admin["key"]) == ["first"]


def test_a_request_still_in_progress_answers_409(invoke, admin):
    workspace_id = admin["workspace"]["id"]
    now = int(time.time())
    records.claim(
        workspace_id,
        KEY,
        idempotency.fingerprint("POST", "/v1/conversations", "", json.dumps({"title": "first"}).encode()),
        now=now,
        lease_until=now + 60,
        expires_at=now + 3600,
    )

    reply = create_conversation(invoke, admin["key"])

    assert reply.status == 409
    assert "still in progress" in reply.body["error"]["message"]
    assert conversation_titles(invoke, admin["key"]) == []


def test_an_in_progress_record_whose_lease_ran_out_is_taken_over(invoke, admin):
    now = int(time.time())
    body = json.dumps({"title": "first"}).encode()
    records.claim(
        admin["workspace"]["id"],
        KEY,
        idempotency.fingerprint("POST", "/v1/conversations", "", body),
        now=now - 120,
        lease_until=now - 60,
        expires_at=now + 3600,
    )

    reply = create_conversation(invoke, admin["key"])

    assert reply.status == 201
    assert conversation_titles(invoke, admin["key"]) == ["first"]


def test_keys_are_scoped_to_the_workspace(invoke, admin, other_key):
    mine = create_conversation(invoke, admin["key"])

    theirs = create_conversation(invoke, other_key)

    assert theirs.status == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.body["id"] != mine.body["id"]
    assert conversation_titles(invoke, other_key) == ["first"]


def test_reads_ignore_the_header(invoke, admin):
    headers = {"Idempotency-Key": KEY}
    first = invoke("ListConversationsFunction", key=admin["key"], headers=headers)
    create_conversation(invoke, admin["key"], idem=None)

    second = invoke("ListConversationsFunction", key=admin["key"], headers=headers)

    assert first.status == second.status == 200
    assert len(second.body["data"]) == 1
    assert "idempotent-replayed" not in second.headers
    assert idempotency_records() == []


def test_a_compat_route_replays_too(invoke, admin):
    conversation = invoke("MieltoCreateConversationFunction", key=admin["key"], body={"title": "c"}).body
    body = {"conversation_id": conversation["id"], "content": {"content": "once", "role": "user"}}
    headers = {"Idempotency-Key": "mielto-1"}

    first = invoke("MieltoCreateMessagesFunction", key=admin["key"], body=body, headers=headers)
    again = invoke("MieltoCreateMessagesFunction", key=admin["key"], body=body, headers=headers)

    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers["idempotent-replayed"] == "true"
    listed = invoke(
        "MieltoListMessagesFunction", key=admin["key"], query=f"conversation_id={conversation['id']}"
    )
    assert [m["content"] for m in listed.body] == ["once"]


def test_an_expired_record_counts_as_absent(invoke, admin):
    first = create_conversation(invoke, admin["key"])
    (record,) = idempotency_records()
    table.update(record["PK"], record["SK"], set_fields={"expires_at": int(time.time()) - 1})

    again = create_conversation(invoke, admin["key"])

    assert again.status == 201
    assert again.body["id"] != first.body["id"]
    assert "idempotent-replayed" not in again.headers
    assert sorted(conversation_titles(invoke, admin["key"])) == ["first", "first"]


def test_records_expire_after_24_hours(invoke, admin):
    before = int(time.time())
    create_conversation(invoke, admin["key"])

    (record,) = idempotency_records()

    assert record["status"] == "completed"
    assert before + 24 * 3600 <= record["expires_at"] <= int(time.time()) + 24 * 3600


def test_a_server_error_releases_the_key_so_a_retry_runs(invoke, admin, monkeypatch):
    real_create = conversations.create
    calls = []

    def fail_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database hiccupped")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(conversations, "create", fail_once)

    failed = create_conversation(invoke, admin["key"])
    retried = create_conversation(invoke, admin["key"])

    assert failed.status == 500
    assert retried.status == 201
    assert "idempotent-replayed" not in retried.headers
    assert conversation_titles(invoke, admin["key"]) == ["first"]


def test_a_client_error_is_replayed(invoke, admin):
    headers = {"Idempotency-Key": KEY}
    first = invoke("CreateConversationFunction", key=admin["key"], body={"title": 5}, headers=headers)

    again = invoke("CreateConversationFunction", key=admin["key"], body={"title": 5}, headers=headers)

    assert first.status == again.status == 422
    assert again.headers["idempotent-replayed"] == "true"


def test_a_replay_never_shows_a_secret_again(invoke, admin):
    headers = {"Idempotency-Key": "new-key-1"}
    body = {"name": "ci", "role": "member"}
    first = invoke("CreateApiKeyFunction", key=admin["key"], body=body, headers=headers)

    again = invoke("CreateApiKeyFunction", key=admin["key"], body=body, headers=headers)

    assert first.status == again.status == 201
    assert first.body["secret"]
    assert again.body["secret"] is None
    assert again.body["id"] == first.body["id"]
    assert again.headers["idempotent-redacted"] == "true"
    assert first.body["secret"] not in json.dumps(idempotency_records())
    listed = invoke("ListApiKeysFunction", key=admin["key"]).body["data"]
    assert [k["name"] for k in listed].count("ci") == 1


@pytest.mark.parametrize("bad_key", ["", "k" * 256])
def test_a_key_that_is_empty_or_too_long_is_a_400(invoke, admin, bad_key):
    reply = create_conversation(invoke, admin["key"], idem=bad_key)

    assert reply.status == 400
    assert "Idempotency-Key" in reply.body["error"]["message"]
    assert conversation_titles(invoke, admin["key"]) == []
