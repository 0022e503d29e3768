"""Notifications against moto: a turn's event is recorded in the workspace's notifications where it
is published, listed newest first; it goes on the real bus (rule, webhook events queue, dispatcher)
only when the workspace has a webhook, or the deployment publishes all events."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from parley.services import notifications
from tests.integration.test_turns import make_agent, send
from tests.integration.test_webhooks import Pipeline


@pytest.fixture
def pipeline(aws) -> Pipeline:
    return Pipeline(aws)


@pytest.fixture
def chat(invoke, admin) -> tuple[str, dict[str, Any]]:
    make_agent(invoke, admin["key"])
    conversation = invoke("CreateConversationFunction", key=admin["key"], body={"title": "Hello"})
    assert conversation.status == 201
    return admin["key"], conversation.body


def listed(invoke, key: str, query: str = "") -> dict[str, Any]:
    reply = invoke("ListNotificationsFunction", key=key, query=query)
    assert reply.status == 200, reply.body
    return reply.body


def test_a_completed_turn_is_a_notification_of_its_workspace(invoke, chat, pipeline):
    key, conversation = chat
    accepted = send(invoke, key, conversation["id"], "hello").body
    pipeline.run_turns_and_dispatch()

    [notification] = listed(invoke, key)["data"]

    assert notification["type"] == "turn.completed"
    assert notification["data"]["turn_id"] == accepted["turn"]["id"]
    assert conversation["id"] in notification["message"]
    assert notification["created_at"].endswith("Z")


def test_a_redelivered_turn_is_one_notification(invoke, chat, pipeline):
    key, conversation = chat
    send(invoke, key, conversation["id"], "hello")
    [record] = pipeline.turns.receive()

    pipeline.turns.deliver([record])
    pipeline.turns.deliver([record])  # at-least-once: the same turn again, already answered

    assert [n["type"] for n in listed(invoke, key)["data"]] == ["turn.completed"]


def test_a_workspace_without_webhooks_puts_no_event_on_the_bus(invoke, chat, pipeline):
    key, conversation = chat
    send(invoke, key, conversation["id"], "hello")
    pipeline.turns.drain()

    assert pipeline.events.receive() == []
    assert len(listed(invoke, key)["data"]) == 1


def test_a_workspace_with_a_webhook_puts_its_events_on_the_bus(invoke, chat, pipeline):
    key, conversation = chat
    made = invoke("CreateWebhookFunction", key=key, body={"url": "https://hooks.example.com/parley"})
    assert made.status == 201, made.body
    accepted = send(invoke, key, conversation["id"], "hello").body
    pipeline.turns.drain()

    [event] = pipeline.events.receive()
    assert json.loads(event["Body"])["detail"]["turn_id"] == accepted["turn"]["id"]
    assert len(listed(invoke, key)["data"]) == 1


@pytest.mark.usefixtures("all_events_published")
def test_a_deployment_that_publishes_all_events_puts_them_on_the_bus(invoke, chat, pipeline):
    key, conversation = chat
    send(invoke, key, conversation["id"], "hello")
    pipeline.turns.drain()

    assert len(pipeline.events.receive()) == 1
    pipeline.events.drain()  # the dispatcher finds no webhook, and records nothing more
    assert len(listed(invoke, key)["data"]) == 1


def test_notifications_are_newest_first_in_pages_and_before_a_time(invoke, admin):
    workspace_id = admin["workspace"]["id"]
    for n in range(3):
        notifications.record(workspace_id, "share.ended", f"note {n}")
        time.sleep(0.003)  # distinct milliseconds, so the order is the order of recording

    first = listed(invoke, admin["key"], "limit=2")
    second = listed(invoke, admin["key"], f"limit=2&cursor={first['next_cursor']}")
    older = listed(invoke, admin["key"], f"before={first['data'][0]['created_at']}")

    assert [n["message"] for n in first["data"] + second["data"]] == ["note 2", "note 1", "note 0"]
    assert first["has_more"] and not second["has_more"]
    assert [n["message"] for n in older["data"]] == ["note 1", "note 0"]


def test_at_or_before_includes_the_notification_at_that_time(admin):
    workspace_id = admin["workspace"]["id"]
    notifications.record(workspace_id, "share.ended", "only")
    [only] = notifications.list_for(workspace_id, 10, None, False)

    assert notifications.list_for(workspace_id, 10, only["created_at"], True) == [only]
    assert notifications.list_for(workspace_id, 10, only["created_at"], False) == []


def test_a_before_that_is_not_a_time_is_a_422_on_before(invoke, admin):
    reply = invoke("ListNotificationsFunction", key=admin["key"], query="before=yesterday")

    assert reply.status == 422
    assert reply.body["error"]["details"][0]["loc"] == ["query", "before"]


def test_another_workspace_sees_none_of_them(invoke, chat, pipeline, other_key):
    key, conversation = chat
    send(invoke, key, conversation["id"], "hello")
    pipeline.run_turns_and_dispatch()

    assert listed(invoke, other_key)["data"] == []
    assert len(listed(invoke, key)["data"]) == 1
