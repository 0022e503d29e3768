"""The OpenAI-compatible provider against a real HTTP server on loopback (pytest-httpserver)."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from parley.providers.base import ChatMessage, ChatRequest, ProviderError, ToolCall, ToolSpec
from parley.providers.openai import OpenAIProvider

SECRET = "sk-live-0123456789abcdefghijklmnop"
PATH = "/v1/chat/completions"


def completion(content: str | None = "Hello!", **message: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "llama3.2",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }


class Sleeps:
    """The injected sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def provider(
    server: HTTPServer, sleeps: Sleeps, secret: str | None = SECRET, **options: Any
) -> OpenAIProvider:
    return OpenAIProvider(server.url_for("/v1"), secret, sleep=sleeps, jitter=lambda: 1.0, **options)


def ask(text: str = "Hi", **fields: Any) -> ChatRequest:
    return ChatRequest(model="llama3.2", messages=[ChatMessage("user", text)], **fields)


def sent(server: HTTPServer, index: int = 0) -> tuple[Request, dict[str, Any]]:
    request = server.log[index][0]
    return request, json.loads(request.get_data())


def test_a_reply_comes_back_with_its_usage(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request(PATH, method="POST").respond_with_json(completion("Hello!"))
    result = provider(httpserver, sleeps).complete(ask(temperature=0.2, top_p=0.9, max_tokens=64, seed=3))
    assert result.content == "Hello!"
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total_tokens) == (12, 3, 15)
    assert (result.finish_reason, result.model) == ("stop", "llama3.2")
    request, body = sent(httpserver)
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert body == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 64,
        "seed": 3,
    }


def test_extra_fields_are_merged_into_the_body_and_top_k_only_travels_there(httpserver, sleeps):
    httpserver.expect_request(PATH).respond_with_json(completion())
    provider(httpserver, sleeps).complete(ask(top_k=5, extra={"top_k": 40, "repeat_penalty": 1.1}))
    _, body = sent(httpserver)
    assert (body["top_k"], body["repeat_penalty"]) == (40, 1.1)


def test_without_a_secret_no_authorization_header_is_sent(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request(PATH).respond_with_json(completion())
    provider(httpserver, sleeps, secret=None).complete(ask())
    request, _ = sent(httpserver)
    assert "Authorization" not in request.headers


def test_tools_and_tool_history_travel_in_openai_function_format(httpserver, sleeps):
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "tea"}'}}
    httpserver.expect_request(PATH).respond_with_json(completion(None, tool_calls=[call]))
    previous = ToolCall(id="call_0", name="lookup", arguments={"q": "coffee"})
    request = ChatRequest(
        model="gpt-4o-mini",
        messages=[
            ChatMessage("system", "Be brief."),
            ChatMessage("user", "Coffee or tea?"),
            ChatMessage("assistant", "", tool_calls=(previous,)),
            ChatMessage("tool", "coffee: 3 shops", tool_call_id="call_0"),
        ],
        tools=[ToolSpec("lookup", "Find shops", {"type": "object", "properties": {"q": {"type": "string"}}})],
    )
    result = provider(httpserver, sleeps).complete(request)
    assert result.tool_calls == (ToolCall(id="call_1", name="lookup", arguments={"q": "tea"}),)
    assert result.content == ""
    assert result.finish_reason == "tool_calls"
    _, body = sent(httpserver)
    assert body["messages"][2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_0",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q": "coffee"}'},
            }
        ],
    }
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "call_0", "content": "coffee: 3 shops"}
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Find shops",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]


def test_a_429_is_retried_after_the_time_the_server_asks_for(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_ordered_request(PATH).respond_with_json(
        {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "7"}
    )
    httpserver.expect_ordered_request(PATH).respond_with_json(completion("Finally."))
    result = provider(httpserver, sleeps).complete(ask())
    assert result.content == "Finally."
    assert sleeps.waits == [7.0]
    assert len(httpserver.log) == 2


def test_a_long_retry_after_is_capped(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_ordered_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "3600"})
    httpserver.expect_ordered_request(PATH).respond_with_json(completion())
    provider(httpserver, sleeps, max_retry_after=20).complete(ask())
    assert sleeps.waits == [20]


def test_5xx_is_retried_with_exponential_backoff_until_retries_run_out(httpserver, sleeps):
    httpserver.expect_request(PATH).respond_with_json({"error": {"message": "overloaded"}}, status=503)
    with pytest.raises(ProviderError) as caught:
        provider(httpserver, sleeps, max_retries=3).complete(ask())
    assert caught.value.kind == "http_error"
    assert caught.value.retryable is True
    assert caught.value.status == 503
    assert "overloaded" in caught.value.message
    assert len(httpserver.log) == 4
    assert sleeps.waits == [0.5, 1.0, 2.0]  # full jitter, drawn at its maximum here


def test_other_4xx_are_not_retried(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request(PATH).respond_with_json({"error": {"message": "bad field"}}, status=400)
    with pytest.raises(ProviderError) as caught:
        provider(httpserver, sleeps).complete(ask())
    assert (caught.value.kind, caught.value.retryable, caught.value.status) == ("http_error", False, 400)
    assert len(httpserver.log) == 1
    assert sleeps.waits == []


def test_a_rejected_key_is_an_auth_error_that_never_repeats_the_key(httpserver, sleeps):
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}. Header was Bearer {SECRET}"}}
    httpserver.expect_request(PATH).respond_with_json(echo, status=401)
    with pytest.raises(ProviderError) as caught:
        provider(httpserver, sleeps).complete(ask())
    assert (caught.value.kind, caught.value.retryable) == ("auth", False)
    assert SECRET not in caught.value.message
    assert SECRET not in str(caught.value) + repr(caught.value)
    assert "Incorrect API key provided" in caught.value.message


def test_the_secret_never_appears_in_any_error_message(httpserver: HTTPServer, sleeps: Sleeps):
    def echo_headers(request: Request) -> Response:
        return Response(json.dumps(dict(request.headers)), status=500)

    httpserver.expect_request(PATH).respond_with_handler(echo_headers)
    with pytest.raises(ProviderError) as caught:
        provider(httpserver, sleeps, max_retries=0).complete(ask())
    assert SECRET not in caught.value.message
    assert "[redacted]" in caught.value.message


def test_a_slow_server_is_a_retryable_timeout(httpserver: HTTPServer, sleeps: Sleeps):
    released = threading.Event()

    def slow(request: Request) -> Response:
        released.wait(5)
        return Response(json.dumps(completion()), content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(slow)
    try:
        with pytest.raises(ProviderError) as caught:
            provider(httpserver, sleeps, read_timeout=0.2, max_retries=0).complete(ask())
    finally:
        released.set()
        # Let the server finish the abandoned request, so it does not answer into the next test.
        deadline = time.monotonic() + 5
        while not httpserver.log and time.monotonic() < deadline:
            time.sleep(0.01)
    assert caught.value.kind == "timeout"
    assert caught.value.retryable is True
    assert SECRET not in caught.value.message


def test_a_refused_connection_is_retried_then_reported(sleeps: Sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = OpenAIProvider(
        f"http://127.0.0.1:{port}/v1", SECRET, max_retries=2, sleep=sleeps, jitter=lambda: 0.5
    )
    with pytest.raises(ProviderError) as caught:
        closed.complete(ask())
    assert (caught.value.kind, caught.value.retryable) == ("connection", True)
    assert len(sleeps.waits) == 2


def test_retries_stop_when_the_total_time_budget_would_be_exceeded(httpserver, sleeps):
    httpserver.expect_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "10"})
    with pytest.raises(ProviderError) as caught:
        provider(httpserver, sleeps, total_timeout=5).complete(ask())
    assert caught.value.kind == "rate_limited"
    assert sleeps.waits == []
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad gateway</html>",
        json.dumps({"object": "chat.completion", "choices": []}).encode(),
        json.dumps({"error": "nope"}).encode(),
        json.dumps([1, 2]).encode(),
    ],
)
def test_a_malformed_body_is_a_bad_response(httpserver: HTTPServer, sleeps: Sleeps, body: bytes):
    httpserver.expect_request(PATH).respond_with_data(body, content_type="application/json")
    with pytest.raises(ProviderError) as caught:
        provider(httpserver, sleeps).complete(ask())
    assert (caught.value.kind, caught.value.retryable) == ("bad_response", False)
    assert len(httpserver.log) == 1


LOOKUP = ToolSpec("lookup", "Find shops", {"type": "object", "properties": {"q": {"type": "string"}}})


@pytest.mark.parametrize(
    "tool_choice",
    ["auto", "none", "required", {"type": "function", "function": {"name": "lookup"}}],
)
def test_tool_choice_travels_in_the_openai_shape(httpserver, sleeps, tool_choice):
    httpserver.expect_request(PATH).respond_with_json(completion())
    provider(httpserver, sleeps).complete(ask(tools=[LOOKUP], tool_choice=tool_choice))
    _, body = sent(httpserver)
    assert body["tool_choice"] == tool_choice


def test_a_named_tool_choice_is_sent_as_exactly_the_wire_object(httpserver, sleeps):
    httpserver.expect_request(PATH).respond_with_json(completion())
    named = {"type": "function", "function": {"name": "lookup", "description": None}, "extra": 1}
    provider(httpserver, sleeps).complete(ask(tools=[LOOKUP], tool_choice=named))
    _, body = sent(httpserver)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}


def test_without_tools_no_tool_choice_is_sent(httpserver, sleeps):
    httpserver.expect_request(PATH).respond_with_json(completion())
    provider(httpserver, sleeps).complete(ask(tool_choice="required"))
    _, body = sent(httpserver)
    assert "tool_choice" not in body and "tools" not in body


def test_a_named_tool_choice_without_a_name_is_a_configuration_error(httpserver, sleeps):
    with pytest.raises(ProviderError) as caught:
        provider(httpserver, sleeps).complete(ask(tools=[LOOKUP], tool_choice={"type": "function"}))
    assert caught.value.kind == "configuration"
    assert httpserver.log == []


def test_strict_travels_on_a_function_when_it_is_set(httpserver, sleeps):
    httpserver.expect_request(PATH).respond_with_json(completion())
    schema = {"type": "object", "properties": {}, "additionalProperties": False}
    tools = [
        ToolSpec("strict_one", "", schema, strict=True),
        ToolSpec("lax_one", "", schema, strict=False),
        ToolSpec("plain_one", "", schema),
    ]
    provider(httpserver, sleeps).complete(ask(tools=tools))
    _, body = sent(httpserver)
    functions = {tool["function"]["name"]: tool["function"] for tool in body["tools"]}
    assert functions["strict_one"]["strict"] is True
    assert functions["lax_one"]["strict"] is False
    assert "strict" not in functions["plain_one"]


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ("{q: tea", "not valid JSON: Expecting property name enclosed in double quotes at character 1"),
        ('{"q": "tea"', "not valid JSON: Expecting ',' delimiter at character 11"),
        ('["tea"]', "a JSON array, not an object"),
        ('"tea"', "a JSON string, not an object"),
        ("42", "a JSON number, not an object"),
        ("true", "a JSON boolean, not an object"),
    ],
)
def test_tool_call_arguments_that_are_not_a_json_object_come_back_as_an_arguments_error(
    httpserver, sleeps, arguments, reason
):
    call = {"id": "c", "type": "function", "function": {"name": "lookup", "arguments": arguments}}
    httpserver.expect_request(PATH).respond_with_json(completion(None, tool_calls=[call]))
    result = provider(httpserver, sleeps).complete(ask(tools=[LOOKUP]))
    assert result.tool_calls == (
        ToolCall(id="c", name="lookup", arguments={}, arguments_error=reason, raw_arguments=arguments),
    )
    assert result.finish_reason == "tool_calls"
    assert len(httpserver.log) == 1  # the model's mistake, not a failed call: nothing is retried


@pytest.mark.parametrize("arguments", ["", "  ", None, "null"])
def test_a_call_without_arguments_has_empty_ones(httpserver, sleeps, arguments):
    call = {"id": "c", "type": "function", "function": {"name": "lookup", "arguments": arguments}}
    httpserver.expect_request(PATH).respond_with_json(completion(None, tool_calls=[call]))
    result = provider(httpserver, sleeps).complete(ask(tools=[LOOKUP]))
    assert result.tool_calls == (ToolCall(id="c", name="lookup", arguments={}),)


def test_arguments_sent_as_a_json_array_rather_than_text_are_an_arguments_error(httpserver, sleeps):
    call = {"id": "c", "type": "function", "function": {"name": "lookup", "arguments": ["tea"]}}
    httpserver.expect_request(PATH).respond_with_json(completion(None, tool_calls=[call]))
    (result,) = provider(httpserver, sleeps).complete(ask(tools=[LOOKUP])).tool_calls
    assert (result.arguments, result.arguments_error, result.raw_arguments) == (
        {},
        "a JSON array, not an object",
        '["tea"]',
    )


@pytest.mark.parametrize(
    "call",
    [
        {"id": "c", "type": "function", "function": {"arguments": "{}"}},
        {"id": "c", "type": "function", "function": {"name": "", "arguments": "{}"}},
        {"id": "c", "type": "function"},
        "lookup",
    ],
)
def test_a_tool_call_without_a_function_name_is_a_bad_response(httpserver, sleeps, call):
    httpserver.expect_request(PATH).respond_with_json(completion(None, tool_calls=[call]))
    with pytest.raises(ProviderError) as caught:
        provider(httpserver, sleeps).complete(ask(tools=[LOOKUP]))
    assert (caught.value.kind, caught.value.retryable) == ("bad_response", False)


def test_a_call_the_model_got_wrong_is_shown_back_to_it_as_it_wrote_it(httpserver, sleeps):
    httpserver.expect_request(PATH).respond_with_json(completion("Tea, then."))
    wrong = ToolCall("call_0", "lookup", {}, arguments_error="not valid JSON", raw_arguments="{q: tea")
    request = ChatRequest(
        model="gpt-4o-mini",
        messages=[
            ChatMessage("user", "Tea?"),
            ChatMessage("assistant", "", tool_calls=(wrong,)),
            ChatMessage(
                "tool", "The arguments of lookup are not a JSON object.", tool_call_id="call_0", is_error=True
            ),
        ],
        tools=[LOOKUP],
    )
    provider(httpserver, sleeps).complete(request)
    _, body = sent(httpserver)
    assert body["messages"][1]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": "{q: tea"}
    # Chat Completions has no error flag on a tool message: the output says so itself.
    assert body["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": "The arguments of lookup are not a JSON object.",
    }


def test_a_base_url_with_a_query_keeps_it(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request(PATH, query_string="api-version=2024-10-21").respond_with_json(completion())
    azure_like = OpenAIProvider(httpserver.url_for("/v1") + "?api-version=2024-10-21", None, sleep=sleeps)
    assert azure_like.complete(ask()).content == "Hello!"


def test_from_record_reads_the_options():
    built = OpenAIProvider.from_record(
        {
            "kind": "openai",
            "base_url": "https://api.openai.com/v1",
            "options": {"connect_timeout_seconds": 2, "read_timeout_seconds": 9, "max_retries": 1},
        },
        SECRET,
    )
    assert (built._connect_timeout, built._read_timeout, built._max_retries) == (2.0, 9.0, 1)
    assert (built._https, built._host, built._port, built._path) == (True, "api.openai.com", 443, PATH)
    with pytest.raises(ProviderError) as caught:
        OpenAIProvider.from_record({"kind": "openai"}, None)
    assert caught.value.kind == "configuration"
