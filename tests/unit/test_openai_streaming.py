"""The OpenAI-compatible provider's stream, against real server-sent events on loopback.

pytest-httpserver answers most of them; a raw socket server answers the ones that need a body cut off
at an exact byte.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from parley.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    ProviderError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
)
from parley.providers.openai import OpenAIProvider

SECRET = "sk-live-0123456789abcdefghijklmnop"
PATH = "/v1/chat/completions"
LOOKUP = ToolSpec("lookup", "Find shops", {"type": "object", "properties": {"q": {"type": "string"}}})
USAGE = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


class Sleeps:
    """The injected sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def provider(server_url: str, sleeps: Sleeps, **options: Any) -> OpenAIProvider:
    return OpenAIProvider(server_url, SECRET, sleep=sleeps, jitter=lambda: 1.0, **options)


def ask(**fields: Any) -> ChatRequest:
    return ChatRequest(model="gpt-4o-mini", messages=[ChatMessage("user", "Hi")], **fields)


# -- what a server sends ---------------------------------------------------------------------------
def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None, **fields: Any) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": choices,
        "usage": None,
        **fields,
    }


def sse(*chunks: dict[str, Any] | str, done: bool = True, newline: str = "\n") -> bytes:
    events = [c if isinstance(c, str) else json.dumps(c) for c in chunks] + (["[DONE]"] if done else [])
    return "".join(f"data: {event}{newline}{newline}" for event in events).encode()


def usage_chunk() -> dict[str, Any]:
    return chunk(usage=USAGE)


def completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    """The non-streamed body with the same answer."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason}
        ],
        "usage": USAGE,
    }


def fragment(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> dict:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return call


def answer_streamed(server: HTTPServer, body: bytes) -> None:
    server.expect_ordered_request(PATH, method="POST").respond_with_data(
        body, content_type="text/event-stream"
    )


def as_completed(
    server: HTTPServer, sleeps: Sleeps, body: dict[str, Any], request: ChatRequest
) -> ChatResult:
    """What ``complete`` returns for the same answer, not streamed."""
    server.expect_ordered_request(PATH).respond_with_json(body)
    return provider(server.url_for("/v1"), sleeps).complete(request)


def split(events: list[StreamEvent]) -> tuple[list[TextDelta], list[ToolCallDelta], ChatResult]:
    assert isinstance(events[-1], ChatResult)
    assert not any(isinstance(event, ChatResult) for event in events[:-1])
    return (
        [e for e in events if isinstance(e, TextDelta)],
        [e for e in events if isinstance(e, ToolCallDelta)],
        events[-1],
    )


# -- the answer ------------------------------------------------------------------------------------
def test_text_arrives_as_deltas_and_the_result_is_the_one_complete_gives(httpserver: HTTPServer, sleeps):
    answer_streamed(
        httpserver,
        sse(
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo "}),
            chunk({"content": "there!"}),
            chunk({}, "stop"),
            usage_chunk(),
        ),
    )
    events = list(provider(httpserver.url_for("/v1"), sleeps).stream(ask(temperature=0.2)))
    texts, calls, result = split(events)
    assert [t.text for t in texts] == ["Hel", "lo ", "there!"]
    assert calls == []
    assert result == ChatResult(
        "Hello there!", usage=result.usage, finish_reason="stop", model="gpt-4o-mini-2024-07-18"
    )
    assert (result.usage.input_tokens, result.usage.output_tokens) == (12, 3)
    sent = httpserver.log[0][0]
    assert sent.headers["Accept"] == "text/event-stream"
    assert json.loads(sent.get_data()) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    expected = as_completed(
        httpserver, sleeps, completion({"content": "Hello there!"}, "stop"), ask(temperature=0.2)
    )
    assert result == expected


def test_two_tool_calls_in_fragments_across_chunks_assemble_into_completes_calls(httpserver, sleeps):
    answer_streamed(
        httpserver,
        sse(
            chunk({"role": "assistant", "content": None}),
            chunk({"tool_calls": [fragment(0, "", "call_a", "lookup")]}),
            chunk({"tool_calls": [fragment(0, '{"q": ')]}),
            chunk({"tool_calls": [fragment(0, '"tea"}'), fragment(1, '{"q"', "call_b", "lookup")]}),
            chunk({"tool_calls": [fragment(1, ': "cof')]}),
            chunk({"tool_calls": [fragment(1, 'fee"}')]}),
            chunk({}, "tool_calls"),
            usage_chunk(),
        ),
    )
    events = list(provider(httpserver.url_for("/v1"), sleeps).stream(ask(tools=[LOOKUP])))
    texts, calls, result = split(events)
    assert texts == []
    assert calls == [
        ToolCallDelta(0, "call_a", "lookup", ""),
        ToolCallDelta(0, None, None, '{"q": '),
        ToolCallDelta(0, None, None, '"tea"}'),
        ToolCallDelta(1, "call_b", "lookup", '{"q"'),
        ToolCallDelta(1, None, None, ': "cof'),
        ToolCallDelta(1, None, None, 'fee"}'),
    ]
    whole_calls = [
        {"id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "tea"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "coffee"}'}},
    ]
    expected = as_completed(
        httpserver, sleeps, completion({"content": None, "tool_calls": whole_calls}, "tool_calls"), ask()
    )
    assert result == expected
    assert [(c.id, c.arguments) for c in result.tool_calls] == [
        ("call_a", {"q": "tea"}),
        ("call_b", {"q": "coffee"}),
    ]
    assert result.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("pieces", "reason"),
    [
        (['{"q": ', '"tea"'], "not valid JSON: Expecting ',' delimiter at character 11"),
        (['["te', 'a"]'], "a JSON array, not an object"),
    ],
)
def test_arguments_that_are_not_an_object_come_back_as_an_arguments_error(httpserver, sleeps, pieces, reason):
    fragments = [fragment(0, pieces[0], "call_a", "lookup"), *(fragment(0, p) for p in pieces[1:])]
    answer_streamed(
        httpserver,
        sse(*(chunk({"tool_calls": [f]}) for f in fragments), chunk({}, "tool_calls"), usage_chunk()),
    )
    _, _, result = split(list(provider(httpserver.url_for("/v1"), sleeps).stream(ask())))
    call = result.tool_calls[0]
    assert (call.arguments, call.arguments_error, call.raw_arguments) == ({}, reason, "".join(pieces))
    whole = {"id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": "".join(pieces)}}
    assert result == as_completed(
        httpserver, sleeps, completion({"content": None, "tool_calls": [whole]}, "tool_calls"), ask()
    )
    assert len(httpserver.log) == 2  # the model's mistake, not a failed call: nothing was retried


def test_quirky_servers_late_names_repeated_ids_and_calls_without_an_index(httpserver, sleeps):
    late_name = {"index": 0, "id": "call_a", "function": {"arguments": '{"q": '}}
    repeated = {"index": 0, "id": "call_a", "function": {"name": "lookup", "arguments": '"tea"}'}}
    whole = {"id": "call_b", "function": {"name": "clock", "arguments": "{}"}}  # no index at all
    answer_streamed(
        httpserver,
        sse(*(chunk({"tool_calls": [f]}) for f in (late_name, repeated, whole)), chunk({}, "tool_calls")),
    )
    _, calls, result = split(list(provider(httpserver.url_for("/v1"), sleeps).stream(ask())))
    # The first delta waits for the name; a repeated id is not a new call; an index-less call is whole.
    assert calls == [
        ToolCallDelta(0, "call_a", "lookup", '{"q": "tea"}'),
        ToolCallDelta(1, "call_b", "clock", "{}"),
    ]
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("call_a", "lookup", {"q": "tea"}),
        ("call_b", "clock", {}),
    ]


def test_text_then_a_call_and_crlf_events_with_comments_and_multi_line_data(httpserver, sleeps):
    # A keep-alive comment, an event whose JSON spans two data lines, CRLF line ends throughout.
    spread = json.dumps(chunk({"content": " Let me look."}), indent=1).splitlines()
    body = (
        b": keep-alive\r\n\r\n"
        + sse(chunk({"content": "Sure."}), newline="\r\n", done=False)
        + "".join(f"data: {line}\r\n" for line in spread).encode()
        + b"\r\n"
        + sse(
            chunk({"tool_calls": [fragment(0, "{}", "call_a", "lookup")]}),
            chunk({}, "tool_calls"),
            newline="\r\n",
        )
    )
    answer_streamed(httpserver, body)
    texts, calls, result = split(list(provider(httpserver.url_for("/v1"), sleeps).stream(ask())))
    assert [t.text for t in texts] == ["Sure.", " Let me look."]
    assert calls == [ToolCallDelta(0, "call_a", "lookup", "{}")]
    assert result.content == "Sure. Let me look."
    assert (result.tool_calls[0].name, result.tool_calls[0].arguments) == ("lookup", {})
    assert result.usage.total_tokens == 0  # no usage chunk: nothing to count


def test_deltas_are_yielded_while_the_server_is_still_answering(httpserver: HTTPServer, sleeps):
    first_delta_seen = threading.Event()
    rest_sent = threading.Event()

    def trickle(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield sse(chunk({"content": "first"}), done=False)
            # The rest only once the client has shown the first delta: it must not wait for the end.
            first_delta_seen.wait(5)
            rest_sent.set()
            yield sse(chunk({"content": " second"}, "stop"), usage_chunk())

        return Response(body(), content_type="text/event-stream")

    httpserver.expect_request(PATH).respond_with_handler(trickle)
    stream = provider(httpserver.url_for("/v1"), sleeps, read_timeout=3).stream(ask())
    assert next(stream) == TextDelta("first")
    assert not rest_sent.is_set()
    first_delta_seen.set()
    texts, _, result = split(list(stream))
    assert [t.text for t in texts] == [" second"]
    assert result.content == "first second"


def test_a_server_that_ignores_stream_answers_with_the_whole_completion(httpserver: HTTPServer, sleeps):
    whole = {"id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "tea"}'}}
    body = completion({"content": "Looking.", "tool_calls": [whole]}, "tool_calls")
    httpserver.expect_ordered_request(PATH).respond_with_json(body)
    events = list(provider(httpserver.url_for("/v1"), sleeps).stream(ask()))
    assert events[:-1] == [TextDelta("Looking."), ToolCallDelta(0, "call_a", "lookup", '{"q": "tea"}')]
    assert events[-1] == as_completed(httpserver, sleeps, body, ask())


# -- failures before the stream: as complete -------------------------------------------------------
def test_a_429_before_the_stream_is_retried_after_the_time_the_server_asks_for(httpserver, sleeps):
    httpserver.expect_ordered_request(PATH).respond_with_json(
        {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "7"}
    )
    answer_streamed(httpserver, sse(chunk({"content": "Finally."}, "stop"), usage_chunk()))
    _, _, result = split(list(provider(httpserver.url_for("/v1"), sleeps).stream(ask())))
    assert result.content == "Finally."
    assert sleeps.waits == [7.0]
    assert len(httpserver.log) == 2


def test_a_5xx_before_the_stream_is_retried_with_backoff_then_mapped_as_complete_maps_it(httpserver, sleeps):
    httpserver.expect_request(PATH).respond_with_json({"error": {"message": "overloaded"}}, status=500)
    with pytest.raises(ProviderError) as streamed:
        list(provider(httpserver.url_for("/v1"), sleeps, max_retries=2).stream(ask()))
    assert (streamed.value.kind, streamed.value.retryable, streamed.value.status) == ("http_error", True, 500)
    assert "overloaded" in streamed.value.message
    assert len(httpserver.log) == 3
    assert sleeps.waits == [0.5, 1.0]
    with pytest.raises(ProviderError) as completed:
        provider(httpserver.url_for("/v1"), Sleeps(), max_retries=2).complete(ask())
    assert completed.value.message == streamed.value.message


def test_a_rejected_key_is_an_auth_error_that_is_not_retried_and_never_repeats_the_key(httpserver, sleeps):
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}."}}
    httpserver.expect_request(PATH).respond_with_json(echo, status=401)
    with pytest.raises(ProviderError) as caught:
        list(provider(httpserver.url_for("/v1"), sleeps).stream(ask()))
    assert (caught.value.kind, caught.value.retryable) == ("auth", False)
    assert SECRET not in caught.value.message
    assert len(httpserver.log) == 1


def test_nothing_is_sent_until_the_stream_is_read(httpserver: HTTPServer, sleeps):
    answer_streamed(httpserver, sse(chunk({"content": "x"}, "stop")))
    stream = provider(httpserver.url_for("/v1"), sleeps).stream(ask())
    assert httpserver.log == []
    list(stream)
    assert len(httpserver.log) == 1


# -- failures during the stream: never retried -----------------------------------------------------
class CutServer:
    """Answers every connection with exactly ``response`` and then closes it: a body cut short."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection:
                self.connections += 1
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                length = int(request.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                while len(request.split(b"\r\n\r\n", 1)[1]) < length:
                    request += connection.recv(65536)
                connection.sendall(self.response)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def cut_server() -> Iterator[Callable[[bytes], CutServer]]:
    servers: list[CutServer] = []

    def start(response: bytes) -> CutServer:
        servers.append(CutServer(response))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def headers(**extra: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream", *(f"{k}: {v}" for k, v in extra.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_stream_cut_inside_its_declared_length_is_a_connection_error_after_its_deltas(cut_server, sleeps):
    sent = sse(chunk({"content": "Hel"}), chunk({"content": "lo"}), done=False)
    server = cut_server(headers(**{"Content-Length": str(len(sent) + 500)}) + sent)
    stream = provider(server.url, sleeps).stream(ask())
    assert [next(stream), next(stream)] == [TextDelta("Hel"), TextDelta("lo")]
    with pytest.raises(ProviderError) as caught:
        next(stream)
    assert caught.value.kind == "connection"
    assert server.connections == 1
    assert sleeps.waits == []


def test_a_chunked_stream_cut_mid_chunk_is_a_connection_error(cut_server, sleeps):
    event = sse(chunk({"content": "Hello"}), done=False)
    body = f"{len(event):x}\r\n".encode() + event + b"\r\n" + b'400\r\ndata: {"id"'
    server = cut_server(headers(**{"Transfer-Encoding": "chunked"}) + body)
    events: list[StreamEvent] = []
    with pytest.raises(ProviderError) as caught:
        events.extend(provider(server.url, sleeps).stream(ask()))
    assert events == [TextDelta("Hello")]
    assert caught.value.kind == "connection"
    assert server.connections == 1


def test_a_chunked_keep_alive_stream_is_read_to_its_done(cut_server, sleeps):
    # As OpenAI answers: HTTP/1.1, chunked, and the connection left open after the last chunk.
    events = [
        sse(chunk({"content": "Hel"}), done=False),
        sse(chunk({"content": "lo"}, "stop"), usage_chunk()),
    ]
    body = b"".join(f"{len(e):x}\r\n".encode() + e + b"\r\n" for e in events) + b"0\r\n\r\n"
    server = cut_server(headers(**{"Transfer-Encoding": "chunked"}) + body)
    texts, _, result = split(list(provider(server.url, sleeps).stream(ask())))
    assert [t.text for t in texts] == ["Hel", "lo"]
    assert (result.content, result.usage.total_tokens) == ("Hello", 15)


def test_a_stream_that_ends_without_done_is_a_connection_error(cut_server, sleeps):
    server = cut_server(headers(Connection="close") + sse(chunk({"content": "Hi"}, "stop"), done=False))
    with pytest.raises(ProviderError) as caught:
        list(provider(server.url, sleeps).stream(ask()))
    assert caught.value.kind == "connection"
    assert "[DONE]" in caught.value.message
    assert server.connections == 1


def test_a_chunk_that_is_not_json_is_a_bad_response(httpserver: HTTPServer, sleeps):
    answer_streamed(httpserver, sse(chunk({"content": "Hi"}), "{not json"))
    with pytest.raises(ProviderError) as caught:
        list(provider(httpserver.url_for("/v1"), sleeps).stream(ask()))
    assert caught.value.kind == "bad_response"
    assert len(httpserver.log) == 1


def test_an_error_chunk_mid_stream_is_a_provider_error_without_the_key(httpserver: HTTPServer, sleeps):
    failure = {"error": {"message": f"Upstream failed for key {SECRET}", "type": "server_error"}}
    answer_streamed(httpserver, sse(chunk({"content": "Hi"}), failure))
    events: list[StreamEvent] = []
    with pytest.raises(ProviderError) as caught:
        events.extend(provider(httpserver.url_for("/v1"), sleeps).stream(ask()))
    assert events == [TextDelta("Hi")]
    assert caught.value.kind == "http_error"
    assert "Upstream failed" in caught.value.message
    assert SECRET not in caught.value.message


def test_a_stream_that_goes_silent_is_a_timeout(httpserver: HTTPServer, sleeps):
    released = threading.Event()

    def stall(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield sse(chunk({"content": "Hi"}), done=False)
            released.wait(5)
            yield sse(chunk({}, "stop"))

        return Response(body(), content_type="text/event-stream")

    httpserver.expect_request(PATH).respond_with_handler(stall)
    events: list[StreamEvent] = []
    try:
        with pytest.raises(ProviderError) as caught:
            events.extend(provider(httpserver.url_for("/v1"), sleeps, read_timeout=0.3).stream(ask()))
    finally:
        released.set()
    assert events == [TextDelta("Hi")]
    assert caught.value.kind == "timeout"
    assert sleeps.waits == []


def test_a_stream_longer_than_the_total_timeout_is_stopped(httpserver: HTTPServer, sleeps):
    answer_streamed(httpserver, sse(*(chunk({"content": f"{n} "}) for n in range(50)), chunk({}, "stop")))
    ticks = iter(range(0, 10_000, 5))  # every look at the clock is 5 s later
    slow = provider(httpserver.url_for("/v1"), sleeps, total_timeout=75, clock=lambda: float(next(ticks)))
    events: list[StreamEvent] = []
    with pytest.raises(ProviderError) as caught:
        events.extend(slow.stream(ask()))
    assert caught.value.kind == "timeout"
    assert "75 s" in caught.value.message
    assert 0 < len(events) < 50
