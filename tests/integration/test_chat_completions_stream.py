"""POST /v1/chat/completions with stream: true, against moto: the Function URL's server
(api.chat.stream_server) on loopback, driven by the real ``openai`` SDK with ``stream=True``, and the HTTP
API's route, which answers the same events all at once. The turn runs inline on the real pipeline with the
scripted provider, whose stream() sends a reply word by word."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from devstack.events import LambdaContext, http_event
from devstack.template import load_template
from functions.api.chat import stream_server
from tests.conftest import load_handler
from tests.integration.conftest import authorize
from tests.integration.test_chat_completions import FUNCTION, stored, user
from tests.integration.test_chat_completions_tools import WEATHER
from tests.integration.test_turns import make_agent, messages_of
from tests.integration.turns_support import TurnQueue

SLOW_REPLY = "one two three four"
SCRIPT = [
    # Each word 150 ms after the last: more than the pipeline's 80 ms batching, so each is its own chunk.
    {"match": "(?i)slowly", "reply": SLOW_REPLY, "stream_delay_ms": 150},
    # Slow enough that the call's arguments come in fragments of their own too.
    {
        "match": "(?i)weather in paris",
        "reply": "Let me look that up.",
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
        "stream_delay_ms": 100,
    },
    # A tool Parley runs itself (the agent has memory): the turn makes a second model call.
    {
        "match": "(?i)remember me",
        "reply": "Let me think.",
        "tool_calls": [{"name": "recall_memories", "arguments": {"query": "name"}}],
    },
    {"match": "(?i)fail", "error": "timeout"},
    {"match": "(?i)late", "reply": "done", "delay_ms": 1500},
]
ASKED = "What is the weather in Paris?"
EVENT = re.compile(rb"data: (\{[^\n]*\}|\[DONE\])\n\n")


@pytest.fixture
def queue(aws) -> TurnQueue:
    return TurnQueue(aws)


@pytest.fixture
def key(invoke, admin) -> str:
    """An admin key whose default agent, "Helper", is scripted (it echoes what no rule matches)."""
    make_agent(invoke, admin["key"], options={"script": SCRIPT})
    return str(admin["key"])


@pytest.fixture
def base_url(aws) -> Iterator[str]:
    """The streaming server on a free loopback port, in this process (so in moto)."""
    server = stream_server.make_server(0)
    thread = threading.Thread(target=server.serve_forever, name="stream-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(base_url, key) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=30) as sdk:
        yield sdk


def completions(sdk: openai.OpenAI) -> Any:
    """The SDK's chat completions, untyped: its overloads want literal message dicts, not built ones."""
    return sdk.chat.completions


def error_body(error: openai.APIError) -> dict[str, Any]:
    """The ``error`` object of Parley's answer, as the SDK kept it."""
    assert isinstance(error.body, dict), error.body
    return error.body


def streamed(client: openai.OpenAI, messages: list[dict[str, Any]], **extra: Any) -> tuple[list[Any], Any]:
    """The chunks of a streamed completion (with usage), and the response's headers."""
    raw = completions(client).with_raw_response.create(
        model="Helper", messages=messages, stream=True, stream_options={"include_usage": True}, **extra
    )
    return list(raw.parse()), raw.headers


def content_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def tool_calls_of(chunks: list[Any]) -> list[dict[str, Any]]:
    """The calls the fragments make, joined as the SDK's users join them: by index."""
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for fragment in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(fragment.index, {"id": None, "type": None, "name": None, "arguments": ""})
            call["id"] = call["id"] or fragment.id
            call["type"] = call["type"] or fragment.type
            call["name"] = call["name"] or fragment.function.name
            call["arguments"] += fragment.function.arguments or ""
    return [calls[index] for index in sorted(calls)]


def finish_reasons(chunks: list[Any]) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


def summary(chunks: list[Any]) -> dict[str, Any]:
    """What a client makes of a stream, whatever the pieces its text came in."""
    return {
        "role": chunks[0].choices[0].delta.role,
        "content": content_of(chunks),
        "tool_calls": tool_calls_of(chunks),
        "finish_reasons": finish_reasons(chunks),
        "usage": chunks[-1].usage.model_dump() if chunks[-1].usage else None,
    }


# -- the reply, streamed ---------------------------------------------------------------------------
def test_a_streamed_completion_joins_into_the_stored_reply(client, invoke, key):
    chunks, headers = streamed(client, [user("hello there")])

    assert content_of(chunks) == "You said: hello there"
    first, finish, usage = chunks[0], chunks[-2], chunks[-1]
    assert first.choices[0].delta.role == "assistant"
    assert finish.choices[0].finish_reason == "stop" and finish.choices[0].delta.content is None
    extras = finish.model_extra["parley"]
    conversation_id = headers["x-conversation-id"]
    assert extras["conversation_id"] == conversation_id and extras["turn_id"] == headers["x-turn-id"]
    assert extras["status"] == "completed"
    assert {c.id for c in chunks} == {"chatcmpl-" + headers["x-turn-id"]}
    assert {(c.object, c.model) for c in chunks} == {("chat.completion.chunk", "Helper")}
    # The usage chunk comes last, with no choices; no other chunk has usage.
    assert usage.choices == [] and usage.usage is not None
    assert usage.usage.prompt_tokens > 0 and usage.usage.completion_tokens > 0
    assert usage.usage.total_tokens == usage.usage.prompt_tokens + usage.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])
    assert stored(invoke, key, conversation_id) == [
        ("user", "hello there"),
        ("assistant", "You said: hello there"),
    ]
    assert extras["message_id"] == messages_of(invoke, key, conversation_id)[1]["id"]


def test_the_text_arrives_in_several_chunks_as_the_model_writes_it(client):
    arrived: list[tuple[float, str]] = []
    with completions(client).create(model="Helper", messages=[user("say it slowly")], stream=True) as stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrived.append((time.monotonic(), chunk.choices[0].delta.content))
            assert chunk.usage is None  # no stream_options: no usage chunk

    assert "".join(text for _, text in arrived) == SLOW_REPLY
    assert len(arrived) >= 3
    assert arrived[-1][0] - arrived[0][0] >= 0.3  # flushed as they came, not all at the end


def test_without_stream_the_server_answers_the_json_completion(client, invoke, key):
    completion = completions(client).create(model="Helper", messages=[user("plain")])

    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "You said: plain"
    assert completion.choices[0].finish_reason == "stop"
    conversation_id = completion.model_extra["parley"]["conversation_id"]
    assert stored(invoke, key, conversation_id) == [("user", "plain"), ("assistant", "You said: plain")]


def test_the_inline_run_and_the_queued_copy_make_one_reply(client, invoke, key, queue):
    chunks, headers = streamed(client, [user("once")])

    queue.drain()  # the SQS copy of the turn, through the real worker

    assert content_of(chunks) == "You said: once"
    assert stored(invoke, key, headers["x-conversation-id"]) == [
        ("user", "once"),
        ("assistant", "You said: once"),
    ]


# -- tool calls ------------------------------------------------------------------------------------
def test_a_client_tool_call_streams_its_fragments_and_the_tool_message_streams_the_answer(
    client, invoke, key
):
    first, headers = streamed(client, [user(ASKED)], tools=[WEATHER])

    assert content_of(first) == "Let me look that up."
    assert finish_reasons(first) == ["tool_calls"]
    (call,) = tool_calls_of(first)
    assert call["type"] == "function" and call["name"] == "get_weather" and call["id"].startswith("call_")
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    fragments = [f for c in first if c.choices for f in c.choices[0].delta.tool_calls or []]
    assert len(fragments) >= 2  # in the pieces the model wrote them
    assert fragments[0].id == call["id"] and all(f.id is None and f.type is None for f in fragments[1:])
    turn_id = headers["x-turn-id"]
    assert first[-2].model_extra["parley"]["status"] == "requires_action"

    asked = {
        "role": "assistant",
        "content": content_of(first),
        "tool_calls": [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
        ],
    }
    answered = {"role": "tool", "tool_call_id": call["id"], "content": "21 C, sunny"}
    second, resumed = streamed(
        client,
        [user(ASKED), asked, answered],
        tools=[WEATHER],
        extra_headers={"x-conversation-id": headers["x-conversation-id"]},
    )

    assert content_of(second) == "Tool results: get_weather: 21 C, sunny"
    assert finish_reasons(second) == ["stop"] and tool_calls_of(second) == []
    assert resumed["x-turn-id"] == turn_id
    assert {c.id for c in second} == {f"chatcmpl-{turn_id}-1"}  # a stream of its own
    # Each stream's usage is what the model spent for it.
    assert second[-1].usage.prompt_tokens > 0 and first[-1].usage.prompt_tokens > 0
    assert stored(invoke, key, headers["x-conversation-id"]) == [
        ("user", ASKED),
        ("assistant", "Let me look that up."),
        ("tool", "21 C, sunny"),
        ("assistant", "Tool results: get_weather: 21 C, sunny"),
    ]


def test_text_written_before_a_tool_parley_runs_stays_in_the_stream(client, invoke, key):
    agent_id = invoke("ListAgentsFunction", key=key).body["data"][0]["id"]
    updated = invoke("UpdateAgentFunction", key=key, path={"agent_id": agent_id}, body={"memory": True})
    assert updated.status == 200, updated.body

    chunks, headers = streamed(client, [user("Do you remember me?")])

    # The stored reply is the last model call's text; the stream also showed the first call's, before it.
    ((_, reply),) = [m for m in stored(invoke, key, headers["x-conversation-id"]) if m[0] == "assistant"][-1:]
    assert reply.startswith("Tool results: recall_memories: ")
    assert content_of(chunks) == "Let me think.\n\n" + reply
    assert tool_calls_of(chunks) == [] and finish_reasons(chunks) == ["stop"]


# -- refusals, before the first byte ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("credentials", "error"),
    [
        ({"api_key": "pk_unknown"}, openai.AuthenticationError),
        ({"default_headers": {"x-workspace-id": "ws_someone_else"}}, openai.PermissionDeniedError),
    ],
)
def test_a_bad_key_is_refused_in_the_shape_the_sdk_reads(base_url, key, credentials, error):
    sdk = openai.OpenAI(**{"base_url": f"{base_url}/v1", "api_key": key, "max_retries": 0, **credentials})

    with pytest.raises(error) as refused:
        completions(sdk).create(model="Helper", messages=[user("hi")], stream=True)

    assert refused.value.response.headers["x-should-retry"] == "false"
    assert error_body(refused.value)["request_id"]


@pytest.mark.parametrize("stream", [True, False])
def test_an_unknown_model_is_404_as_without_streaming(client, queue, stream):
    with pytest.raises(openai.NotFoundError) as refused:
        completions(client).create(model="gpt-4o", messages=[user("hi")], stream=stream)

    assert refused.value.status_code == 404
    assert (
        error_body(refused.value)["code"] == "model_not_found"
        and error_body(refused.value)["param"] == "model"
    )
    assert queue.drain() == 0  # nothing was posted


def test_stream_options_without_stream_is_a_400(client, invoke, key, queue):
    with pytest.raises(openai.BadRequestError) as refused:
        completions(client).create(
            model="Helper", messages=[user("hi")], stream_options={"include_usage": True}
        )
    through_the_http_api = invoke(
        FUNCTION, key=key, body={"model": "Helper", "messages": [user("hi")], "stream_options": {}}
    )

    assert error_body(refused.value)["param"] == "stream_options"
    assert through_the_http_api.status == 400
    assert through_the_http_api.body["error"]["param"] == "stream_options"
    assert queue.drain() == 0


def test_a_body_over_the_limit_is_413_unread(base_url, key):
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)
    connection.putrequest("POST", "/v1/chat/completions")
    connection.putheader("authorization", f"Bearer {key}")
    connection.putheader("content-type", "application/json")
    connection.putheader("content-length", str(10 * 1024 * 1024))
    connection.endheaders()  # and no body: the server must answer without waiting for it

    response = connection.getresponse()

    assert response.status == 413
    assert json.loads(response.read())["error"]["type"] == "payload_too_large"
    connection.close()


def test_the_readiness_check_is_answered(base_url):
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)
    connection.request("GET", "/")

    assert connection.getresponse().status == 200
    connection.close()


# -- failures once the stream has begun ------------------------------------------------------------
def test_a_provider_error_mid_turn_is_an_error_event_the_sdk_raises(client, invoke, key):
    seen: list[Any] = []
    chunks = completions(client).create(model="Helper", messages=[user("please fail")], stream=True)
    with chunks, pytest.raises(openai.APIError) as failed:  # raised while the chunks are read
        seen.extend(chunks)

    assert not isinstance(failed.value, openai.APIStatusError)  # the response itself was a 200
    assert seen and seen[0].choices[0].delta.role == "assistant"
    body = error_body(failed.value)
    assert body["type"] == "bad_gateway" and body["code"] == "timeout"
    details = body["details"][0]
    turn = invoke(
        "GetTurnFunction",
        key=key,
        path={"conversation_id": details["conversation_id"], "turn_id": details["turn_id"]},
    ).body
    assert turn["status"] == "failed" and turn["error"]["type"] == "timeout"


def test_a_turn_past_the_deadline_is_an_error_event_and_the_queue_finishes_it(
    client, invoke, key, queue, monkeypatch
):
    monkeypatch.setattr(stream_server, "LOCAL_DEADLINE_SECONDS", 0.3)

    chunks = completions(client).create(model="Helper", messages=[user("late again")], stream=True)
    with chunks, pytest.raises(openai.APIError) as failed:  # raised while the chunks are read
        list(chunks)

    body = error_body(failed.value)
    details = body["details"][0]
    assert body["code"] == "turn_timeout" and "0.3 s" in body["message"]
    for thread in threading.enumerate():  # the inline attempt ends (without writing: it lost its lease)
        if thread.name == f"chat-turn-{details['turn_id']}":
            thread.join()
    queue.drain()
    assert stored(invoke, key, details["conversation_id"]) == [("user", "late again"), ("assistant", "done")]


def test_the_deadline_is_what_the_invocation_has_left():
    in_a_minute = (time.time() + 60) * 1000
    context = {stream_server.LAMBDA_CONTEXT_HEADER: json.dumps({"deadline": in_a_minute, "request_id": "r"})}

    left = stream_server._deadline_seconds(context)

    assert 60 - stream_server.DEADLINE_MARGIN_SECONDS - 1 < left <= 60 - stream_server.DEADLINE_MARGIN_SECONDS
    assert stream_server._deadline_seconds({}) == stream_server.LOCAL_DEADLINE_SECONDS


# -- the wire --------------------------------------------------------------------------------------
def raw_events(body: bytes) -> list[bytes]:
    """The body's events, checking that it is nothing but ``data: <one line>`` events."""
    events = EVENT.findall(body)
    assert b"".join(b"data: " + event + b"\n\n" for event in events) == body, body
    return events


def test_each_event_is_one_data_line_and_the_stream_ends_with_done(base_url, key):
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=30)
    body: dict[str, Any] = {"model": "Helper", "messages": [user("raw bytes")], "stream": True}
    connection.request(
        "POST",
        "/v1/chat/completions",
        body=json.dumps(body),
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )

    response = connection.getresponse()
    raw = response.read()  # http.client joins the chunks of the chunked body

    assert response.status == 200
    assert response.getheader("content-type") == "text/event-stream; charset=utf-8"
    assert response.getheader("transfer-encoding") == "chunked"
    assert response.getheader("x-turn-id") and response.getheader("x-conversation-id")
    assert raw.endswith(b"data: [DONE]\n\n")
    events = raw_events(raw)
    chunks = [openai.types.chat.ChatCompletionChunk.model_validate_json(e) for e in events[:-1]]
    assert content_of(chunks) == "You said: raw bytes"
    connection.close()


def invoke_http_api(key: str, body: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API's route as API Gateway invokes it, its response as it comes (a text body, unparsed)."""
    function = load_template().function(FUNCTION)
    route = function.routes[0]
    context = authorize({"authorization": f"Bearer {key}"}, route, route.path)["context"]
    event = http_event(
        route,
        route.method,
        route.path,
        headers=[("content-type", "application/json"), ("authorization", f"Bearer {key}")],
        body=json.dumps(body).encode(),
        authorizer_context=context,
    )
    return dict(load_handler(FUNCTION)(event, LambdaContext(function.logical_id, function.timeout)))


def test_the_http_api_answers_the_same_events_all_at_once(client, aws, key):
    body: dict[str, Any] = {"model": "Helper", "messages": [user("both ways")], "stream": True}
    from_the_server, _ = streamed(client, body["messages"])

    response = invoke_http_api(key, {**body, "stream_options": {"include_usage": True}})

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "text/event-stream; charset=utf-8"
    assert response["headers"]["x-turn-id"] and not response.get("isBase64Encoded")
    raw = response["body"].encode()
    assert raw.endswith(b"data: [DONE]\n\n")
    events = raw_events(raw)
    chunks = [openai.types.chat.ChatCompletionChunk.model_validate_json(e) for e in events[:-1]]
    assert summary(chunks) == summary(from_the_server)
    assert summary(chunks)["content"] == "You said: both ways"
    assert {c.id for c in chunks} == {"chatcmpl-" + response["headers"]["x-turn-id"]}
