"""Agent tools through the handlers and the real worker, against moto: definitions on agents and
messages, client-side tools (requires_action -> tool outputs -> resumed), server-side tools, the
loop's bounds, and what history and regenerate see of a tool chain."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.events import LambdaContext, scheduled_event
from tests.conftest import load_handler
from tests.integration.turns_support import TurnQueue

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
# The scripted model calls get_weather for messages about the weather, with the arguments given.
SCRIPT = [
    {
        "match": "(?i)weather in paris",
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
    },
    {
        "match": "(?i)both cities",
        "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_weather", "arguments": {"city": "Rome"}},
        ],
    },
    {"match": "(?i)^wrong name", "tool_calls": [{"name": "no_such_tool", "arguments": {}}]},
    {"match": "(?i)^wrong arguments", "tool_calls": [{"name": "get_weather", "arguments": {"town": 3}}]},
]


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


def make_agent(invoke, key: str, **agent: Any) -> dict[str, Any]:
    provider = invoke(
        "CreateProviderFunction",
        key=key,
        body={"name": "p", "kind": "scripted", "default_model": "scripted-1", "options": {"script": SCRIPT}},
    )
    assert provider.status == 201, provider.body
    created = invoke(
        "CreateAgentFunction",
        key=key,
        body={"name": "Tools", "provider_id": provider.body["id"], "is_default": True, **agent},
    )
    assert created.status == 201, created.body
    return created.body


@pytest.fixture
def conversation(invoke, admin) -> tuple[str, dict[str, Any]]:
    make_agent(invoke, admin["key"], tools=[WEATHER])
    created = invoke("CreateConversationFunction", key=admin["key"], body={"title": "Tools"})
    assert created.status == 201
    return admin["key"], created.body


def send(invoke, key, conversation_id, content, **extra):
    return invoke(
        "SendMessageFunction",
        key=key,
        path={"conversation_id": conversation_id},
        body={"content": content, **extra},
    )


def turn_of(invoke, key, conversation_id, turn_id):
    reply = invoke("GetTurnFunction", key=key, path={"conversation_id": conversation_id, "turn_id": turn_id})
    assert reply.status == 200, reply.body
    return reply.body


def submit(invoke, key, conversation_id, turn_id, outputs, **extra):
    return invoke(
        "SubmitToolOutputsFunction",
        key=key,
        path={"conversation_id": conversation_id, "turn_id": turn_id},
        body={"tool_outputs": outputs},
        **extra,
    )


def messages_of(invoke, key, conversation_id):
    reply = invoke(
        "ListMessagesFunction", key=key, path={"conversation_id": conversation_id}, query="limit=100"
    )
    assert reply.status == 200, reply.body
    return reply.body["data"]


def paused_turn(invoke, key, conversation_id, queue, content="What is the weather in Paris?"):
    turn = send(invoke, key, conversation_id, content).body["turn"]
    queue.drain()
    paused = turn_of(invoke, key, conversation_id, turn["id"])
    assert paused["status"] == "requires_action", paused
    return paused


# -- client-side tools ---------------------------------------------------------------------------
def test_a_client_tool_call_pauses_the_turn_with_the_calls_to_answer(invoke, conversation, queue):
    key, conv = conversation

    paused = paused_turn(invoke, key, conv["id"], queue)

    action = paused["required_action"]
    assert action["type"] == "submit_tool_outputs"
    (call,) = action["submit_tool_outputs"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert paused["expires_at"] > paused["created_at"]
    assert paused["reply_message_id"] is None


def test_tool_outputs_resume_the_turn_and_the_model_answers_with_them(invoke, conversation, queue):
    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)
    (call,) = paused["required_action"]["submit_tool_outputs"]["tool_calls"]

    resumed = submit(
        invoke, key, conv["id"], paused["id"], [{"tool_call_id": call["id"], "output": "21 C, sunny"}]
    )
    assert resumed.status == 200, resumed.body
    assert resumed.body["status"] == "queued"
    assert resumed.body["required_action"] is None
    queue.drain()

    done = turn_of(invoke, key, conv["id"], paused["id"])
    assert done["status"] == "completed", done
    assert [s["type"] for s in done["steps"]] == ["context", "model", "context", "model"]
    roles = [(m["role"], m["message_type"]) for m in messages_of(invoke, key, conv["id"])]
    assert roles == [
        ("user", "text"),
        ("assistant", "tool_calls"),
        ("tool", "tool_result"),
        ("assistant", "text"),
    ]
    user, caller, result, reply = messages_of(invoke, key, conv["id"])
    assert caller["tool_calls"][0]["id"] == call["id"] and caller["parent_message_id"] == user["id"]
    assert result["tool_call_id"] == call["id"] and result["parent_message_id"] == caller["id"]
    assert reply["id"] == done["reply_message_id"] and reply["parent_message_id"] == result["id"]
    assert reply["content"] == "Tool results: get_weather: 21 C, sunny"
    assert done["usage"]["total_tokens"] > 0


def test_a_tool_output_too_large_for_an_item_is_stored_whole_in_s3(invoke, conversation, queue, aws):
    import boto3

    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)
    (call,) = paused["required_action"]["submit_tool_outputs"]["tool_calls"]
    output = "sunny " * 10_000  # 60 KB: past the 32 KB a message keeps inline

    resumed = submit(invoke, key, conv["id"], paused["id"], [{"tool_call_id": call["id"], "output": output}])
    assert resumed.status == 200, resumed.body
    queue.drain()

    assert turn_of(invoke, key, conv["id"], paused["id"])["status"] == "completed"
    result = next(m for m in messages_of(invoke, key, conv["id"]) if m["role"] == "tool")
    assert result["content"] == output
    stored = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=aws.ref("FilesBucket"))
    assert stored.get("KeyCount", 0) >= 1


def test_two_calls_in_one_response_are_answered_together(invoke, conversation, queue):
    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue, "Compare both cities")
    calls = paused["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"])["city"] for c in calls] == ["Paris", "Rome"]

    outputs = [
        {"tool_call_id": c["id"], "output": city} for c, city in zip(calls, ["warm", "hot"], strict=True)
    ]
    assert submit(invoke, key, conv["id"], paused["id"], outputs).status == 200
    queue.drain()

    done = turn_of(invoke, key, conv["id"], paused["id"])
    reply = invoke(
        "GetMessageFunction",
        key=key,
        path={"conversation_id": conv["id"], "message_id": done["reply_message_id"]},
    ).body
    assert reply["content"] == "Tool results: get_weather: warm; get_weather: hot"


@pytest.mark.parametrize(
    ("outputs", "says"),
    [
        ([], "tool_outputs"),
        ([{"tool_call_id": "call_other", "output": "x"}], "not pending"),
        ("twice", "more than once"),
    ],
)
def test_tool_outputs_must_answer_each_pending_call_exactly_once(invoke, conversation, queue, outputs, says):
    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)
    (call,) = paused["required_action"]["submit_tool_outputs"]["tool_calls"]
    if outputs == "twice":
        outputs = [{"tool_call_id": call["id"], "output": "a"}, {"tool_call_id": call["id"], "output": "b"}]

    refused = submit(invoke, key, conv["id"], paused["id"], outputs)

    assert refused.status in (400, 422), refused.body
    assert says in json.dumps(refused.body)
    assert turn_of(invoke, key, conv["id"], paused["id"])["status"] == "requires_action"


def test_tool_outputs_for_a_turn_that_is_not_waiting_are_refused_with_409(invoke, conversation, queue):
    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)
    (call,) = paused["required_action"]["submit_tool_outputs"]["tool_calls"]
    outputs = [{"tool_call_id": call["id"], "output": "21 C"}]
    assert submit(invoke, key, conv["id"], paused["id"], outputs).status == 200

    again = submit(invoke, key, conv["id"], paused["id"], outputs)

    assert again.status == 409
    assert again.body["error"]["details"] == [{"status": "queued"}]


def test_an_idempotency_key_replays_the_first_submission(invoke, conversation, queue):
    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)
    (call,) = paused["required_action"]["submit_tool_outputs"]["tool_calls"]
    outputs = [{"tool_call_id": call["id"], "output": "21 C"}]
    headers = {"idempotency-key": "submit-1"}

    first = submit(invoke, key, conv["id"], paused["id"], outputs, headers=headers)
    replay = submit(invoke, key, conv["id"], paused["id"], outputs, headers=headers)

    assert first.status == replay.status == 200
    assert replay.body == first.body
    queue.drain()
    assert [m["role"] for m in messages_of(invoke, key, conv["id"])] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]


def test_a_conversation_waiting_for_tool_outputs_takes_no_new_message(invoke, conversation, queue):
    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)

    refused = send(invoke, key, conv["id"], "Are you there?")

    assert refused.status == 409
    assert paused["id"] in refused.body["error"]["message"]


def test_cancelling_a_turn_in_requires_action_frees_the_conversation(invoke, conversation, queue):
    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)

    cancelled = invoke(
        "CancelTurnFunction", key=key, path={"conversation_id": conv["id"], "turn_id": paused["id"]}
    )

    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled"
    assert cancelled.body["required_action"] is None
    assert send(invoke, key, conv["id"], "Never mind").status == 202
    queue.drain()
    state = invoke("GetConversationFunction", key=key, path={"conversation_id": conv["id"]}).body
    assert state["open_turns"] == 0 if "open_turns" in state else True


def test_the_sweeper_expires_a_turn_whose_tool_outputs_never_came(invoke, conversation, queue):
    from parley.store import turns as turn_store

    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)
    turn_store.update(
        paused["workspace_id"],
        conv["id"],
        paused["id"],
        set_fields=turn_store.open_key(paused["id"], "2000-01-01"),
    )

    sweep = load_handler("SweepTurnsFunction")(
        scheduled_event("arn:aws:events:rule/sweep"), LambdaContext("S", 60)
    )

    assert sweep["expired"] == 1
    expired = turn_of(invoke, key, conv["id"], paused["id"])
    assert expired["status"] == "expired"
    assert expired["error"]["type"] == "expired"
    assert send(invoke, key, conv["id"], "Still there?").status == 202


def test_a_redelivered_record_of_a_paused_turn_changes_nothing(invoke, conversation, queue):
    key, conv = conversation
    send(invoke, key, conv["id"], "What is the weather in Paris?")
    records = queue.receive()

    queue.deliver(records)
    queue.deliver(records)

    assert [m["role"] for m in messages_of(invoke, key, conv["id"])] == ["user", "assistant"]


def test_a_pause_is_one_notification_written_with_it(invoke, conversation, queue):
    key, conv = conversation
    send(invoke, key, conv["id"], "What is the weather in Paris?")
    records = queue.receive()

    queue.deliver(records)
    queue.deliver(records)  # at-least-once: the pause is not written, nor told, twice

    listed = invoke("ListNotificationsFunction", key=key)
    assert listed.status == 200, listed.body
    [notification] = listed.body["data"]
    assert notification["type"] == "turn.requires_action"
    [call] = notification["data"]["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"


# -- what the model got wrong, and the loop's bounds -----------------------------------------------
def test_an_unknown_tool_is_answered_with_a_tool_error_and_the_turn_goes_on(invoke, conversation, queue):
    key, conv = conversation
    turn = send(invoke, key, conv["id"], "wrong name").body["turn"]
    queue.drain()

    done = turn_of(invoke, key, conv["id"], turn["id"])

    assert done["status"] == "completed"
    (tool_step,) = [s for s in done["steps"] if s["type"] == "tool"]
    assert tool_step["detail"]["is_error"] is True
    assert "no tool named 'no_such_tool'" in tool_step["detail"]["output"]
    result = next(m for m in messages_of(invoke, key, conv["id"]) if m["role"] == "tool")
    assert result["meta_data"]["is_error"] is True


def test_arguments_off_the_schema_are_told_to_the_model_not_run(invoke, conversation, queue):
    key, conv = conversation
    turn = send(invoke, key, conv["id"], "wrong arguments").body["turn"]
    queue.drain()

    done = turn_of(invoke, key, conv["id"], turn["id"])

    assert done["status"] == "completed"
    (tool_step,) = [s for s in done["steps"] if s["type"] == "tool"]
    assert "do not match its schema" in tool_step["detail"]["output"]
    assert "'city' is a required property" in tool_step["detail"]["output"]


def test_a_turn_past_its_model_call_budget_fails_and_says_so(invoke, admin, queue):
    key = admin["key"]
    make_agent(invoke, key, tools=[WEATHER], max_model_calls=1)
    conv = invoke("CreateConversationFunction", key=key, body={}).body
    turn = send(invoke, key, conv["id"], "wrong name").body["turn"]
    queue.drain()

    failed = turn_of(invoke, key, conv["id"], turn["id"])

    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "tool_loop_limit"
    assert "max_model_calls" in failed["error"]["message"]


# -- per-message tools and history ------------------------------------------------------------------
def test_a_message_can_bring_its_own_tools(invoke, admin, queue):
    key = admin["key"]
    make_agent(invoke, key)
    conv = invoke("CreateConversationFunction", key=key, body={}).body

    turn = send(
        invoke, key, conv["id"], "What is the weather in Paris?", tools=[WEATHER], tool_choice="required"
    )
    assert turn.status == 202, turn.body
    queue.drain()

    paused = turn_of(invoke, key, conv["id"], turn.body["turn"]["id"])
    assert paused["status"] == "requires_action"


def test_the_next_turn_and_a_regenerated_reply_see_the_tool_chain(invoke, conversation, queue):
    key, conv = conversation
    paused = paused_turn(invoke, key, conv["id"], queue)
    (call,) = paused["required_action"]["submit_tool_outputs"]["tool_calls"]
    submit(invoke, key, conv["id"], paused["id"], [{"tool_call_id": call["id"], "output": "21 C"}])
    queue.drain()
    reply_id = turn_of(invoke, key, conv["id"], paused["id"])["reply_message_id"]

    follow_up = send(invoke, key, conv["id"], "Thanks").body["turn"]
    queue.drain()
    assert turn_of(invoke, key, conv["id"], follow_up["id"])["steps"][0]["detail"]["messages"] == 5

    regenerated = invoke(
        "RegenerateMessageFunction", key=key, path={"conversation_id": conv["id"], "message_id": reply_id}
    )
    assert regenerated.status == 202, regenerated.body
    assert regenerated.body["message"]["role"] == "user"


# -- definitions on write ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tools", "says"),
    [
        ([{"type": "function", "function": {"name": "bad name!"}}], "tools"),
        ([WEATHER, WEATHER], "unique"),
        ([{"type": "function", "function": {"name": "t", "parameters": {"type": "wrong"}}}], "JSON Schema"),
        ([{"type": "function", "function": {"name": "t", "parameters": {"type": "string"}}}], "object"),
        ([{"type": "function", "function": {"name": "finish_job"}}], "built-in"),
        ([{"type": "function", "function": {"name": f"t{n}"}} for n in range(129)], "128"),
        (
            [
                {
                    "type": "function",
                    "function": {"name": "t"},
                    "execution": {"type": "http", "url": "http://169.254.169.254/"},
                }
            ],
            "169.254",
        ),
        (
            [
                {
                    "type": "function",
                    "function": {"name": "t"},
                    "execution": {"type": "http", "url": "file:///etc/passwd"},
                }
            ],
            "url",
        ),
        (
            [
                {
                    "type": "function",
                    "function": {"name": "t"},
                    "execution": {"type": "http", "url": "https://tools.example/x", "headers": {"Host": "x"}},
                }
            ],
            "Host",
        ),
    ],
)
def test_a_bad_tool_definition_is_refused_with_422_naming_the_field(invoke, admin, tools, says):
    provider = invoke("CreateProviderFunction", key=admin["key"], body={"name": "p", "kind": "scripted"}).body
    refused = invoke(
        "CreateAgentFunction",
        key=admin["key"],
        body={"name": "a", "provider_id": provider["id"], "tools": tools},
    )
    assert refused.status == 422, refused.body
    assert says in json.dumps(refused.body)


def test_a_messages_tools_may_not_carry_headers(invoke, conversation):
    key, conv = conversation
    tool = {
        "type": "function",
        "function": {"name": "t"},
        "execution": {
            "type": "http",
            "url": "https://tools.example/x",
            "headers": {"Authorization": "Bearer s"},
        },
    }
    refused = send(invoke, key, conv["id"], "hi", tools=[tool])
    assert refused.status == 422
    assert "Bearer s" not in json.dumps(refused.body)


def test_tool_header_values_are_stored_as_secrets_and_never_shown(invoke, admin):
    key = admin["key"]
    tool = {
        "type": "function",
        "function": {"name": "lookup"},
        "execution": {
            "type": "http",
            "url": "https://tools.example/lookup",
            "headers": {"Authorization": "Bearer s3cr3t"},
        },
    }
    agent = make_agent(invoke, key, tools=[tool])
    assert agent["tools"][0]["execution"]["headers"] == {"Authorization": "REDACTED"}
    fetched = invoke("GetAgentFunction", key=key, path={"agent_id": agent["id"]})
    assert "s3cr3t" not in json.dumps(fetched.body)

    # Sent back as shown, the stored value is kept.
    kept = invoke(
        "UpdateAgentFunction", key=key, path={"agent_id": agent["id"]}, body={"tools": fetched.body["tools"]}
    )
    assert kept.status == 200, kept.body
    from parley.services import agent_tools

    assert agent_tools.headers_of_agent(admin["workspace"]["id"], agent["id"]) == {
        "tool:lookup": {"Authorization": "Bearer s3cr3t"}
    }


def test_a_named_tool_choice_must_name_one_of_the_tools(invoke, admin):
    provider = invoke("CreateProviderFunction", key=admin["key"], body={"name": "p", "kind": "scripted"}).body
    refused = invoke(
        "CreateAgentFunction",
        key=admin["key"],
        body={
            "name": "a",
            "provider_id": provider["id"],
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "function": {"name": "other"}},
        },
    )
    assert refused.status == 422
    assert "tool_choice" in json.dumps(refused.body)


# -- a server-side tool and redelivery -------------------------------------------------------------
@pytest.fixture
def forecast_server(tool_server):
    """A loopback HTTP tool that forecasts clear skies."""
    tool_server.expect_request("/forecast", method="POST").respond_with_json({"sky": "clear"})
    return tool_server


def forecast_conversation(invoke, admin, server) -> tuple[str, dict[str, Any]]:
    forecast = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": WEATHER["function"]["parameters"]},
        "execution": {"type": "http", "url": server.url_for("/forecast")},
    }
    make_agent(invoke, admin["key"], tools=[forecast])
    created = invoke("CreateConversationFunction", key=admin["key"], body={"title": "Forecast"})
    return admin["key"], created.body


def crash_once(monkeypatch, *, after_writing: bool) -> None:
    """The worker dies once at the end of a tool round: before its write, or right after it."""
    from parley.agent import tool_loop

    real = tool_loop.persist_round
    crashed: list[bool] = []

    def persist_round(*args: Any, **kwargs: Any) -> None:
        if after_writing:
            real(*args, **kwargs)
        if not crashed:
            crashed.append(True)
            raise RuntimeError("the worker died")
        if not after_writing:
            real(*args, **kwargs)

    monkeypatch.setattr(tool_loop, "persist_round", persist_round)


def test_a_redelivery_after_the_round_was_written_does_not_call_the_tool_again(
    invoke, admin, queue, forecast_server, monkeypatch
):
    key, conv = forecast_conversation(invoke, admin, forecast_server)
    crash_once(monkeypatch, after_writing=True)

    turn = send(invoke, key, conv["id"], "What is the weather in Paris?").body["turn"]
    queue.drain()

    done = turn_of(invoke, key, conv["id"], turn["id"])
    assert done["status"] == "completed", done
    assert len(forecast_server.log) == 1
    roles = [m["role"] for m in messages_of(invoke, key, conv["id"])]
    assert roles == ["user", "assistant", "tool", "assistant"]


def test_a_redelivery_before_the_round_was_written_calls_again_with_the_same_webhook_id(
    invoke, admin, queue, forecast_server, monkeypatch
):
    key, conv = forecast_conversation(invoke, admin, forecast_server)
    crash_once(monkeypatch, after_writing=False)

    turn = send(invoke, key, conv["id"], "What is the weather in Paris?").body["turn"]
    queue.drain()

    done = turn_of(invoke, key, conv["id"], turn["id"])
    assert done["status"] == "completed", done
    first, second = (request.headers["webhook-id"] for request, _ in forecast_server.log)
    assert first == second  # the tool's server can drop the repeat
    roles = [m["role"] for m in messages_of(invoke, key, conv["id"])]
    assert roles == ["user", "assistant", "tool", "assistant"]
