"""The real ``openai`` SDK pointed at the devstack: completions answered by a Parley agent, a conversation
continued through ``x-conversation-id``, a tool round trip (the model's call, the caller's result, the
answer), models listed, and errors raised as the SDK's own exceptions."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.e2e.devstack_process import ApiClient, RunningDevstack

pytestmark = pytest.mark.e2e

AGENT_NAME = "E2E Chat Parrot"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def agent(api: ApiClient, key: str) -> dict[str, Any]:
    """A scripted agent with its own name (other modules on this devstack change the default agent)."""
    script = [
        {"match": "^ping$", "reply": "pong"},
        {
            "match": "(?i)weather in paris",
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
        },
    ]
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={"name": "chat parrot", "kind": "scripted", "options": {"script": script}},
    )
    assert status == 201, provider
    status, _, created = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": AGENT_NAME, "provider_id": provider["id"], "is_default": False},
    )
    assert status == 201, created
    return dict(created)


@pytest.fixture(scope="module")
def client(devstack: RunningDevstack, key: str) -> openai.OpenAI:
    # No retries: a retried completion would be a second message (Parley also says x-should-retry: false).
    return openai.OpenAI(base_url=f"{devstack.url}/v1", api_key=key, max_retries=0, timeout=30)


def test_the_sdk_gets_a_completion_from_an_agent_named_as_the_model(client, agent):
    completion = client.chat.completions.create(
        model=AGENT_NAME.lower(),
        messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "ping"}],
        temperature=0.1,
    )

    assert completion.object == "chat.completion"
    assert completion.model == AGENT_NAME.lower()
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "pong"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    extras = completion.model_extra or {}
    assert extras["parley"]["agent_id"] == agent["id"]
    assert completion.id == "chatcmpl-" + extras["parley"]["turn_id"]


def test_x_conversation_id_continues_the_conversation_the_response_named(client, agent, api, key):
    first = client.chat.completions.with_raw_response.create(
        model=agent["id"], messages=[{"role": "user", "content": "first"}]
    )
    conversation_id = first.headers["x-conversation-id"]
    answer = first.parse().choices[0].message.content
    assert answer == "You said: first"

    second = client.chat.completions.create(
        model=agent["id"],
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "second"},
        ],
        extra_headers={"x-conversation-id": conversation_id, "x-user-id": "e2e_chat_user"},
    )

    assert second.choices[0].message.content == "You said: second"
    status, _, listed = api.get(f"/v1/conversations/{conversation_id}/messages?limit=100", headers=auth(key))
    assert status == 200, listed
    assert [(m["role"], m["content"]) for m in listed["data"]] == [
        ("user", "first"),
        ("assistant", "You said: first"),
        ("user", "second"),
        ("assistant", "You said: second"),
    ]
    assert listed["data"][2]["sender_id"] == "e2e_chat_user"


def test_a_tool_round_trip_calls_the_callers_tool_and_answers_with_its_result(client, agent):
    question = {"role": "user", "content": "What is the weather in Paris?"}
    raw = client.chat.completions.with_raw_response.create(
        model=agent["id"], messages=[question], tools=[WEATHER]
    )
    asked = raw.parse()
    (choice,) = asked.choices
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    answered = client.chat.completions.create(
        model=agent["id"],
        messages=[
            question,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "21 C, sunny"},
        ],
        tools=[WEATHER],
        extra_headers={"x-conversation-id": raw.headers["x-conversation-id"]},
    )

    assert answered.choices[0].finish_reason == "stop"
    assert answered.choices[0].message.content == "Tool results: get_weather: 21 C, sunny"
    assert answered.choices[0].message.tool_calls is None
    assert (answered.model_extra or {})["parley"]["turn_id"] == (asked.model_extra or {})["parley"]["turn_id"]


def test_tool_messages_that_answer_nothing_raise_the_sdks_bad_request_error(client, agent):
    asked = client.chat.completions.with_raw_response.create(
        model=agent["id"], messages=[{"role": "user", "content": "weather in Paris?"}], tools=[WEATHER]
    )
    message = asked.parse().choices[0].message

    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=agent["id"],
            messages=[
                {"role": "user", "content": "weather in Paris?"},
                message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": "call_made_up", "content": "21 C"},
            ],
            extra_headers={"x-conversation-id": asked.headers["x-conversation-id"]},
        )

    assert raised.value.code == "tool_call_mismatch"
    assert raised.value.param == "messages.2.tool_call_id"


def test_models_lists_the_agents(client, agent):
    models = {model.id: model for model in client.models.list()}

    assert agent["id"] in models
    assert models[agent["id"]].owned_by == "parley"
    assert (models[agent["id"]].model_extra or {})["name"] == AGENT_NAME


def test_an_unknown_model_raises_the_sdks_not_found_error(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-nonexistent", messages=[{"role": "user", "content": "hi"}])

    assert raised.value.status_code == 404
    assert raised.value.code == "model_not_found"
    assert raised.value.param == "model"
    assert "gpt-nonexistent" in str(raised.value.message)


def test_stream_options_without_streaming_raise_the_sdks_bad_request_error(client, agent):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=agent["id"],
            messages=[{"role": "user", "content": "hi"}],
            stream_options={"include_usage": True},
        )

    assert raised.value.param == "stream_options"
