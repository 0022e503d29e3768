"""The Bedrock provider against botocore's Stubber (moto does not implement Converse)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from parley.providers import bedrock
from parley.providers.base import ChatMessage, ChatRequest, ProviderError, ToolCall, ToolSpec
from parley.providers.bedrock import BedrockProvider

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


@pytest.fixture
def runtime() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def reply(*content: dict[str, Any], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(content)}},
        "stopReason": stop,
        "usage": {"inputTokens": 21, "outputTokens": 4, "totalTokens": 25},
        "metrics": {"latencyMs": 310},
    }


WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
WEATHER = ToolSpec("weather", "Weather now", WEATHER_SCHEMA)
WEATHER_WIRE = {
    "toolSpec": {"name": "weather", "description": "Weather now", "inputSchema": {"json": WEATHER_SCHEMA}}
}
PARIS = ToolCall("tu_1", "weather", {"city": "Paris"})


def after_one_call(result: ChatMessage) -> list[ChatMessage]:
    """A history in which the model called weather once and got ``result``."""
    return [
        ChatMessage("user", "Weather in Paris and Oslo?"),
        ChatMessage("assistant", "", tool_calls=(PARIS,)),
        result,
    ]


def after_one_call_wire(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": [{"text": "Weather in Paris and Oslo?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "tu_1", "name": "weather", "input": {"city": "Paris"}}}],
        },
        {"role": "user", "content": [{"toolResult": result}]},
    ]


def test_a_text_reply_comes_back_with_usage_and_the_request_is_shaped_for_converse(runtime):
    client, stubber = runtime
    stubber.add_response(
        "converse",
        reply({"text": "Hello"}, {"text": " there."}),
        {
            "modelId": MODEL,
            "system": [{"text": "Be brief."}],
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": {"maxTokens": 100, "temperature": 0.3, "topP": 0.9},
        },
    )
    result = BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(
            model=MODEL,
            messages=[ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")],
            temperature=0.3,
            top_p=0.9,
            max_tokens=100,
        )
    )
    assert result.content == "Hello there."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (21, 4)
    assert (result.finish_reason, result.model) == ("stop", MODEL)


def test_tool_use_comes_back_as_tool_calls_and_tool_results_go_as_tool_result_blocks(runtime):
    client, stubber = runtime
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    stubber.add_response(
        "converse",
        reply(
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "tu_2", "name": "weather", "input": {"city": "Oslo"}}},
            stop="tool_use",
        ),
        {
            "modelId": MODEL,
            "messages": [
                {"role": "user", "content": [{"text": "Weather in Paris and Oslo?"}]},
                {
                    "role": "assistant",
                    "content": [
                        {"toolUse": {"toolUseId": "tu_1", "name": "weather", "input": {"city": "Paris"}}}
                    ],
                },
                {
                    "role": "user",
                    "content": [{"toolResult": {"toolUseId": "tu_1", "content": [{"text": "Sunny"}]}}],
                },
            ],
            "toolConfig": {
                "tools": [
                    {
                        "toolSpec": {
                            "name": "weather",
                            "description": "Weather now",
                            "inputSchema": {"json": schema},
                        }
                    }
                ]
            },
        },
    )
    result = BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(
            model=MODEL,
            messages=[
                ChatMessage("user", "Weather in Paris and Oslo?"),
                ChatMessage("assistant", "", tool_calls=(ToolCall("tu_1", "weather", {"city": "Paris"}),)),
                ChatMessage("tool", "Sunny", tool_call_id="tu_1"),
            ],
            tools=[ToolSpec("weather", "Weather now", schema)],
        )
    )
    assert result.content == "Checking."
    assert result.tool_calls == (ToolCall(id="tu_2", name="weather", arguments={"city": "Oslo"}),)
    assert result.finish_reason == "tool_calls"


def test_a_failed_tool_result_goes_with_status_error_and_the_next_call_comes_back(runtime):
    client, stubber = runtime
    stubber.add_response(
        "converse",
        reply(
            {"text": "Paris failed; trying Oslo."},
            {"toolUse": {"toolUseId": "tu_2", "name": "weather", "input": {"city": "Oslo"}}},
            stop="tool_use",
        ),
        {
            "modelId": MODEL,
            "messages": after_one_call_wire(
                {"toolUseId": "tu_1", "content": [{"text": "upstream timed out"}], "status": "error"}
            ),
            "toolConfig": {"tools": [WEATHER_WIRE], "toolChoice": {"auto": {}}},
        },
    )
    result = BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(
            model=MODEL,
            messages=after_one_call(
                ChatMessage("tool", "upstream timed out", tool_call_id="tu_1", is_error=True)
            ),
            tools=[WEATHER],
            tool_choice="auto",
        )
    )
    assert result.tool_calls == (ToolCall(id="tu_2", name="weather", arguments={"city": "Oslo"}),)
    assert (result.content, result.finish_reason) == ("Paris failed; trying Oslo.", "tool_calls")


@pytest.mark.parametrize(
    ("tool_choice", "converse_choice"),
    [
        ("auto", {"auto": {}}),
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "weather"}}, {"tool": {"name": "weather"}}),
    ],
)
def test_tool_choice_becomes_converse_tool_choice(runtime, tool_choice, converse_choice):
    client, stubber = runtime
    stubber.add_response(
        "converse",
        reply(
            {"toolUse": {"toolUseId": "tu_1", "name": "weather", "input": {"city": "Paris"}}}, stop="tool_use"
        ),
        {
            "modelId": MODEL,
            "messages": [{"role": "user", "content": [{"text": "Weather in Paris?"}]}],
            "toolConfig": {"tools": [WEATHER_WIRE], "toolChoice": converse_choice},
        },
    )
    result = BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(
            model=MODEL,
            messages=[ChatMessage("user", "Weather in Paris?")],
            tools=[WEATHER],
            tool_choice=tool_choice,
        )
    )
    assert result.tool_calls == (PARIS,)


def test_tool_choice_none_without_tool_history_offers_no_tools(runtime):
    client, stubber = runtime
    stubber.add_response(
        "converse",
        reply({"text": "I can't look that up."}),
        {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "Weather in Paris?"}]}]},
    )
    result = BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(
            model=MODEL,
            messages=[ChatMessage("user", "Weather in Paris?")],
            tools=[WEATHER],
            tool_choice="none",
        )
    )
    assert (result.content, result.tool_calls) == ("I can't look that up.", ())


def test_tool_choice_none_with_tool_history_keeps_a_tool_config_and_drops_calls_the_model_makes(runtime):
    client, stubber = runtime
    stubber.add_response(
        "converse",
        reply(
            {"text": "Paris is sunny."},
            {"toolUse": {"toolUseId": "tu_2", "name": "weather", "input": {"city": "Oslo"}}},
            stop="tool_use",
        ),
        {
            "modelId": MODEL,
            "messages": after_one_call_wire({"toolUseId": "tu_1", "content": [{"text": "Sunny"}]}),
            # Converse refuses toolUse/toolResult blocks without a toolConfig; no toolChoice forces a call.
            "toolConfig": {"tools": [WEATHER_WIRE]},
        },
    )
    result = BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(
            model=MODEL,
            messages=after_one_call(ChatMessage("tool", "Sunny", tool_call_id="tu_1")),
            tools=[WEATHER],
            tool_choice="none",
        )
    )
    assert result.tool_calls == ()
    assert (result.content, result.finish_reason) == ("Paris is sunny.", "stop")


def test_a_tool_history_without_tools_gets_stand_ins_named_after_its_calls(runtime):
    client, stubber = runtime
    stand_in = {
        "toolSpec": {
            "name": "weather",
            "description": "No longer available: do not call it.",
            "inputSchema": {"json": {"type": "object", "properties": {}}},
        }
    }
    stubber.add_response(
        "converse",
        reply({"text": "Paris is sunny."}),
        {
            "modelId": MODEL,
            "messages": after_one_call_wire({"toolUseId": "tu_1", "content": [{"text": "Sunny"}]}),
            "toolConfig": {"tools": [stand_in]},
        },
    )
    result = BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(model=MODEL, messages=after_one_call(ChatMessage("tool", "Sunny", tool_call_id="tu_1")))
    )
    assert result.content == "Paris is sunny."


@pytest.mark.parametrize(
    ("tool_input", "reason", "raw"),
    [
        ('{"city": "Oslo"}', "a JSON string, not an object", '"{\\"city\\": \\"Oslo\\"}"'),
        (["Oslo"], "a JSON array, not an object", '["Oslo"]'),
        (7, "a JSON number, not an object", "7"),
    ],
)
def test_a_tool_use_whose_input_is_not_an_object_comes_back_as_an_arguments_error(
    runtime, tool_input, reason, raw
):
    client, stubber = runtime
    stubber.add_response(
        "converse",
        reply({"toolUse": {"toolUseId": "tu_2", "name": "weather", "input": tool_input}}, stop="tool_use"),
    )
    result = BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(model=MODEL, messages=[ChatMessage("user", "Weather in Oslo?")], tools=[WEATHER])
    )
    assert result.tool_calls == (
        ToolCall(id="tu_2", name="weather", arguments={}, arguments_error=reason, raw_arguments=raw),
    )
    assert result.finish_reason == "tool_calls"


def test_strict_travels_when_true_and_an_empty_description_is_left_out(runtime):
    client, stubber = runtime
    schema = {"type": "object", "properties": {}, "additionalProperties": False}
    stubber.add_response(
        "converse",
        reply({"text": "ok"}),
        {
            "modelId": MODEL,
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "toolConfig": {
                "tools": [
                    {"toolSpec": {"name": "strict_one", "inputSchema": {"json": schema}, "strict": True}},
                    {"toolSpec": {"name": "lax_one", "description": "Lax", "inputSchema": {"json": schema}}},
                    {
                        "toolSpec": {
                            "name": "plain_one",
                            "description": "Plain",
                            "inputSchema": {"json": schema},
                        }
                    },
                ]
            },
        },
    )
    BedrockProvider("us-east-1", client=client).complete(
        ChatRequest(
            model=MODEL,
            messages=[ChatMessage("user", "Hi")],
            tools=[
                ToolSpec("strict_one", "", schema, strict=True),
                ToolSpec("lax_one", "Lax", schema, strict=False),
                ToolSpec("plain_one", "Plain", schema),
            ],
        )
    )


@pytest.mark.parametrize("tool_choice", ["any", {"type": "function", "function": {}}, {"type": "function"}])
def test_a_tool_choice_converse_cannot_express_is_a_configuration_error(tool_choice):
    with pytest.raises(ProviderError) as caught:
        bedrock.converse_request(
            ChatRequest(
                model=MODEL, messages=[ChatMessage("user", "Hi")], tools=[WEATHER], tool_choice=tool_choice
            )
        )
    assert (caught.value.kind, caught.value.retryable) == ("configuration", False)


def test_a_tool_use_without_a_name_is_a_bad_response():
    with pytest.raises(ProviderError) as caught:
        bedrock.parse_response(reply({"toolUse": {"toolUseId": "tu_1", "input": {}}}, stop="tool_use"))
    assert caught.value.kind == "bad_response"


def test_consecutive_messages_of_one_role_are_merged_because_converse_needs_alternation():
    request = bedrock.converse_request(
        ChatRequest(
            model=MODEL,
            messages=[
                ChatMessage("user", "a"),
                ChatMessage("user", "b"),
                ChatMessage("assistant", "", tool_calls=(ToolCall("1", "t", {}), ToolCall("2", "t", {}))),
                ChatMessage("tool", "r1", tool_call_id="1"),
                ChatMessage("tool", "r2", tool_call_id="2"),
            ],
            extra={"top_k": 50},
        )
    )
    assert [(m["role"], len(m["content"])) for m in request["messages"]] == [
        ("user", 2),
        ("assistant", 2),
        ("user", 2),
    ]
    assert request["additionalModelRequestFields"] == {"top_k": 50}


@pytest.mark.parametrize(
    ("code", "status", "kind", "retryable"),
    [
        ("ThrottlingException", 429, "rate_limited", True),
        ("ServiceUnavailableException", 503, "http_error", True),
        ("ModelTimeoutException", 408, "timeout", True),
        ("ValidationException", 400, "configuration", False),
        ("AccessDeniedException", 403, "auth", False),
    ],
)
def test_bedrock_errors_become_provider_errors(runtime, code, status, kind, retryable):
    client, stubber = runtime
    stubber.add_client_error(
        "converse", service_error_code=code, service_message="nope", http_status_code=status
    )
    with pytest.raises(ProviderError) as caught:
        BedrockProvider("us-east-1", client=client).complete(
            ChatRequest(model=MODEL, messages=[ChatMessage("user", "Hi")])
        )
    assert (caught.value.kind, caught.value.retryable) == (kind, retryable)
    assert code in caught.value.message


def test_a_malformed_tool_use_is_a_bad_response(runtime):
    client, stubber = runtime
    stubber.add_response("converse", reply({"text": "oops"}, stop="malformed_tool_use"))
    with pytest.raises(ProviderError) as caught:
        BedrockProvider("us-east-1", client=client).complete(
            ChatRequest(model=MODEL, messages=[ChatMessage("user", "Hi")])
        )
    assert caught.value.kind == "bad_response"


def test_the_runtime_client_is_created_once_per_configuration():
    bedrock.client.cache_clear()
    first = bedrock.client("eu-west-1", 5.0, 60.0, 3)
    assert bedrock.client("eu-west-1", 5.0, 60.0, 3) is first
    assert first.meta.region_name == "eu-west-1"
    assert bedrock.client("us-east-1", 5.0, 60.0, 3) is not first
    bedrock.client.cache_clear()


def test_from_record_takes_the_region_from_the_options():
    provider = BedrockProvider.from_record({"kind": "bedrock", "options": {"region": "eu-central-1"}})
    assert provider._region == "eu-central-1"
