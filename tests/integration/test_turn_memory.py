"""Memory in turns, through the handlers and the real worker against moto: recalled into the prompt
before the model, extracted from the exchange after it, per end user, switched by the agent, Mielto's
``enable_memories`` and Odyssey's ``disableMemory`` (the opt-out wins)."""

from __future__ import annotations

from typing import Any

import pytest

from parley.services import memories
from parley.store import memories as memory_store
from tests.integration.test_turns import get_turn, make_agent, messages_of, send
from tests.integration.turns_support import TurnQueue


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


def agent_with(invoke, key: str, **settings: Any) -> dict[str, Any]:
    agent = make_agent(invoke, key)
    if settings:
        updated = invoke("UpdateAgentFunction", key=key, path={"agent_id": agent["id"]}, body=settings)
        assert updated.status == 200, updated.body
    return agent


def new_conversation(invoke, key: str) -> str:
    created = invoke("CreateConversationFunction", key=key, body={})
    assert created.status == 201, created.body
    return str(created.body["id"])


def ask(
    invoke, queue: TurnQueue, key: str, conversation_id: str, content: str, **extra: Any
) -> dict[str, Any]:
    """Send, run the turn, and return the completed turn with its reply's content under "reply"."""
    sent = send(invoke, key, conversation_id, content, **extra)
    assert sent.status == 202, sent.body
    queue.drain()
    turn = get_turn(invoke, key, conversation_id, sent.body["turn"]["id"])
    assert turn["status"] == "completed", turn
    reply = next(m for m in messages_of(invoke, key, conversation_id) if m["id"] == turn["reply_message_id"])
    return {**turn, "reply": reply["content"]}


def memory_steps(turn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in turn["steps"] if step["type"] == "memory"}


def stored(workspace_id: str, user_id: str) -> list[str]:
    return sorted(m["memory"] for m in memory_store.for_user(workspace_id, user_id, limit=100))


def test_a_fact_told_with_memory_on_is_recalled_in_a_new_conversation(invoke, admin, queue):
    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key, memory=True)

    told = ask(invoke, queue, key, new_conversation(invoke, key), "My name is Ada.", sender_id="u_ada")
    remembered = memory_steps(told)["remember"]["detail"]
    assert remembered["count"] == 1 and remembered["memory_ids"]
    assert stored(workspace_id, "u_ada") == ["The user's name is Ada."]

    asked = ask(invoke, queue, key, new_conversation(invoke, key), "What is my name?", sender_id="u_ada")
    assert "Ada" in asked["reply"]
    recall = memory_steps(asked)["recall"]["detail"]
    assert recall["count"] == 1 and recall["memory_ids"] == remembered["memory_ids"]
    steps = [(s["type"], s["name"]) for s in asked["steps"]]
    assert steps.index(("memory", "recall")) < steps.index(("memory", "remember"))
    assert steps[-1] == ("memory", "remember")  # extraction runs after the model


def test_another_users_memories_are_never_recalled(invoke, admin, queue):
    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key, memory=True)
    memories.create_record(workspace_id, "u_bob", "The user's name is Bob.")

    asked = ask(invoke, queue, key, new_conversation(invoke, key), "What is my name?", sender_id="u_ada")

    assert "Bob" not in asked["reply"]
    assert memory_steps(asked)["recall"]["detail"]["count"] == 0
    assert stored(workspace_id, "u_bob") == ["The user's name is Bob."]


def test_mieltos_enable_memories_turns_memory_on_for_that_message(invoke, admin, queue):
    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key)  # the agent's memory is off
    conversation = invoke("MieltoCreateConversationFunction", key=key, body={"title": "m"}).body
    posted = invoke(
        "MieltoCreateMessagesFunction",
        key=key,
        body={
            "conversation_id": conversation["id"],
            "content": {"content": "I live in Lyon.", "role": "user", "sender_id": "u_ada"},
            "enable_memories": True,
        },
    )
    assert posted.status == 201, posted.body
    queue.drain()
    assert stored(workspace_id, "u_ada") == ["The user lives in Lyon."]

    # Without the switch, the same agent neither recalls nor remembers.
    plain = ask(invoke, queue, key, new_conversation(invoke, key), "I work at Acme.", sender_id="u_ada")
    assert memory_steps(plain) == {}
    assert stored(workspace_id, "u_ada") == ["The user lives in Lyon."]


def test_disable_memory_keeps_a_message_out_of_memory_even_with_the_agents_memory_on(invoke, admin, queue):
    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key, memory=True)
    memories.create_record(workspace_id, "u_ada", "The user's name is Ada.")

    private = ask(
        invoke,
        queue,
        key,
        new_conversation(invoke, key),
        "What is my name? I live in Lyon.",
        sender_id="u_ada",
        meta_data={"disable_memory": True, "enable_memories": True},
    )

    assert memory_steps(private) == {}
    assert "Ada" not in private["reply"]  # nothing was recalled
    assert stored(workspace_id, "u_ada") == ["The user's name is Ada."]  # nothing was extracted


def test_a_message_without_an_end_user_has_no_memory(invoke, admin, queue):
    key = admin["key"]
    agent_with(invoke, key, memory=True)
    turn = ask(invoke, queue, key, new_conversation(invoke, key), "My name is Ada.")
    assert memory_steps(turn) == {}


def test_the_owner_is_the_end_user_when_no_sender_is_named(invoke, admin, queue):
    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key, memory=True)
    ask(invoke, queue, key, new_conversation(invoke, key), "My name is Ada.", owner_id="u_owner")
    assert stored(workspace_id, "u_owner") == ["The user's name is Ada."]


def test_a_redelivered_turn_does_not_duplicate_memories(invoke, admin, queue, monkeypatch):
    from parley.agent import pipeline

    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key, memory=True)
    conversation_id = new_conversation(invoke, key)
    turn = send(invoke, key, conversation_id, "My name is Ada.", sender_id="u_ada").body["turn"]
    real = pipeline._complete
    calls = {"n": 0}

    def crash_once(*args: Any, **kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the final write failed")  # after extraction: the retry extracts again
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_complete", crash_once)
    queue.drain()

    assert calls["n"] == 2
    assert get_turn(invoke, key, conversation_id, turn["id"])["status"] == "completed"
    assert stored(workspace_id, "u_ada") == ["The user's name is Ada."]


def test_a_memory_failure_is_recorded_and_the_turn_still_answers(invoke, admin, queue, monkeypatch):
    key = admin["key"]
    agent_with(invoke, key, memory=True)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the memory table is unreachable: https://secret.example/?key=abc")

    monkeypatch.setattr(memories, "recall", broken)
    monkeypatch.setattr(memories, "remember", broken)
    turn = ask(invoke, queue, key, new_conversation(invoke, key), "Hello", sender_id="u_ada")

    assert turn["reply"] == "You said: Hello"
    steps = memory_steps(turn)
    for name in ("recall", "remember"):
        assert steps[name]["detail"]["error"] == {"type": "RuntimeError", "message": "RuntimeError"}
        assert steps[name]["detail"]["count"] == 0


def test_odysseys_disable_memory_opts_its_message_out(invoke, admin, queue, monkeypatch):
    from parley.compat import odyssey

    key, workspace_id = admin["key"], admin["workspace"]["id"]
    agent_with(invoke, key, memory=True)
    conversation_id = new_conversation(invoke, key)
    # Odyssey's send waits for the turn; with no wait it answers at once and the turn runs below.
    monkeypatch.setattr(odyssey, "WAIT_SECONDS", 0.0)

    def send_odyssey(message: str, **extra: Any) -> None:
        invoke(
            "OdysseySendChatMessageFunction",
            key=key,
            body={
                "workspaceId": workspace_id,
                "conversationId": conversation_id,
                "message": message,
                **extra,
            },
            headers={"x-api-key": key, "userid": "u_ada"},
        )
        queue.drain()

    send_odyssey("My name is Ada.", disableMemory=True)
    assert stored(workspace_id, "u_ada") == []
    send_odyssey("I live in Lyon.", disableMemory=False)
    assert stored(workspace_id, "u_ada") == ["The user lives in Lyon."]

    first, _, second, _ = messages_of(invoke, key, conversation_id)
    assert first["meta_data"] == {"disable_memory": True} and second["meta_data"] == {}
