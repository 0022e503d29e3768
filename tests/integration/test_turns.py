"""Conversations, messages and turns through their handlers and the real worker, against moto.

The turns queue is drained into the RunTurnFunction handler as Lambda would deliver it, so each test
exercises the whole path: API transaction -> SQS FIFO -> claim -> history -> provider -> persist.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from devstack.events import LambdaContext, scheduled_event, sqs_event, sqs_record_from_message
from tests.conftest import load_handler
from tests.integration.turns_support import TurnQueue


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


def make_agent(invoke, key: str, **provider: Any) -> dict[str, Any]:
    provider_body = {"name": "p", "kind": "scripted", "default_model": "scripted-1", **provider}
    created = invoke("CreateProviderFunction", key=key, body=provider_body)
    assert created.status == 201, created.body
    agent = invoke(
        "CreateAgentFunction",
        key=key,
        body={
            "name": "Helper",
            "instructions": "Be brief.",
            "provider_id": created.body["id"],
            "is_default": True,
        },
    )
    assert agent.status == 201, agent.body
    return agent.body


@pytest.fixture
def chat(invoke, admin):
    """A conversation answered by a scripted default agent; returns (key, conversation)."""
    make_agent(invoke, admin["key"])
    conversation = invoke("CreateConversationFunction", key=admin["key"], body={"title": "Hello"})
    assert conversation.status == 201
    return admin["key"], conversation.body


def send(invoke, key, conversation_id, content, **extra):
    return invoke(
        "SendMessageFunction",
        key=key,
        path={"conversation_id": conversation_id},
        body={"content": content, **extra},
    )


def get_turn(invoke, key, conversation_id, turn_id):
    return invoke(
        "GetTurnFunction", key=key, path={"conversation_id": conversation_id, "turn_id": turn_id}
    ).body


def messages_of(invoke, key, conversation_id, query="limit=100"):
    reply = invoke("ListMessagesFunction", key=key, path={"conversation_id": conversation_id}, query=query)
    assert reply.status == 200, reply.body
    return reply.body["data"]


def test_a_sent_message_is_answered_by_its_turn(invoke, chat, queue):
    key, conversation = chat
    sent = send(invoke, key, conversation["id"], "Hi there")
    assert sent.status == 202
    message, turn = sent.body["message"], sent.body["turn"]
    assert turn["status"] == "queued"
    assert message["checksum"] and message["role"] == "user"

    queue.drain()

    done = get_turn(invoke, key, conversation["id"], turn["id"])
    assert done["status"] == "completed"
    assert [s["type"] for s in done["steps"]] == ["context", "model"]
    assert done["usage"]["total_tokens"] > 0
    reply = invoke(
        "GetMessageFunction",
        key=key,
        path={"conversation_id": conversation["id"], "message_id": done["reply_message_id"]},
    ).body
    assert reply["role"] == "assistant"
    assert reply["content"] == "You said: Hi there"
    assert reply["parent_message_id"] == message["id"]
    state = invoke("GetConversationFunction", key=key, path={"conversation_id": conversation["id"]}).body
    assert state["leaf_message_id"] == reply["id"]
    assert state["message_count"] == 2


def test_a_redelivered_record_never_writes_a_second_reply(invoke, chat, queue):
    key, conversation = chat
    send(invoke, key, conversation["id"], "once")
    records = queue.receive()
    assert len(records) == 1

    queue.deliver(records)
    queue.deliver(records)  # at-least-once: the same record again, after it was processed

    assert [m["role"] for m in messages_of(invoke, key, conversation["id"])] == ["user", "assistant"]


def test_a_worker_that_fails_after_claiming_releases_the_turn_for_the_retry(invoke, chat, queue, monkeypatch):
    from parley.agent import pipeline

    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "flaky").body["turn"]
    real = pipeline._complete
    calls = {"n": 0}

    def crash_once(*args: Any, **kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the final write failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_complete", crash_once)
    result = queue.deliver(queue.receive())
    assert result["batchItemFailures"], "the failed record goes back to the queue"
    assert get_turn(invoke, key, conversation["id"], turn["id"])["status"] == "queued"

    queue.drain()
    assert get_turn(invoke, key, conversation["id"], turn["id"])["status"] == "completed"
    assert len(messages_of(invoke, key, conversation["id"])) == 2


def test_a_provider_error_fails_the_turn_with_its_reason(invoke, admin, queue):
    make_agent(invoke, admin["key"], options={"script": [{"match": "boom", "error": "rate_limited"}]})
    conversation = invoke("CreateConversationFunction", key=admin["key"], body={}).body
    turn = send(invoke, admin["key"], conversation["id"], "boom").body["turn"]
    queue.drain()
    failed = get_turn(invoke, admin["key"], conversation["id"], turn["id"])
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "rate_limited"
    assert failed["error"]["message"]
    state = invoke(
        "GetConversationFunction", key=admin["key"], path={"conversation_id": conversation["id"]}
    ).body
    assert send(invoke, admin["key"], conversation["id"], "next", if_busy="reject").status == 202, state


def test_without_any_agent_the_turn_fails_and_says_why(invoke, admin, queue):
    conversation = invoke("CreateConversationFunction", key=admin["key"], body={}).body
    turn = send(invoke, admin["key"], conversation["id"], "anyone?").body["turn"]
    queue.drain()
    failed = get_turn(invoke, admin["key"], conversation["id"], turn["id"])
    assert failed["status"] == "failed"
    assert "agent" in failed["error"]["message"]


def test_if_busy_reject_answers_409_while_a_turn_is_open(invoke, chat, queue):
    key, conversation = chat
    assert send(invoke, key, conversation["id"], "first").status == 202
    busy = send(invoke, key, conversation["id"], "second", if_busy="reject")
    assert busy.status == 409
    assert "turn" in busy.body["error"]["message"]
    queue.drain()
    assert send(invoke, key, conversation["id"], "third", if_busy="reject").status == 202


def test_respond_false_stores_without_a_turn(invoke, chat, queue):
    key, conversation = chat
    sent = send(invoke, key, conversation["id"], "just a note", respond=False)
    assert sent.status == 202
    assert sent.body["turn"] is None
    assert queue.drain() == 0


def test_messages_sent_while_a_turn_runs_are_answered_in_order_with_the_full_history(invoke, admin, queue):
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        seen: list[list[dict[str, Any]]] = []

        def answer(request):
            from werkzeug import Response

            body = json.loads(request.data)
            seen.append(body["messages"])
            content = f"answer {len(seen)}"
            payload = {
                "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2},
            }
            return Response(json.dumps(payload), content_type="application/json")

        server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(answer)
        make_agent(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"), default_model="m1")
        conversation = invoke("CreateConversationFunction", key=admin["key"], body={}).body
        send(invoke, admin["key"], conversation["id"], "one")
        send(invoke, admin["key"], conversation["id"], "two")  # sent before "one" is answered

        queue.drain()

        assert [[m["content"] for m in request] for request in seen] == [
            ["Be brief.", "one"],
            ["Be brief.", "one", "answer 1", "two"],
        ]
        path = [m["content"] for m in messages_of(invoke, admin["key"], conversation["id"])]
        assert path == ["one", "answer 1", "two", "answer 2"]
        state = invoke(
            "GetConversationFunction", key=admin["key"], path={"conversation_id": conversation["id"]}
        ).body
        branch = messages_of(invoke, admin["key"], conversation["id"], f"branch={state['leaf_message_id']}")
        assert [m["content"] for m in branch] == ["one", "answer 1", "two", "answer 2"]
    finally:
        server.clear()
        server.stop()


def test_regenerating_a_reply_makes_a_sibling_and_a_second_branch(invoke, chat, queue):
    key, conversation = chat
    first = send(invoke, key, conversation["id"], "tell me").body
    queue.drain()
    reply_id = get_turn(invoke, key, conversation["id"], first["turn"]["id"])["reply_message_id"]

    again = invoke(
        "RegenerateMessageFunction",
        key=key,
        path={"conversation_id": conversation["id"], "message_id": reply_id},
    )
    assert again.status == 202
    assert again.body["message"]["id"] == first["message"]["id"]
    queue.drain()

    second_reply = get_turn(invoke, key, conversation["id"], again.body["turn"]["id"])["reply_message_id"]
    assert second_reply != reply_id
    branches = invoke("ListBranchesFunction", key=key, path={"conversation_id": conversation["id"]}).body[
        "data"
    ]
    assert {b["leaf_message_id"] for b in branches} == {reply_id, second_reply}
    assert [b["leaf_message_id"] for b in branches if b["is_current"]] == [second_reply]
    replies = messages_of(invoke, key, conversation["id"], "role=assistant")
    assert {m["parent_message_id"] for m in replies} == {first["message"]["id"]}


def test_editing_a_user_message_creates_a_sibling_and_a_new_turn(invoke, chat, queue):
    key, conversation = chat
    first = send(invoke, key, conversation["id"], "helo").body
    queue.drain()
    edited = invoke(
        "EditMessageFunction",
        key=key,
        path={"conversation_id": conversation["id"], "message_id": first["message"]["id"]},
        body={"content": "hello"},
    )
    assert edited.status == 202
    assert edited.body["message"]["parent_message_id"] == first["message"]["parent_message_id"]
    queue.drain()
    reply = get_turn(invoke, key, conversation["id"], edited.body["turn"]["id"])
    branch = messages_of(invoke, key, conversation["id"], f"branch={reply['reply_message_id']}")
    assert [m["content"] for m in branch] == ["hello", "You said: hello"]


def test_cancelling_a_queued_turn_means_it_never_runs(invoke, chat, queue):
    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "never mind").body["turn"]
    cancelled = invoke(
        "CancelTurnFunction", key=key, path={"conversation_id": conversation["id"], "turn_id": turn["id"]}
    )
    assert cancelled.status == 200
    assert cancelled.body["status"] == "cancelled"
    queue.drain()
    assert get_turn(invoke, key, conversation["id"], turn["id"])["status"] == "cancelled"
    assert len(messages_of(invoke, key, conversation["id"])) == 1
    again = invoke(
        "CancelTurnFunction", key=key, path={"conversation_id": conversation["id"], "turn_id": turn["id"]}
    )
    assert again.status == 409


def test_a_turn_cancelled_while_running_keeps_its_output(invoke, chat, queue, monkeypatch):
    from parley.agent import pipeline

    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "long task").body["turn"]
    real = pipeline._respond

    def respond_then_get_cancelled(*args: Any, **kwargs: Any):
        outcome = real(*args, **kwargs)
        stop = invoke(
            "CancelTurnFunction", key=key, path={"conversation_id": conversation["id"], "turn_id": turn["id"]}
        )
        assert stop.body["status"] == "running"
        return outcome

    monkeypatch.setattr(pipeline, "_respond", respond_then_get_cancelled)
    queue.drain()
    ended = get_turn(invoke, key, conversation["id"], turn["id"])
    assert ended["status"] == "cancelled"
    assert ended["reply_message_id"]


def test_the_dead_letter_function_fails_a_dead_turn(invoke, chat, aws):
    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "doomed").body["turn"]
    body = json.dumps(
        {"workspace_id": turn["workspace_id"], "conversation_id": conversation["id"], "turn_id": turn["id"]}
    )
    record = sqs_record_from_message(
        {
            "Body": body,
            "MessageId": "m1",
            "ReceiptHandle": "r1",
            "Attributes": {"ApproximateReceiveCount": "5"},
        },
        aws.get_att("TurnsDeadLetterQueue", "Arn"),
    )
    result = load_handler("TurnDeadLetterFunction")(
        sqs_event([record]), LambdaContext("TurnDeadLetterFunction", 10)
    )
    assert result == {"batchItemFailures": []}
    failed = get_turn(invoke, key, conversation["id"], turn["id"])
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "undeliverable"


def test_the_sweeper_requeues_a_turn_whose_record_was_lost(invoke, chat, queue, aws):
    from parley.store import table
    from parley.store import turns as turn_store

    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "lost").body["turn"]
    queue.sqs.purge_queue(QueueUrl=queue.url)  # the record is lost
    turn_store.update(
        turn["workspace_id"],
        conversation["id"],
        turn["id"],
        set_fields=turn_store.open_key(turn["id"], "2000-01-01"),
    )
    sweep = load_handler("SweepTurnsFunction")(
        scheduled_event("arn:aws:events:rule/sweep"), LambdaContext("Sweep", 60)
    )
    assert sweep["requeued"] == 1
    queue.drain()
    assert get_turn(invoke, key, conversation["id"], turn["id"])["status"] == "completed"
    assert table  # the index read the overdue turn through the store


def test_the_sweeper_fails_a_turn_whose_workers_kept_dying(invoke, chat, aws):
    from parley.store import turns as turn_store

    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "cursed").body["turn"]
    turn_store.update(
        turn["workspace_id"],
        conversation["id"],
        turn["id"],
        set_fields={"status": "running", "attempts": 3, **turn_store.open_key(turn["id"], "2000-01-01")},
    )
    sweep = load_handler("SweepTurnsFunction")(
        scheduled_event("arn:aws:events:rule/sweep"), LambdaContext("Sweep", 60)
    )
    assert sweep["failed"] == 1
    failed = get_turn(invoke, key, conversation["id"], turn["id"])
    assert failed["status"] == "failed"
    assert "3 times" in failed["error"]["message"]


def test_large_content_is_kept_in_s3_and_read_back_transparently(invoke, chat, aws):
    key, conversation = chat
    big = "x" * 50_000
    sent = send(invoke, key, conversation["id"], big, respond=False).body["message"]
    read = invoke(
        "GetMessageFunction", key=key, path={"conversation_id": conversation["id"], "message_id": sent["id"]}
    )
    assert read.body["content"] == big
    stored = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=aws.ref("Table"))["Items"]
    assert all(len(json.dumps(item)) < 10_000 for item in stored)


def test_content_over_the_limit_is_refused_with_the_limit_in_the_error(invoke, chat):
    key, conversation = chat
    too_long = send(invoke, key, conversation["id"], "y" * 200_001, respond=False)
    assert too_long.status == 422
    assert "200000" in json.dumps(too_long.body)


def test_a_deleted_conversation_is_gone_at_once_and_purged_after(invoke, chat, queue, aws):
    key, conversation = chat
    sent = send(invoke, key, conversation["id"], "bye").body
    queue.drain()
    assert (
        invoke("DeleteConversationFunction", key=key, path={"conversation_id": conversation["id"]}).status
        == 204
    )
    for function, path in [
        ("GetConversationFunction", {"conversation_id": conversation["id"]}),
        ("GetMessageFunction", {"conversation_id": conversation["id"], "message_id": sent["message"]["id"]}),
        ("GetTurnFunction", {"conversation_id": conversation["id"], "turn_id": sent["turn"]["id"]}),
        ("ListMessagesFunction", {"conversation_id": conversation["id"]}),
    ]:
        assert invoke(function, key=key, path=path).status == 404, function

    sqs = boto3.client("sqs", region_name="us-east-1")
    purge = sqs.receive_message(QueueUrl=aws.ref("PurgeQueue"), MessageSystemAttributeNames=["All"])[
        "Messages"
    ]
    record = sqs_record_from_message(purge[0], aws.get_att("PurgeQueue", "Arn"))
    load_handler("PurgeConversationFunction")(sqs_event([record]), LambdaContext("Purge", 300))
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=aws.ref("Table"))["Items"]
    assert not [i for i in items if conversation["id"] in i["PK"]["S"]]


def test_conversations_list_newest_activity_first_and_by_status(invoke, chat, queue):
    key, first = chat
    second = invoke("CreateConversationFunction", key=key, body={"title": "Second"}).body
    send(invoke, key, first["id"], "bump", respond=False)
    listed = invoke("ListConversationsFunction", key=key).body["data"]
    assert [c["id"] for c in listed] == [first["id"], second["id"]]
    assert (
        invoke("ArchiveConversationFunction", key=key, path={"conversation_id": second["id"]}).status == 200
    )
    assert [c["id"] for c in invoke("ListConversationsFunction", key=key).body["data"]] == [first["id"]]
    archived = invoke("ListConversationsFunction", key=key, query="status=archived").body["data"]
    assert [c["id"] for c in archived] == [second["id"]]
    refused = send(invoke, key, second["id"], "hello?")
    assert refused.status == 409
    assert refused.body["error"]["type"] == "invalid_state"


def test_conversation_updates_and_pagination(invoke, chat):
    key, conversation = chat
    updated = invoke(
        "UpdateConversationFunction",
        key=key,
        path={"conversation_id": conversation["id"]},
        body={"title": "Renamed", "metadata": {"team": "blue"}},
    )
    assert updated.body["title"] == "Renamed"
    assert updated.body["metadata"] == {"team": "blue"}
    for i in range(3):
        invoke("CreateConversationFunction", key=key, body={"title": f"c{i}"})
    page = invoke("ListConversationsFunction", key=key, query="limit=2").body
    rest = invoke("ListConversationsFunction", key=key, query=f"limit=2&cursor={page['next_cursor']}").body
    assert len(page["data"]) == 2
    assert len(rest["data"]) == 2
    assert rest["has_more"] is False


def test_message_tags_metadata_feedback_and_filters(invoke, chat):
    key, conversation = chat
    path = {"conversation_id": conversation["id"]}
    a = send(invoke, key, conversation["id"], "a", respond=False, tags=["x"]).body["message"]
    send(invoke, key, conversation["id"], "b", respond=False, role="system")
    c = send(invoke, key, conversation["id"], "c", respond=False).body["message"]
    assert [m["content"] for m in messages_of(invoke, key, conversation["id"], "tag=x")] == ["a"]
    assert [m["content"] for m in messages_of(invoke, key, conversation["id"], "role=system")] == ["b"]
    assert [m["content"] for m in messages_of(invoke, key, conversation["id"], "order=desc")] == [
        "c",
        "b",
        "a",
    ]
    first = invoke("ListMessagesFunction", key=key, path=path, query="limit=1&role=user").body
    rest = invoke(
        "ListMessagesFunction", key=key, path=path, query=f"limit=1&role=user&cursor={first['next_cursor']}"
    )
    assert [m["content"] for m in first["data"] + rest.body["data"]] == ["a", "c"]

    message_path = {**path, "message_id": c["id"]}
    tagged = invoke(
        "UpdateMessageFunction", key=key, path=message_path, body={"tags": ["t"], "meta_data": {"k": 1}}
    )
    assert tagged.body["tags"] == ["t"]
    assert tagged.body["meta_data"] == {"k": 1}
    liked = invoke(
        "MessageFeedbackFunction", key=key, path=message_path, body={"rating": "like", "user_id": "u1"}
    )
    disliked = invoke(
        "MessageFeedbackFunction", key=key, path=message_path, body={"rating": "dislike", "user_id": "u2"}
    )
    assert liked.body["likes"] == ["u1"]
    assert disliked.body["dislikes"] == ["u2"]
    cleared = invoke(
        "MessageFeedbackFunction", key=key, path=message_path, body={"rating": None, "user_id": "u1"}
    )
    assert cleared.body["likes"] == []
    assert a["parent_message_id"] is None


def test_an_explicit_parent_must_exist(invoke, chat):
    key, conversation = chat
    reply = send(invoke, key, conversation["id"], "x", parent_message_id="msg_nope", respond=False)
    assert reply.status == 404
    assert "msg_nope" in reply.body["error"]["message"]


@pytest.mark.usefixtures("all_events_published")
def test_every_terminal_turn_publishes_its_event_on_the_bus(invoke, chat, queue, aws):
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    inbox = sqs.create_queue(QueueName="turn-events")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = aws.ref("EventBus")
    events.put_rule(Name="turns", EventBusName=bus, EventPattern=json.dumps({"source": ["parley"]}))
    events.put_targets(Rule="turns", EventBusName=bus, Targets=[{"Id": "inbox", "Arn": inbox_arn}])
    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "publish me").body["turn"]

    queue.drain()

    received = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    published = [json.loads(m["Body"]) for m in received]
    assert [e["detail-type"] for e in published] == ["turn.completed"]
    detail = published[0]["detail"]
    assert detail["turn_id"] == turn["id"]
    assert detail["status"] == "completed"
    assert detail["usage"]["total_tokens"] > 0
