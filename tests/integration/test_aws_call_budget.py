"""Issue 7's AWS-call budgets, per route: counted with botocore's ``before-call`` event (exact, not timed).

A warm container's request: each route is called once to warm it, and the second, identical call is
counted. Sending ≤ 2 (one transaction, one SQS send), reading a message or a turn ≤ 1, listing ≤ 1,
the worker ≤ 6 per turn (the scripted provider makes no AWS call).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.integration.test_turns import make_agent
from tests.integration.turns_support import TurnQueue


class Calls:
    """The AWS operations parley's clients make while ``counting``."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.items_read = 0
        self._active = False
        from parley import aws

        aws.session().register("before-call", self._before)
        aws.session().register("after-call.dynamodb", self._after)

    def _before(self, event_name: str, **_: Any) -> None:
        if self._active:
            self.operations.append(event_name.split(".", 1)[1])  # "dynamodb.Query"

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        if self._active:
            self.items_read += len(parsed.get("Items", ())) + (1 if parsed.get("Item") else 0)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.operations, self.items_read, self._active = [], 0, True
        try:
            yield self.operations
        finally:
            self._active = False


@pytest.fixture
def calls(aws, monkeypatch) -> Calls:
    # API Gateway calls the authorizer before the function (and caches its answer): not the route's cost.
    from tests.integration import conftest

    authorized: dict[tuple[str, ...], Any] = {}
    authorize = conftest._principal_for

    def once_per_key(secret, headers, route, raw_path):
        cache_key = (str(secret), route.path, raw_path)
        if cache_key not in authorized:
            authorized[cache_key] = authorize(secret, headers, route, raw_path)
        return authorized[cache_key]

    monkeypatch.setattr(conftest, "_principal_for", once_per_key)
    return Calls()


@pytest.fixture
def world(invoke, admin, aws) -> dict[str, str]:
    """A conversation with one answered exchange, and a job with a message."""
    key = admin["key"]
    make_agent(invoke, key)
    conversation = invoke("CreateConversationFunction", key=key, body={}).body["id"]
    sent = invoke(
        "SendMessageFunction", key=key, path={"conversation_id": conversation}, body={"content": "hi"}
    ).body
    job = invoke("CreateJobFunction", key=key, body={}).body["id"]
    invoke("SendJobMessageFunction", key=key, path={"job_id": job}, body={"content": "hi"})
    TurnQueue(aws).drain()
    return {
        "key": key,
        "conversation_id": conversation,
        "message_id": sent["message"]["id"],
        "turn_id": sent["turn"]["id"],
        "job_id": job,
    }


def warm_count(invoke: Callable[..., Any], calls: Calls, function: str, **request: Any) -> list[str]:
    assert invoke(function, **request).status < 400
    with calls.counting() as operations:
        reply = invoke(function, **request)
    assert reply.status < 400, reply.body
    return operations


@pytest.mark.parametrize(
    ("function", "path", "query"),
    [
        ("ListMessagesFunction", ("conversation_id",), ""),
        ("ListMessagesFunction", ("conversation_id",), "order=desc"),
        ("ListMessagesFunction", ("conversation_id",), "role=assistant"),
        ("ListTurnsFunction", ("conversation_id",), ""),
        ("ListBranchesFunction", ("conversation_id",), ""),
        ("ListJobMessagesFunction", ("job_id",), ""),
        ("ListJobMessagesFunction", ("job_id",), "order=desc"),
        ("ListAgentsFunction", (), ""),
        ("ListConversationsFunction", (), ""),
        ("ListJobsFunction", (), ""),
    ],
)
def test_a_listing_is_one_query(invoke, calls, world, function, path, query):
    names = {"conversation_id": "conversation_id", "job_id": "job_id"}
    request_path = {name: world[names[name]] for name in path}

    operations = warm_count(invoke, calls, function, key=world["key"], path=request_path, query=query)

    assert operations == ["dynamodb.Query"]


@pytest.mark.parametrize(
    ("function", "field"), [("GetMessageFunction", "message_id"), ("GetTurnFunction", "turn_id")]
)
def test_reading_a_message_or_a_turn_is_one_read(invoke, calls, world, function, field):
    path = {"conversation_id": world["conversation_id"], field: world[field]}

    operations = warm_count(invoke, calls, function, key=world["key"], path=path)

    assert operations == ["dynamodb.BatchGetItem"]


@pytest.mark.parametrize(
    ("function", "path_name"),
    [("SendMessageFunction", "conversation_id"), ("SendJobMessageFunction", "job_id")],
)
def test_sending_a_message_is_one_transaction_and_one_queue_message(
    invoke, calls, world, function, path_name
):
    path = {path_name: world[path_name]}

    operations = warm_count(invoke, calls, function, key=world["key"], path=path, body={"content": "more"})

    assert operations == ["dynamodb.TransactWriteItems", "sqs.SendMessage"]


def test_sending_with_an_explicit_parent_costs_the_same(invoke, calls, world):
    path = {"conversation_id": world["conversation_id"]}
    body = {"content": "again", "parent_message_id": world["message_id"]}

    operations = warm_count(invoke, calls, "SendMessageFunction", key=world["key"], path=path, body=body)

    assert operations == ["dynamodb.TransactWriteItems", "sqs.SendMessage"]


def test_a_later_page_reads_the_conversation_too(invoke, calls, world):
    # A page in the middle meets neither #META nor a sentinel, so it reads #META to prove existence.
    path = {"conversation_id": world["conversation_id"]}
    for n in range(5):
        body = {"content": f"m{n}", "respond": False}
        invoke("SendMessageFunction", key=world["key"], path=path, body=body)
    first = invoke("ListMessagesFunction", key=world["key"], path=path, query="limit=1").body

    operations = warm_count(
        invoke,
        calls,
        "ListMessagesFunction",
        key=world["key"],
        path=path,
        query=f"limit=1&cursor={first['next_cursor']}",
    )

    assert sorted(operations) == ["dynamodb.GetItem", "dynamodb.Query"]


def test_the_worker_stays_within_six_calls_per_turn(invoke, calls, world, aws):
    queue = TurnQueue(aws)
    invoke(
        "SendMessageFunction",
        key=world["key"],
        path={"conversation_id": world["conversation_id"]},
        body={"content": "x"},
    )
    records = queue.receive()
    assert len(records) == 1

    with calls.counting() as operations:
        queue.deliver(records)

    assert len(operations) <= 6, operations
    assert operations.count("dynamodb.TransactWriteItems") == 1


def test_a_turn_on_a_long_conversation_reads_no_more_messages_than_its_history_budget(
    invoke, calls, admin, aws
):
    # Given an agent with a history budget of 6 and a conversation of 40 messages
    key = admin["key"]
    agent = make_agent(invoke, key)
    assert (
        invoke(
            "UpdateAgentFunction", key=key, path={"agent_id": agent["id"]}, body={"history_messages": 6}
        ).status
        == 200
    )
    conversation = invoke("CreateConversationFunction", key=key, body={}).body["id"]
    path = {"conversation_id": conversation}
    for n in range(39):
        invoke("SendMessageFunction", key=key, path=path, body={"content": f"m{n}", "respond": False})
    queue = TurnQueue(aws)
    invoke("SendMessageFunction", key=key, path=path, body={"content": "warm the agent and provider caches"})
    queue.drain()
    invoke("SendMessageFunction", key=key, path=path, body={"content": "the question"})
    records = queue.receive()

    # When a warm worker answers the last one
    with calls.counting() as operations:
        queue.deliver(records)

    # Then its history query read six messages (the turn, #META and the claim read one item each);
    # the other Query is the event's webhooks check (keys only, one item at most: none here)
    assert operations.count("dynamodb.Query") == 2, operations
    assert calls.items_read <= 6 + 2, (calls.items_read, operations)


def test_a_job_created_with_a_prompt_is_one_transaction_and_one_queue_message(invoke, calls, world):
    # The job, its first message and the turn answering it are written together; nothing is read back.
    operations = warm_count(
        invoke, calls, "CreateJobFunction", key=world["key"], body={"prompt": "Fix the docs"}
    )

    assert operations == ["dynamodb.TransactWriteItems", "sqs.SendMessage"]


def test_the_smart_inbox_listing_reads_the_last_messages_in_one_batch(invoke, calls, world, aws):
    """Shinkai's /v2/all_inboxes: a query per listed status and one read for every job's last message,
    however many jobs there are (it used to read each job's last message on its own)."""
    key = world["key"]
    for text in ("one", "two", "three"):
        job = invoke("CreateJobFunction", key=key, body={}).body["id"]
        invoke("SendJobMessageFunction", key=key, path={"job_id": job}, body={"content": text})
    TurnQueue(aws).drain()

    operations = warm_count(invoke, calls, "ShinkaiAllInboxesFunction", key=key)
    listed = invoke("ShinkaiAllInboxesFunction", key=key).body

    assert operations == ["dynamodb.Query"] * 3 + ["dynamodb.BatchGetItem"]
    assert len(listed) == 4  # and the world's own job
    assert all(inbox["last_message"] is not None for inbox in listed)
    replies = {inbox["last_message"]["job_message"]["content"] for inbox in listed}
    assert {"one", "two", "three"} <= {reply.rsplit(" ", 1)[-1] for reply in replies}


def test_the_smart_inbox_listing_pages_with_offset_and_limit(invoke, world):
    key = world["key"]
    for _ in range(3):
        invoke("CreateJobFunction", key=key, body={})
    everything = [inbox["inbox_id"] for inbox in invoke("ShinkaiAllInboxesFunction", key=key).body]

    first = invoke("ShinkaiAllInboxesFunction", key=key, query="limit=2").body
    after = invoke("ShinkaiAllInboxesFunction", key=key, query=f"offset={everything[1]}&limit=2").body

    assert len(everything) == 4
    assert [inbox["inbox_id"] for inbox in first] == everything[:2]
    assert [inbox["inbox_id"] for inbox in after] == everything[2:4]
