"""POST /v1/chat/completions and GET /v1/models through their handlers against moto: the turn runs inline
on the real pipeline (scripted provider, or an OpenAI-compatible loopback server), its SQS copy is
driven through the real worker afterwards, and errors come back in the shape the openai SDK reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from parley.services import chat_completions
from parley.store import turns as turn_store
from tests.integration.openai_support import recording_openai_server
from tests.integration.test_turns import make_agent, messages_of
from tests.integration.turns_support import TurnQueue

FUNCTION = "ChatCompletionsFunction"


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


@pytest.fixture
def key(invoke, admin) -> str:
    """An admin key whose workspace's default agent, "Helper", is scripted (it echoes)."""
    make_agent(invoke, admin["key"])
    return str(admin["key"])


def complete(invoke, key: str, messages: list[dict[str, Any]], model: str = "Helper", headers=None, **extra):
    return invoke(FUNCTION, key=key, body={"model": model, "messages": messages, **extra}, headers=headers)


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def turn_of(invoke, key: str, reply) -> dict[str, Any]:
    extras = reply.body["parley"]
    found = invoke(
        "GetTurnFunction",
        key=key,
        path={"conversation_id": extras["conversation_id"], "turn_id": extras["turn_id"]},
    )
    assert found.status == 200, found.body
    return dict(found.body)


def stored(invoke, key: str, conversation_id: str) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages_of(invoke, key, conversation_id)]


def error_of(reply) -> dict[str, Any]:
    assert reply.headers.get("x-should-retry") == "false", reply.headers
    return dict(reply.body["error"])


# -- a new conversation ----------------------------------------------------------------------------
def test_a_completion_without_a_conversation_creates_one_and_answers_inline(invoke, key):
    reply = complete(
        invoke,
        key,
        [
            {"role": "system", "content": "Speak like a pirate."},
            user("Hello there\nsecond line"),
            {"role": "assistant", "content": "Hi!"},
            user([{"type": "text", "text": "How"}, {"type": "text", "text": "are you?"}]),
        ],
    )

    assert reply.status == 200, reply.body
    completion = reply.body
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "Helper"
    assert completion["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "You said: How\nare you?", "tool_calls": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    usage = completion["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    extras = completion["parley"]
    assert completion["id"] == "chatcmpl-" + extras["turn_id"]
    assert reply.headers["x-conversation-id"] == extras["conversation_id"]
    assert reply.headers["x-turn-id"] == extras["turn_id"]
    # The earlier messages are its history (stored without a turn); the system message is not a message.
    assert stored(invoke, key, extras["conversation_id"]) == [
        ("user", "Hello there\nsecond line"),
        ("assistant", "Hi!"),
        ("user", "How\nare you?"),
        ("assistant", "You said: How\nare you?"),
    ]
    turn = turn_of(invoke, key, reply)
    assert turn["status"] == "completed" and turn["reply_message_id"] == extras["message_id"]
    assert turn["steps"][0]["detail"]["messages"] == 3
    conversation = invoke(
        "GetConversationFunction", key=key, path={"conversation_id": extras["conversation_id"]}
    ).body
    assert conversation["title"] == "Hello there"
    assert conversation["leaf_message_id"] == extras["message_id"]


def test_the_inline_run_and_the_queued_copy_make_one_reply(invoke, key, queue):
    reply = complete(invoke, key, [user("once")])
    assert reply.status == 200, reply.body

    delivered = queue.drain()  # the SQS copy of the turn, through the real worker

    assert delivered == 1
    conversation_id = reply.body["parley"]["conversation_id"]
    assert stored(invoke, key, conversation_id) == [("user", "once"), ("assistant", "You said: once")]
    assert turn_of(invoke, key, reply)["status"] == "completed"


def test_a_turn_the_queues_worker_ran_first_is_awaited_not_run_again(invoke, key, queue, monkeypatch):
    from parley.services import queues

    real_enqueue = queues.enqueue_turn

    def enqueue_and_deliver(*args: Any, **kwargs: Any) -> None:
        real_enqueue(*args, **kwargs)
        queue.drain()  # the worker claims and finishes the turn before the inline run starts

    monkeypatch.setattr(queues, "enqueue_turn", enqueue_and_deliver)

    reply = complete(invoke, key, [user("race")])

    assert reply.status == 200, reply.body
    assert reply.body["choices"][0]["message"]["content"] == "You said: race"
    turn = turn_of(invoke, key, reply)
    record = turn_store.get(turn["workspace_id"], turn["conversation_id"], turn["id"])
    assert record is not None and record["attempts"] == 1  # claimed once: by the worker
    assert len(stored(invoke, key, reply.body["parley"]["conversation_id"])) == 2


# -- continuing a conversation ---------------------------------------------------------------------
def test_x_conversation_id_continues_with_the_stored_history(invoke, key, queue):
    first = complete(invoke, key, [user("first")])
    conversation_id = first.headers["x-conversation-id"]

    # Clients resend the whole exchange; only the last user message is new.
    second = complete(
        invoke,
        key,
        [user("first"), {"role": "assistant", "content": "You said: first"}, user("second")],
        headers={"x-conversation-id": conversation_id},
    )

    assert second.status == 200, second.body
    assert second.headers["x-conversation-id"] == conversation_id
    assert second.body["choices"][0]["message"]["content"] == "You said: second"
    assert stored(invoke, key, conversation_id) == [
        ("user", "first"),
        ("assistant", "You said: first"),
        ("user", "second"),
        ("assistant", "You said: second"),
    ]
    assert turn_of(invoke, key, second)["steps"][0]["detail"]["messages"] == 3
    queue.drain()
    assert len(stored(invoke, key, conversation_id)) == 4


def test_x_conversation_id_of_an_unknown_conversation_is_404(invoke, key):
    reply = complete(invoke, key, [user("hi")], headers={"x-conversation-id": "conv_missing"})

    assert reply.status == 404
    error = error_of(reply)
    assert error["code"] == "conversation_not_found" and error["param"] == "x-conversation-id"


def test_x_user_id_makes_the_user_the_sender_and_their_memory_attaches(invoke, key):
    agents = invoke("ListAgentsFunction", key=key).body["data"]
    updated = invoke(
        "UpdateAgentFunction", key=key, path={"agent_id": agents[0]["id"]}, body={"memory": True}
    )
    assert updated.status == 200, updated.body

    told = complete(invoke, key, [user("My name is Ada.")], headers={"x-user-id": "u_ada"})
    asked = complete(invoke, key, [user("What is my name?")], headers={"x-user-id": "u_ada"})
    stranger = complete(invoke, key, [user("What is my name?")], headers={"x-user-id": "u_bob"})

    assert told.status == asked.status == stranger.status == 200
    request = messages_of(invoke, key, told.body["parley"]["conversation_id"])[0]
    assert request["sender_id"] == "u_ada"
    assert asked.body["parley"]["conversation_id"] != told.body["parley"]["conversation_id"]
    assert "Ada" in asked.body["choices"][0]["message"]["content"]
    recall = [s for s in turn_of(invoke, key, asked)["steps"] if s["name"] == "recall"]
    assert recall and recall[0]["detail"]["count"] == 1
    assert "Ada" not in stranger.body["choices"][0]["message"]["content"]


# -- which agent answers ---------------------------------------------------------------------------
def test_the_model_names_an_agent_by_id_by_name_in_any_case_or_default(invoke, key):
    provider = invoke(
        "CreateProviderFunction",
        key=key,
        body={"name": "greeter", "kind": "scripted", "options": {"script": [{"reply": "Ahoy!"}]}},
    ).body
    pirate = invoke(
        "CreateAgentFunction",
        key=key,
        body={"name": "Pirate", "provider_id": provider["id"], "is_default": False},
    ).body

    by_id = complete(invoke, key, [user("hi")], model=pirate["id"])
    by_name = complete(invoke, key, [user("hi")], model="pIRATE")
    default = complete(invoke, key, [user("hi")], model="default")

    assert [r.status for r in (by_id, by_name, default)] == [200, 200, 200]
    assert by_id.body["choices"][0]["message"]["content"] == "Ahoy!"
    assert by_id.body["model"] == pirate["id"]
    assert by_name.body["choices"][0]["message"]["content"] == "Ahoy!"
    assert by_name.body["parley"]["agent_id"] == pirate["id"]
    assert default.body["choices"][0]["message"]["content"] == "You said: hi"


def test_the_model_picks_the_agent_of_a_continued_conversation_too(invoke, key):
    first = complete(invoke, key, [user("hi")])
    provider = invoke(
        "CreateProviderFunction",
        key=key,
        body={"name": "greeter", "kind": "scripted", "options": {"script": [{"reply": "Ahoy!"}]}},
    ).body
    invoke("CreateAgentFunction", key=key, body={"name": "Pirate", "provider_id": provider["id"]})

    second = complete(
        invoke,
        key,
        [user("again")],
        model="Pirate",
        headers={"x-conversation-id": first.headers["x-conversation-id"]},
    )

    assert second.status == 200, second.body
    assert second.body["choices"][0]["message"]["content"] == "Ahoy!"


def test_an_unknown_model_is_404_in_the_shape_the_sdk_reads(invoke, key):
    reply = complete(invoke, key, [user("hi")], model="gpt-4o")

    assert reply.status == 404
    error = error_of(reply)
    assert error["code"] == "model_not_found" and error["param"] == "model" and error["type"] == "not_found"
    assert "gpt-4o" in error["message"] and "/v1/models" in error["message"]
    assert error["request_id"]


def test_two_agents_with_the_models_name_are_refused_as_ambiguous(invoke, key):
    provider_id = invoke("ListAgentsFunction", key=key).body["data"][0]["provider_id"]
    invoke("CreateAgentFunction", key=key, body={"name": "helper", "provider_id": provider_id})

    reply = complete(invoke, key, [user("hi")], model="HELPER")

    assert reply.status == 400
    assert error_of(reply)["code"] == "model_ambiguous"


def test_models_lists_the_workspaces_agents(invoke, key):
    agents = invoke("ListAgentsFunction", key=key).body["data"]

    listed = invoke("ListModelsFunction", key=key)

    assert listed.status == 200, listed.body
    assert listed.body["object"] == "list"
    assert [(m["id"], m["name"], m["object"], m["owned_by"]) for m in listed.body["data"]] == [
        (agents[0]["id"], "Helper", "model", "parley")
    ]
    assert isinstance(listed.body["data"][0]["created"], int)


# -- what the provider is asked --------------------------------------------------------------------
@pytest.fixture
def model_server() -> Iterator[tuple[HTTPServer, list[dict[str, Any]]]]:
    """An OpenAI-compatible loopback server that records each request body and answers "answer <n>"."""
    with recording_openai_server(finish_reason="length", usage=(7, 3)) as served:
        yield served


def test_the_system_message_and_sampling_parameters_reach_the_model(invoke, admin, model_server):
    server, seen = model_server
    make_agent(invoke, admin["key"], kind="openai", base_url=server.url_for("/v1"), default_model="m1")

    reply = complete(
        invoke,
        admin["key"],
        [{"role": "developer", "content": "Answer in French."}, user("Hello")],
        temperature=0.2,
        top_p=0.9,
        max_completion_tokens=50,
        seed=7,
        stop=["\n\n"],
        presence_penalty=0.5,
        frequency_penalty=0,
    )

    assert reply.status == 200, reply.body
    assert reply.body["choices"][0]["finish_reason"] == "length"
    assert reply.body["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    sent = seen[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief.\n\nAnswer in French."},
        {"role": "user", "content": "Hello"},
    ]
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"], sent["seed"]) == (0.2, 0.9, 50, 7)
    assert sent["stop"] == ["\n\n"] and sent["presence_penalty"] == 0.5
    assert "frequency_penalty" not in sent  # its neutral value asks for nothing


def test_a_parameter_the_agents_provider_cannot_honour_is_refused(invoke, admin):
    created = invoke(
        "CreateProviderFunction",
        key=admin["key"],
        body={"name": "b", "kind": "bedrock", "default_model": "anthropic.claude-3-haiku-20240307-v1:0"},
    )
    assert created.status == 201, created.body
    invoke("CreateAgentFunction", key=admin["key"], body={"name": "Rock", "provider_id": created.body["id"]})

    reply = complete(invoke, admin["key"], [user("hi")], model="Rock", stop="END")

    assert reply.status == 400
    error = error_of(reply)
    assert error["param"] == "stop" and "bedrock" in error["message"]


# -- refusals --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"functions": [{"name": "f", "parameters": {"type": "object"}}]}, "functions"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_what_parley_cannot_do_is_a_400_naming_the_parameter(invoke, key, queue, extra, param):
    reply = complete(invoke, key, [user("hi")], **extra)

    assert reply.status == 400
    error = error_of(reply)
    assert error["param"] == param and error["code"] == "unsupported_parameter"
    assert queue.drain() == 0  # nothing was posted


def test_an_image_part_is_422(invoke, key, queue):
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}

    reply = complete(invoke, key, [user([{"type": "text", "text": "What is this?"}, image])])

    assert reply.status == 422
    error = error_of(reply)
    assert error["param"] == "messages.0.content.1" and "image_url" in error["message"]
    assert queue.drain() == 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "Helper"}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "Helper", "messages": []}, "messages"),
        (
            {"model": "Helper", "messages": [{"role": "user", "content": "hi"}], "temperature": 3},
            "temperature",
        ),
        ({"model": "Helper", "messages": [{"role": "user", "content": "hi"}], "best_of": 2}, "best_of"),
        ({"model": "Helper", "messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
        (
            {
                "model": "Helper",
                "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}],
            },
            "messages.1.role",
        ),
    ],
)
def test_an_invalid_request_is_422_naming_the_field(invoke, key, body, param):
    reply = invoke(FUNCTION, key=key, body=body)

    assert reply.status == 422, reply.body
    error = error_of(reply)
    assert error["type"] == "validation_error" and error["param"] == param


def test_a_failing_provider_is_502_with_the_turns_error(invoke, admin):
    make_agent(invoke, admin["key"], options={"script": [{"match": "boom", "error": "rate_limited"}]})

    reply = complete(invoke, admin["key"], [user("boom")])

    assert reply.status == 502
    error = error_of(reply)
    assert error["type"] == "bad_gateway" and error["code"] == "rate_limited"
    details = error["details"][0]
    assert "rate_limited" in error["message"] and details["turn_id"] in error["message"]
    turn = invoke(
        "GetTurnFunction",
        key=admin["key"],
        path={"conversation_id": details["conversation_id"], "turn_id": details["turn_id"]},
    ).body
    assert turn["status"] == "failed" and turn["error"]["type"] == "rate_limited"


# -- the deadline ----------------------------------------------------------------------------------
def test_a_turn_slower_than_the_deadline_is_504_and_finished_by_the_queue(invoke, admin, queue, monkeypatch):
    make_agent(
        invoke, admin["key"], options={"script": [{"match": "slow", "reply": "done", "delay_ms": 1500}]}
    )
    monkeypatch.setattr(chat_completions, "DEADLINE_SECONDS", 0.2)

    reply = complete(invoke, admin["key"], [user("slow please")])

    assert reply.status == 504
    error = error_of(reply)
    details = error["details"][0]
    assert error["code"] == "turn_timeout"
    assert f"/v1/conversations/{details['conversation_id']}/turns/{details['turn_id']}" in error["message"]
    for thread in threading.enumerate():  # the inline attempt ends (without writing: it lost its lease)
        if thread.name == f"chat-turn-{details['turn_id']}":
            thread.join()
    queue.drain()
    turn = invoke(
        "GetTurnFunction",
        key=admin["key"],
        path={"conversation_id": details["conversation_id"], "turn_id": details["turn_id"]},
    ).body
    assert turn["status"] == "completed"
    assert stored(invoke, admin["key"], details["conversation_id"]) == [
        ("user", "slow please"),
        ("assistant", "done"),
    ]


# -- the resolver's cross-cutting behaviour --------------------------------------------------------
def test_an_idempotency_key_replays_the_completion_without_a_second_turn(invoke, key, queue):
    headers = {"idempotency-key": "chat-1"}

    first = complete(invoke, key, [user("only once")], headers=headers)
    again = complete(invoke, key, [user("only once")], headers=headers)

    assert first.status == again.status == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.body == first.body
    queue.drain()
    assert len(stored(invoke, key, first.body["parley"]["conversation_id"])) == 2
