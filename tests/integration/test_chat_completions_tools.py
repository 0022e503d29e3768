"""POST /v1/chat/completions with the caller's tools, through the handler against moto: the model's calls
end a completion with finish_reason "tool_calls", and the next request's tool messages resume the
waiting turn, run inline again (scripted provider: after tool results it answers "Tool results: ...")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.store import turns as turn_store
from tests.integration.test_chat_completions import FUNCTION, error_of, stored, turn_of, user
from tests.integration.test_turns import make_agent, messages_of
from tests.integration.turns_support import TurnQueue

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
# The scripted model says it looks, and calls get_weather, for messages about the weather.
SCRIPT = [
    {
        "match": "(?i)weather in paris",
        "reply": "Let me look that up.",
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
    },
    {
        "match": "(?i)both cities",
        "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_weather", "arguments": {"city": "Rome"}},
        ],
    },
]
ASKED = "What is the weather in Paris?"


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


@pytest.fixture
def key(invoke, admin) -> str:
    """An admin key whose default agent, "Helper", is scripted to call get_weather."""
    make_agent(invoke, admin["key"], options={"script": SCRIPT})
    return str(admin["key"])


def complete(invoke, key: str, messages: list[dict[str, Any]], headers=None, **extra):
    body = {"model": "Helper", "messages": messages, **extra}
    return invoke(FUNCTION, key=key, body=body, headers=headers)


def asked_for_tools(invoke, key: str, content: str = ASKED):
    """A first completion that ends with the model's tool calls."""
    reply = complete(invoke, key, [user(content)], tools=[WEATHER])
    assert reply.status == 200, reply.body
    assert reply.body["choices"][0]["finish_reason"] == "tool_calls", reply.body
    return reply


def answering(first, outputs: list[str], content: str = ASKED) -> list[dict[str, Any]]:
    """The history a client sends back: its question, the message that asked, a tool message per call."""
    message = first.body["choices"][0]["message"]
    tools = [
        {"role": "tool", "tool_call_id": call["id"], "content": output}
        for call, output in zip(message["tool_calls"], outputs, strict=True)
    ]
    return [user(content), message, *tools]


def continuing(first) -> dict[str, str]:
    return {"x-conversation-id": first.headers["x-conversation-id"]}


def stored_ids(invoke, key: str, conversation_id: str) -> list[str]:
    return [m["id"] for m in messages_of(invoke, key, conversation_id)]


# -- the model calls a tool ------------------------------------------------------------------------
def test_a_completion_with_tools_ends_with_the_models_tool_calls(invoke, key):
    reply = complete(invoke, key, [user(ASKED)], tools=[WEATHER])

    assert reply.status == 200, reply.body
    (choice,) = reply.body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["role"] == "assistant" and message["content"] == "Let me look that up."
    (call,) = message["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    usage = reply.body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    extras = reply.body["parley"]
    assert extras["status"] == "requires_action"
    assert reply.body["id"] == f"chatcmpl-{extras['turn_id']}-1"
    assert reply.headers["x-conversation-id"] == extras["conversation_id"]
    turn = turn_of(invoke, key, reply)
    assert turn["status"] == "requires_action"
    assert turn["required_action"]["submit_tool_outputs"]["tool_calls"] == [call]
    assert extras["message_id"] == stored_ids(invoke, key, extras["conversation_id"])[1]


def test_tool_messages_resume_the_turn_and_the_completion_is_its_reply(invoke, key, queue):
    first = asked_for_tools(invoke, key)

    second = complete(
        invoke, key, answering(first, ["21 C, sunny"]), headers=continuing(first), tools=[WEATHER]
    )

    assert second.status == 200, second.body
    (choice,) = second.body["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Tool results: get_weather: 21 C, sunny",
        "tool_calls": None,
    }
    extras = second.body["parley"]
    assert extras["turn_id"] == first.body["parley"]["turn_id"] and extras["status"] == "completed"
    assert second.body["id"] == "chatcmpl-" + extras["turn_id"]
    conversation_id = first.headers["x-conversation-id"]
    assert second.headers["x-conversation-id"] == conversation_id
    expected = [
        ("user", ASKED),
        ("assistant", "Let me look that up."),
        ("tool", "21 C, sunny"),
        ("assistant", "Tool results: get_weather: 21 C, sunny"),
    ]
    assert stored(invoke, key, conversation_id) == expected
    queue.drain()  # the queue records of both runs: neither writes a second reply
    assert stored(invoke, key, conversation_id) == expected


def test_each_completion_of_a_tool_round_trip_counts_only_its_own_tokens(invoke, key):
    first = asked_for_tools(invoke, key)

    second = complete(invoke, key, answering(first, ["21 C"]), headers=continuing(first))

    assert second.status == 200, second.body
    turn = turn_of(invoke, key, second)
    usage = [first.body["usage"], second.body["usage"]]
    assert all(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] > 0 for u in usage)
    assert sum(u["total_tokens"] for u in usage) == turn["usage"]["total_tokens"]


def test_two_calls_are_answered_by_two_tool_messages(invoke, key):
    first = asked_for_tools(invoke, key, "Compare both cities")
    calls = first.body["choices"][0]["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"])["city"] for c in calls] == ["Paris", "Rome"]

    second = complete(
        invoke, key, answering(first, ["warm", "hot"], "Compare both cities"), headers=continuing(first)
    )

    assert second.status == 200, second.body
    assert (
        second.body["choices"][0]["message"]["content"] == "Tool results: get_weather: warm; get_weather: hot"
    )


def test_a_resumed_turn_the_queues_worker_ran_first_is_awaited(invoke, key, queue, monkeypatch):
    from parley.services import queues

    first = asked_for_tools(invoke, key)
    queue.drain()  # the first turn's own record, taken already
    real_enqueue = queues.enqueue_turn

    def enqueue_and_deliver(*args: Any, **kwargs: Any) -> None:
        real_enqueue(*args, **kwargs)
        queue.drain()  # the worker resumes the turn before the inline run starts

    monkeypatch.setattr(queues, "enqueue_turn", enqueue_and_deliver)

    second = complete(invoke, key, answering(first, ["21 C"]), headers=continuing(first))

    assert second.status == 200, second.body
    assert second.body["choices"][0]["message"]["content"] == "Tool results: get_weather: 21 C"
    assert len(stored(invoke, key, first.headers["x-conversation-id"])) == 4


# -- tool messages that answer nothing -------------------------------------------------------------
@pytest.mark.parametrize(
    ("outputs", "param", "says"),
    [
        ([("call_other", "21 C")], "messages.2.tool_call_id", "not among them: call_other"),
        ([(None, "21 C")], "messages.2.tool_call_id", "(no tool_call_id)"),
        ([("{id}", "a"), ("{id}", "b")], "messages.2.tool_call_id", "more than once"),
    ],
)
def test_tool_messages_that_do_not_answer_the_waiting_calls_are_a_400(invoke, key, outputs, param, says):
    first = asked_for_tools(invoke, key)
    (call,) = first.body["choices"][0]["message"]["tool_calls"]
    tools = [
        {
            "role": "tool",
            "content": output,
            **({"tool_call_id": call_id.format(id=call["id"])} if call_id else {}),
        }
        for call_id, output in outputs
    ]

    refused = complete(
        invoke, key, [user(ASKED), first.body["choices"][0]["message"], *tools], headers=continuing(first)
    )

    assert refused.status == 400, refused.body
    error = error_of(refused)
    assert error["code"] == "tool_call_mismatch" and error["param"] == param
    assert says in error["message"] and call["id"] in error["message"]
    assert turn_of(invoke, key, first)["status"] == "requires_action"


def test_tool_messages_that_leave_a_call_unanswered_are_a_400(invoke, key):
    first = asked_for_tools(invoke, key, "Compare both cities")
    message = first.body["choices"][0]["message"]
    paris, rome = message["tool_calls"]

    refused = complete(
        invoke,
        key,
        [
            user("Compare both cities"),
            message,
            {"role": "tool", "tool_call_id": paris["id"], "content": "warm"},
        ],
        headers=continuing(first),
    )

    assert refused.status == 400, refused.body
    error = error_of(refused)
    assert error["code"] == "tool_call_mismatch" and error["param"] == "messages"
    assert f"not answered: {rome['id']}" in error["message"]


def test_tool_messages_without_the_conversation_id_are_a_400_asking_for_it(invoke, key):
    first = asked_for_tools(invoke, key)

    refused = complete(invoke, key, answering(first, ["21 C"]))

    assert refused.status == 400, refused.body
    error = error_of(refused)
    assert error["param"] == "x-conversation-id" and error["code"] == "conversation_id_required"
    assert turn_of(invoke, key, first)["status"] == "requires_action"


def test_tool_messages_once_the_calls_were_answered_are_a_400(invoke, key):
    first = asked_for_tools(invoke, key)
    history = answering(first, ["21 C"])
    assert complete(invoke, key, history, headers=continuing(first)).status == 200

    again = complete(invoke, key, history, headers=continuing(first))

    assert again.status == 400, again.body
    error = error_of(again)
    assert error["code"] == "no_pending_tool_calls" and error["param"] == "messages.2"


def test_a_user_message_while_tool_calls_wait_is_refused_naming_the_turn(invoke, key):
    first = asked_for_tools(invoke, key)
    history = [user(ASKED), first.body["choices"][0]["message"], user("Never mind")]

    refused = complete(invoke, key, history, headers=continuing(first))

    assert refused.status == 409, refused.body
    error = error_of(refused)
    assert error["code"] == "tool_outputs_required" and error["param"] == "messages"
    assert first.body["parley"]["turn_id"] in error["message"]


# -- tool_choice and the definitions ---------------------------------------------------------------
def test_tool_choice_none_gets_a_reply_without_tool_calls(invoke, key):
    reply = complete(invoke, key, [user(ASKED)], tools=[WEATHER], tool_choice="none")

    assert reply.status == 200, reply.body
    (choice,) = reply.body["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": "Let me look that up.", "tool_calls": None}
    record = record_of(invoke, key, reply)
    assert record["status"] == "completed"
    assert record["tool_choice"] == "none" and "tools" not in record


def record_of(invoke, key: str, reply) -> dict[str, Any]:
    """The stored turn (with what the API does not show: its tools and tool_choice)."""
    turn = turn_of(invoke, key, reply)
    record = turn_store.get(turn["workspace_id"], turn["conversation_id"], turn["id"])
    assert record is not None
    return record


def test_a_named_tool_choice_and_parallel_tool_calls_are_accepted(invoke, key):
    reply = complete(
        invoke,
        key,
        [user(ASKED)],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
    )

    assert reply.status == 200, reply.body
    assert reply.body["choices"][0]["finish_reason"] == "tool_calls"
    record = record_of(invoke, key, reply)
    assert record["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert [tool["function"]["name"] for tool in record["tools"]] == ["get_weather"]


def test_a_tool_choice_naming_no_tool_is_a_400(invoke, key, queue):
    reply = complete(
        invoke,
        key,
        [user(ASKED)],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )

    assert reply.status == 400, reply.body
    error = error_of(reply)
    assert error["param"] == "tool_choice" and "get_time" in error["message"]
    assert queue.drain() == 0


def test_a_tool_parley_would_run_itself_is_refused_naming_tools(invoke, key, queue):
    tool = {**WEATHER, "execution": {"type": "http", "url": "https://tools.example/weather"}}

    reply = complete(invoke, key, [user(ASKED)], tools=[tool])

    assert reply.status == 400, reply.body
    error = error_of(reply)
    assert error["param"] == "tools" and error["code"] == "unsupported_parameter"
    assert queue.drain() == 0


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([{"type": "function", "function": {"name": "bad name!"}}], "tools.0.function.name"),
        (
            [{"type": "function", "function": {"name": "t", "parameters": {"type": "string"}}}],
            "tools.0.function.parameters",
        ),
        ([WEATHER, WEATHER], "tools"),
    ],
)
def test_a_bad_tool_definition_is_422_naming_the_field(invoke, key, queue, tools, param):
    reply = complete(invoke, key, [user(ASKED)], tools=tools)

    assert reply.status == 422, reply.body
    assert error_of(reply)["param"] == param
    assert queue.drain() == 0


def test_legacy_functions_are_refused_pointing_at_tools(invoke, key):
    reply = complete(invoke, key, [user(ASKED)], functions=[WEATHER["function"]])

    assert reply.status == 400, reply.body
    error = error_of(reply)
    assert error["param"] == "functions" and "tools" in error["message"]
