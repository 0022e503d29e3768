"""Notifications end to end on the devstack: a turn's event is recorded where the worker publishes it
(a workspace without webhooks puts nothing on the bus), and is listed in its workspace's
notifications (and nowhere else)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 15


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def new_workspace(api: ApiClient, admin_key: str, name: str) -> str:
    """A workspace of its own (so no other test's events are in its notifications) with a scripted
    default agent; its admin key."""
    _, _, workspace = api.post("/v1/workspaces", headers=auth(admin_key), json={"name": name})
    status, _, key = api.post(
        "/v1/api-keys",
        headers=auth(admin_key),
        json={"name": f"{name} admin", "workspace_id": workspace["id"], "role": "admin"},
    )
    assert status == 201, key
    secret = str(key["secret"])
    _, _, provider = api.post(
        "/v1/providers", headers=auth(secret), json={"name": "p", "kind": "scripted", "default_model": "s"}
    )
    status, _, agent = api.post(
        "/v1/agents",
        headers=auth(secret),
        json={"name": "a", "instructions": "Be brief.", "provider_id": provider["id"], "is_default": True},
    )
    assert status == 201, agent
    return secret


def notifications_until(api: ApiClient, key: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status, _, page = api.get("/v1/notifications", headers=auth(key))
        assert status == 200, page
        if len(page["data"]) >= count or time.monotonic() > deadline:
            return list(page["data"])
        time.sleep(0.1)


def test_each_answered_turn_is_listed_newest_first_in_its_own_workspace_only(api, key):
    mine = new_workspace(api, key, "Notified")
    theirs = new_workspace(api, key, "Quiet")
    _, _, conversation = api.post("/v1/conversations", headers=auth(mine), json={"title": "n"})
    turn_ids = []
    for content in ("first", "second"):
        _, _, sent = api.post(
            f"/v1/conversations/{conversation['id']}/messages", headers=auth(mine), json={"content": content}
        )
        _, _, turn = api.get(
            f"/v1/conversations/{conversation['id']}/turns/{sent['turn']['id']}?wait=10", headers=auth(mine)
        )
        assert turn["status"] == "completed", turn
        turn_ids.append(turn["id"])

    listed = notifications_until(api, mine, 2)

    assert [n["type"] for n in listed] == ["turn.completed", "turn.completed"]
    assert [n["data"]["turn_id"] for n in listed] == turn_ids[::-1]
    _, _, older = api.get(f"/v1/notifications?before={listed[0]['created_at']}", headers=auth(mine))
    assert [n["data"]["turn_id"] for n in older["data"]] == turn_ids[:1]
    _, _, other = api.get("/v1/notifications", headers=auth(theirs))
    assert other["data"] == []
