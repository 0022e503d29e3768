"""Exactly one effect per turn under at-least-once delivery (issue 6, item 2), in-process against moto.

A failure is injected at each step of the worker (after the claim, after the model call, inside the
final transaction, and after that transaction committed but before the record was acknowledged);
then the record is delivered again, as SQS would. Whatever happened, the turn ends ``completed`` with
exactly one reply, or ``failed`` with a reason: never two replies, never stuck.

Concurrent deliveries need a DynamoDB that serializes conditional writes; they are in
tests/e2e/test_exactly_once.py, over the devstack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

from devstack.events import LambdaContext, scheduled_event, sqs_event, sqs_record_from_message
from tests.conftest import load_handler
from tests.integration.test_turns import get_turn, make_agent, messages_of, send
from tests.integration.turns_support import TurnQueue


class WorkerDied(Exception):
    """What the injected failure raises: the worker stopped here (a crash, a timeout, a lost reply)."""


@pytest.fixture
def queue(aws: Any) -> TurnQueue:
    return TurnQueue(aws)


@pytest.fixture
def chat(invoke: Any, admin: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    make_agent(invoke, admin["key"])
    conversation = invoke("CreateConversationFunction", key=admin["key"], body={"title": "Once"})
    assert conversation.status == 201, conversation.body
    return admin["key"], conversation.body


def _is_final_write(operations: list[dict[str, Any]]) -> bool:
    """The worker's final transaction: it puts the assistant's reply."""
    return any(op.get("Put", {}).get("Item", {}).get("role", {}).get("S") == "assistant" for op in operations)


def _after_claim(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    from parley.agent import pipeline

    real = pipeline._history
    remaining = {"n": times}

    def history(*args: Any, **kwargs: Any) -> Any:
        if remaining["n"]:
            remaining["n"] -= 1
            raise WorkerDied("died after the claim")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_history", history)


def _after_model_call(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    from parley.agent import pipeline

    real = pipeline._respond
    remaining = {"n": times}

    def respond(*args: Any, **kwargs: Any) -> Any:
        outcome = real(*args, **kwargs)
        if remaining["n"]:
            remaining["n"] -= 1
            raise WorkerDied("died after the model answered")
        return outcome

    monkeypatch.setattr(pipeline, "_respond", respond)


def _during_final_write(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    from parley.store import table

    real = table.transact
    remaining = {"n": times}

    def transact(operations: Any) -> None:
        operations = list(operations)
        if remaining["n"] and _is_final_write(operations):
            remaining["n"] -= 1
            raise WorkerDied("the final transaction failed")
        real(operations)

    monkeypatch.setattr(table, "transact", transact)


def _after_final_write(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    from parley.store import table

    real = table.transact
    remaining = {"n": times}

    def transact(operations: Any) -> None:
        operations = list(operations)
        real(operations)
        if remaining["n"] and _is_final_write(operations):
            remaining["n"] -= 1
            raise WorkerDied("committed, then died before acknowledging the record")

    monkeypatch.setattr(table, "transact", transact)


FAILURES: dict[str, Callable[[pytest.MonkeyPatch, int], None]] = {
    "after_claim": _after_claim,
    "after_model_call": _after_model_call,
    "during_final_write": _during_final_write,
    "after_final_write_before_ack": _after_final_write,
}


def _roles(invoke: Any, key: str, conversation_id: str) -> list[str]:
    return [m["role"] for m in messages_of(invoke, key, conversation_id)]


def _conversation(invoke: Any, key: str, conversation_id: str) -> dict[str, Any]:
    reply = invoke("GetConversationFunction", key=key, path={"conversation_id": conversation_id})
    assert reply.status == 200, reply.body
    return dict(reply.body)


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failure_at_any_step_then_redelivery_completes_the_turn_with_one_reply(
    failure: str, invoke: Any, chat: Any, queue: TurnQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a turn whose first delivery dies at this step
    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "exactly once").body["turn"]
    FAILURES[failure](monkeypatch, 1)
    records = queue.receive()
    assert len(records) == 1

    # When the record is delivered, fails, and is delivered again (twice: at-least-once)
    first = queue.deliver(records)
    assert first["batchItemFailures"], "a record whose worker died is not acknowledged"
    queue.deliver(records)
    queue.deliver(records)

    # Then the turn completed once, with exactly one reply, and the conversation counted it once
    done = get_turn(invoke, key, conversation["id"], turn["id"])
    assert done["status"] == "completed"
    assert _roles(invoke, key, conversation["id"]) == ["user", "assistant"]
    state = _conversation(invoke, key, conversation["id"])
    assert state["message_count"] == 2
    assert state["leaf_message_id"] == done["reply_message_id"]
    assert send(invoke, key, conversation["id"], "next", if_busy="reject").status == 202, "no open turn left"


def test_a_redelivery_after_a_committed_but_unacknowledged_turn_is_skipped(
    invoke: Any, chat: Any, queue: TurnQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parley.agent import pipeline

    # Given a turn whose final write committed, but whose worker died before acknowledging the record
    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "committed").body["turn"]
    _after_final_write(monkeypatch, 1)
    records = queue.receive()
    queue.deliver(records)
    assert get_turn(invoke, key, conversation["id"], turn["id"])["status"] == "completed"

    # When the worker sees the record again
    outcome = pipeline.run_turn(turn["workspace_id"], conversation["id"], turn["id"])

    # Then it does nothing: no second model call, no second reply
    assert outcome == "skipped"
    assert _roles(invoke, key, conversation["id"]) == ["user", "assistant"]


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failure_at_every_delivery_ends_failed_with_a_reason_via_the_dead_letter_queue(
    failure: str, invoke: Any, chat: Any, queue: TurnQueue, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a turn whose worker dies at this step on every delivery
    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "doomed").body["turn"]
    FAILURES[failure](monkeypatch, 1_000)

    # When SQS has delivered it maxReceiveCount times and moved it to the dead-letter queue
    dead = _deliver_until_dead(queue, aws)

    # Then the dead-letter function ends it failed with the reason; unless its first delivery had
    # committed: then the redelivery was skipped and acknowledged, and the reply stands alone
    ended = get_turn(invoke, key, conversation["id"], turn["id"])
    if failure == "after_final_write_before_ack":
        assert dead == []
        assert ended["status"] == "completed"
        assert _roles(invoke, key, conversation["id"]) == ["user", "assistant"]
    else:
        assert dead, "the record reached the dead-letter queue"
        handler = load_handler("TurnDeadLetterFunction")
        assert handler(sqs_event(dead), LambdaContext("TurnDeadLetterFunction", 10)) == {
            "batchItemFailures": []
        }
        ended = get_turn(invoke, key, conversation["id"], turn["id"])
        assert ended["status"] == "failed"
        assert ended["error"]["type"] == "undeliverable"
        assert ended["error"]["message"]
        assert _roles(invoke, key, conversation["id"]) == ["user"]
    assert send(invoke, key, conversation["id"], "next", if_busy="reject").status == 202, "no open turn left"


def _deliver_until_dead(queue: TurnQueue, aws: Any) -> list[dict[str, Any]]:
    """Deliver until the record is in the dead-letter queue (its records) or acknowledged ([])."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq_url = aws.ref("TurnsDeadLetterQueue")
    dlq_arn = aws.get_att("TurnsDeadLetterQueue", "Arn")
    for _ in range(10):
        records = queue.receive()
        if records:
            queue.deliver(records)
        dead = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if dead:
            return [sqs_record_from_message(m, dlq_arn) for m in dead]
        if not records:
            return []  # acknowledged: nothing left in either queue
    raise AssertionError("the record never reached the dead-letter queue")


def _expire_lease(turn: dict[str, Any], conversation_id: str) -> None:
    from parley import clock
    from parley.store import turns as turn_store

    past = clock.iso(clock.now() - timedelta(minutes=10))
    turn_store.update(
        turn["workspace_id"],
        conversation_id,
        turn["id"],
        set_fields={"lease_until": past, **turn_store.open_key(turn["id"], past)},
    )


def _stored(turn: dict[str, Any], conversation_id: str) -> dict[str, Any]:
    from parley.store import turns as turn_store

    stored = turn_store.get(turn["workspace_id"], conversation_id, turn["id"], consistent=True)
    assert stored is not None
    return stored


def _lose_records(queue: TurnQueue) -> None:
    """The turn's records are lost (PurgeQueue is allowed once a minute, so receive and delete)."""
    for message in queue.receive():
        queue.sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def abandoned(invoke: Any, chat: Any, queue: TurnQueue) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A running turn whose worker was killed outright (no release): it holds a live lease."""
    from parley.agent import pipeline

    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "abandoned").body["turn"]
    claimed = pipeline.claim(turn["workspace_id"], conversation["id"], turn["id"])
    assert claimed is not None and claimed["status"] == "running"
    return key, conversation, turn


def test_a_redelivery_while_the_lease_is_live_is_skipped(
    invoke: Any, abandoned: Any, queue: TurnQueue
) -> None:
    key, conversation, turn = abandoned
    queue.drain()  # the record arrives while another worker (as far as anyone knows) still runs it
    assert get_turn(invoke, key, conversation["id"], turn["id"])["status"] == "running"
    assert _roles(invoke, key, conversation["id"]) == ["user"]


def test_a_turn_whose_lease_expired_is_picked_up_again_and_completes_once(
    invoke: Any, abandoned: Any, queue: TurnQueue
) -> None:
    # Given a running turn whose worker died and whose lease has expired
    key, conversation, turn = abandoned
    records = queue.receive()
    _expire_lease(turn, conversation["id"])

    # When its record is delivered again, twice
    queue.deliver(records)
    queue.deliver(records)

    # Then it ran once more and completed, with one reply
    done = get_turn(invoke, key, conversation["id"], turn["id"])
    assert done["status"] == "completed"
    assert _stored(turn, conversation["id"])["attempts"] == 2
    assert _roles(invoke, key, conversation["id"]) == ["user", "assistant"]


def test_the_sweeper_requeues_a_running_turn_past_its_lease_and_it_completes_once(
    invoke: Any, abandoned: Any, queue: TurnQueue
) -> None:
    # Given a running turn whose worker died, whose record was acknowledged, and whose lease expired
    key, conversation, turn = abandoned
    queue.drain()
    _expire_lease(turn, conversation["id"])

    # When the sweeper runs, then the queue is drained
    sweep = load_handler("SweepTurnsFunction")(
        scheduled_event("arn:aws:events:rule/sweep"), LambdaContext("Sweep", 60)
    )
    assert sweep == {"requeued": 1, "failed": 0, "expired": 0}
    queue.drain()

    # Then the turn completed with one reply, and the next sweep finds nothing
    assert get_turn(invoke, key, conversation["id"], turn["id"])["status"] == "completed"
    assert _roles(invoke, key, conversation["id"]) == ["user", "assistant"]
    again = load_handler("SweepTurnsFunction")(
        scheduled_event("arn:aws:events:rule/sweep"), LambdaContext("Sweep", 60)
    )
    assert again == {"requeued": 0, "failed": 0, "expired": 0}


def test_a_turn_whose_workers_always_die_is_failed_by_the_sweeper_never_stuck(
    invoke: Any, chat: Any, queue: TurnQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parley.agent import pipeline

    # Given a turn whose workers are killed outright (no release) on every attempt
    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "cursed").body["turn"]
    _lose_records(queue)
    sweeper = load_handler("SweepTurnsFunction")
    for _ in range(5):
        claimed = pipeline.claim(turn["workspace_id"], conversation["id"], turn["id"])
        if claimed is None:
            break
        _expire_lease(turn, conversation["id"])
        sweeper(scheduled_event("arn:aws:events:rule/sweep"), LambdaContext("Sweep", 60))
        _lose_records(queue)

    # Then the sweeper gave up on it with the reason
    ended = get_turn(invoke, key, conversation["id"], turn["id"])
    assert ended["status"] == "failed"
    assert ended["error"]["type"] == "abandoned"
    assert _roles(invoke, key, conversation["id"]) == ["user"]


def test_the_dead_letter_function_leaves_a_completed_turn_alone(
    invoke: Any, chat: Any, queue: TurnQueue, aws: Any
) -> None:
    key, conversation = chat
    turn = send(invoke, key, conversation["id"], "fine").body["turn"]
    queue.drain()
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
    load_handler("TurnDeadLetterFunction")(sqs_event([record]), LambdaContext("TurnDeadLetterFunction", 10))
    assert get_turn(invoke, key, conversation["id"], turn["id"])["status"] == "completed"
