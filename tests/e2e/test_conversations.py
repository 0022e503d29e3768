"""Conversations end to end on the devstack: real HTTP, the authorizer, SQS FIFO pollers and the worker."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def agent(api: ApiClient, key: str) -> dict[str, Any]:
    script = [{"match": "^slow", "reply": "slowly: {message}", "delay_ms": 1500}]
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={"name": "scripted", "kind": "scripted", "default_model": "s1", "options": {"script": script}},
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": "E2E", "provider_id": provider["id"], "is_default": True},
    )
    assert status == 201, agent
    return dict(agent)


def conversation(api: ApiClient, key: str) -> str:
    status, _, body = api.post("/v1/conversations", headers=auth(key), json={"title": "e2e"})
    assert status == 201, body
    return str(body["id"])


def wait_for(
    api: ApiClient, key: str, conversation_id: str, turn_id: str, seconds: int = 10
) -> dict[str, Any]:
    status, _, turn = api.get(
        f"/v1/conversations/{conversation_id}/turns/{turn_id}?wait={seconds}", headers=auth(key)
    )
    assert status == 200, turn
    return dict(turn)


def test_send_long_poll_and_read_the_reply(api, key, agent):
    conv = conversation(api, key)
    status, _, sent = api.post(
        f"/v1/conversations/{conv}/messages", headers=auth(key), json={"content": "hello"}
    )
    assert status == 202
    assert sent["turn"]["status"] == "queued"

    turn = wait_for(api, key, conv, sent["turn"]["id"])

    assert turn["status"] == "completed"
    status, _, reply = api.get(
        f"/v1/conversations/{conv}/messages/{turn['reply_message_id']}", headers=auth(key)
    )
    assert status == 200
    assert reply["content"] == "You said: hello"


def test_regenerate_and_list_both_branches(api, key, agent):
    conv = conversation(api, key)
    _, _, sent = api.post(
        f"/v1/conversations/{conv}/messages", headers=auth(key), json={"content": "pick a number"}
    )
    first = wait_for(api, key, conv, sent["turn"]["id"])
    status, _, again = api.post(
        f"/v1/conversations/{conv}/messages/{first['reply_message_id']}/regenerate", headers=auth(key)
    )
    assert status == 202
    second = wait_for(api, key, conv, again["turn"]["id"])
    assert second["status"] == "completed"

    _, _, branches = api.get(f"/v1/conversations/{conv}/branches", headers=auth(key))
    leaves = {b["leaf_message_id"] for b in branches["data"]}
    assert leaves == {first["reply_message_id"], second["reply_message_id"]}


def test_cancel_a_queued_turn_behind_a_running_one(api, key, agent):
    conv = conversation(api, key)
    _, _, slow = api.post(
        f"/v1/conversations/{conv}/messages", headers=auth(key), json={"content": "slow one"}
    )
    _, _, queued = api.post(
        f"/v1/conversations/{conv}/messages", headers=auth(key), json={"content": "second"}
    )

    status, _, cancelled = api.post(
        f"/v1/conversations/{conv}/turns/{queued['turn']['id']}/cancel", headers=auth(key)
    )

    assert status == 200
    assert cancelled["status"] == "cancelled"
    assert wait_for(api, key, conv, slow["turn"]["id"])["status"] == "completed"
    assert wait_for(api, key, conv, queued["turn"]["id"], seconds=0)["status"] == "cancelled"


def test_a_failing_provider_ends_the_turn_failed_with_a_reason(api, key, agent):
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={
            "name": "down",
            "kind": "openai",
            "base_url": "http://127.0.0.1:9/v1",
            "default_model": "m",
            "options": {"max_retries": 0, "connect_timeout_seconds": 1},
        },
    )
    assert status == 201, provider
    _, _, broken = api.post(
        "/v1/agents", headers=auth(key), json={"name": "Broken", "provider_id": provider["id"]}
    )
    status, _, conv = api.post("/v1/conversations", headers=auth(key), json={"agent_id": broken["id"]})
    assert status == 201
    _, _, sent = api.post(
        f"/v1/conversations/{conv['id']}/messages", headers=auth(key), json={"content": "anyone?"}
    )

    turn = wait_for(api, key, conv["id"], sent["turn"]["id"])

    assert turn["status"] == "failed"
    assert turn["error"]["type"] == "connection"
    assert turn["error"]["message"]
