"""The Bedrock provider's stream (ConverseStream).

botocore's Stubber cannot stand in for it: it validates ``stream`` as a dict, and an EventStream is not
one. So most tests feed ``stream_events`` (or the provider, through a client double) event dicts exactly
as botocore's EventStream yields them, and a few run a real boto3 client against a loopback server that
answers real ``application/vnd.amazon.eventstream`` frames, which botocore itself decodes.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Generator, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from pytest_httpserver import HTTPServer
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from parley.providers import bedrock
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
from parley.providers.bedrock import BedrockProvider, parse_response, stream_events

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
WEATHER = ToolSpec("weather", "Weather now", {"type": "object", "properties": {"city": {"type": "string"}}})
USAGE = {"inputTokens": 21, "outputTokens": 9, "totalTokens": 30}


def ask(**fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL, messages=[ChatMessage("user", "Weather in Oslo?")], **fields)


# -- events as botocore yields them ----------------------------------------------------------------
def text(index: int, piece: str) -> dict[str, Any]:
    return {"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": index}}


def tool_start(index: int, tool_use_id: str, name: str) -> dict[str, Any]:
    return {
        "contentBlockStart": {
            "start": {"toolUse": {"toolUseId": tool_use_id, "name": name}},
            "contentBlockIndex": index,
        }
    }


def tool_input(index: int, piece: str) -> dict[str, Any]:
    return {"contentBlockDelta": {"delta": {"toolUse": {"input": piece}}, "contentBlockIndex": index}}


def stop(index: int) -> dict[str, Any]:
    return {"contentBlockStop": {"contentBlockIndex": index}}


def message(*blocks: dict[str, Any], stop_reason: str = "end_turn") -> list[dict[str, Any]]:
    return [
        {"messageStart": {"role": "assistant"}},
        *blocks,
        {"messageStop": {"stopReason": stop_reason}},
        {"metadata": {"usage": USAGE, "metrics": {"latencyMs": 310}}},
    ]


def converse_response(*content: dict[str, Any], stop_reason: str = "end_turn") -> dict[str, Any]:
    """What converse answers for the same reply."""
    return {
        "output": {"message": {"role": "assistant", "content": list(content)}},
        "stopReason": stop_reason,
        "usage": USAGE,
        "metrics": {"latencyMs": 310},
    }


def split(events: list[StreamEvent]) -> tuple[list[TextDelta], list[ToolCallDelta], ChatResult]:
    assert isinstance(events[-1], ChatResult)
    assert not any(isinstance(event, ChatResult) for event in events[:-1])
    return (
        [e for e in events if isinstance(e, TextDelta)],
        [e for e in events if isinstance(e, ToolCallDelta)],
        events[-1],
    )


TEXT_AND_TWO_CALLS = message(
    text(0, "Checking"),
    text(0, " both."),
    stop(0),
    tool_start(1, "tu_1", "weather"),
    tool_input(1, '{"city": '),
    tool_input(1, '"Oslo"}'),
    stop(1),
    tool_start(2, "tu_2", "weather"),
    tool_input(2, '{"city": "Paris"}'),
    stop(2),
    stop_reason="tool_use",
)


def test_text_and_tool_input_become_deltas_and_the_result_is_the_one_converse_gives():
    texts, calls, result = split(list(stream_events(TEXT_AND_TWO_CALLS, MODEL)))
    assert [t.text for t in texts] == ["Checking", " both."]
    assert calls == [
        ToolCallDelta(0, "tu_1", "weather", ""),
        ToolCallDelta(0, None, None, '{"city": '),
        ToolCallDelta(0, None, None, '"Oslo"}'),
        ToolCallDelta(1, "tu_2", "weather", ""),
        ToolCallDelta(1, None, None, '{"city": "Paris"}'),
    ]
    assert result == parse_response(
        converse_response(
            {"text": "Checking both."},
            {"toolUse": {"toolUseId": "tu_1", "name": "weather", "input": {"city": "Oslo"}}},
            {"toolUse": {"toolUseId": "tu_2", "name": "weather", "input": {"city": "Paris"}}},
            stop_reason="tool_use",
        ),
        MODEL,
    )
    assert (result.finish_reason, result.usage.input_tokens, result.usage.output_tokens) == (
        "tool_calls",
        21,
        9,
    )
    assert result.model == MODEL


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ],
)
def test_the_stop_reason_is_mapped_as_complete_maps_it(stop_reason: str, finish_reason: str):
    _, _, result = split(list(stream_events(message(text(0, "Hi"), stop_reason=stop_reason))))
    assert result.finish_reason == finish_reason
    assert result == parse_response(converse_response({"text": "Hi"}, stop_reason=stop_reason))


@pytest.mark.parametrize("stop_reason", ["malformed_model_output", "malformed_tool_use"])
def test_a_malformed_stop_is_a_bad_response(stop_reason: str):
    with pytest.raises(ProviderError) as caught:
        list(stream_events(message(text(0, "Hi"), stop_reason=stop_reason)))
    assert caught.value.kind == "bad_response"


def test_a_tool_without_input_has_empty_arguments():
    events = message(tool_start(0, "tu_1", "clock"), stop(0), stop_reason="tool_use")
    _, calls, result = split(list(stream_events(events)))
    assert calls == [ToolCallDelta(0, "tu_1", "clock", "")]
    assert (result.tool_calls[0].arguments, result.tool_calls[0].arguments_error) == ({}, None)


@pytest.mark.parametrize(
    ("pieces", "reason", "raw"),
    [
        (
            ['{"city": ', '"Oslo"'],
            "not valid JSON: Expecting ',' delimiter at character 15",
            '{"city": "Oslo"',
        ),
        (['["Os', 'lo"]'], "a JSON array, not an object", '["Oslo"]'),
    ],
)
def test_input_that_is_not_an_object_is_an_arguments_error(pieces: list[str], reason: str, raw: str):
    blocks = [tool_start(0, "tu_1", "weather"), *(tool_input(0, p) for p in pieces), stop(0)]
    _, _, result = split(list(stream_events(message(*blocks, stop_reason="tool_use"))))
    call = result.tool_calls[0]
    assert (call.arguments, call.arguments_error, call.raw_arguments) == ({}, reason, raw)


def test_a_tool_use_without_a_name_is_a_bad_response():
    with pytest.raises(ProviderError) as caught:
        list(stream_events(message(tool_start(0, "tu_1", ""), stop(0))))
    assert caught.value.kind == "bad_response"


def test_without_tools_offered_calls_are_neither_streamed_nor_kept():
    texts, calls, result = split(list(stream_events(TEXT_AND_TWO_CALLS, MODEL, tools_offered=False)))
    assert [t.text for t in texts] == ["Checking", " both."]
    assert calls == []
    assert (result.tool_calls, result.finish_reason) == ((), "stop")


@pytest.mark.parametrize(
    ("member", "kind", "retryable"),
    [
        ("internalServerException", "http_error", True),
        ("modelStreamErrorException", "http_error", True),
        ("throttlingException", "rate_limited", True),
        ("validationException", "configuration", False),
        ("serviceUnavailableException", "http_error", True),
    ],
)
def test_an_exception_event_mid_stream_is_a_provider_error(member: str, kind: str, retryable: bool):
    events: list[StreamEvent] = []
    with pytest.raises(ProviderError) as caught:
        events.extend(stream_events([text(0, "Hel"), {member: {"message": "it broke"}}, text(0, "lo")]))
    assert events == [TextDelta("Hel")]
    assert (caught.value.kind, caught.value.retryable) == (kind, retryable)
    assert "it broke" in caught.value.message


def test_a_stream_that_ends_before_message_stop_is_a_connection_error():
    with pytest.raises(ProviderError) as caught:
        list(stream_events([{"messageStart": {"role": "assistant"}}, text(0, "Hel")]))
    assert caught.value.kind == "connection"


def test_unknown_events_and_other_deltas_are_skipped():
    reasoning = {
        "contentBlockDelta": {"delta": {"reasoningContent": {"text": "hmm"}}, "contentBlockIndex": 0}
    }
    events = message(reasoning, {"someFutureEvent": {}}, text(1, "Hi"))
    texts, _, result = split(list(stream_events(events)))
    assert [t.text for t in texts] == ["Hi"]
    assert result.content == "Hi"


# -- the provider, with a client double ------------------------------------------------------------
class FakeEventStream:
    """Yields the given events, then raises ``failure`` if there is one, as botocore's EventStream would."""

    def __init__(self, events: list[dict[str, Any]], failure: Exception | None = None) -> None:
        self.events, self.failure, self.closed = events, failure, False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self.events
        if self.failure is not None:
            raise self.failure

    def close(self) -> None:
        self.closed = True


class FakeRuntime:
    def __init__(self, stream: FakeEventStream) -> None:
        self.stream = stream
        self.requests: list[dict[str, Any]] = []

    def converse_stream(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"stream": self.stream, "ResponseMetadata": {"HTTPStatusCode": 200}}


def test_the_provider_sends_the_converse_request_and_closes_the_stream():
    runtime = FakeRuntime(FakeEventStream(TEXT_AND_TWO_CALLS))
    request = ask(tools=[WEATHER], max_tokens=100)
    _, _, result = split(list(BedrockProvider("us-east-1", client=runtime).stream(request)))
    assert runtime.requests == [bedrock.converse_request(request)]
    assert runtime.stream.closed
    assert [c.arguments for c in result.tool_calls] == [{"city": "Oslo"}, {"city": "Paris"}]


def test_a_caller_that_stops_reading_closes_the_stream():
    runtime = FakeRuntime(FakeEventStream(TEXT_AND_TWO_CALLS))
    stream = BedrockProvider("us-east-1", client=runtime).stream(ask())
    assert isinstance(stream, Generator)  # Provider.stream promises an Iterator; this one can be closed
    assert next(stream) == TextDelta("Checking")
    stream.close()
    assert runtime.stream.closed


def test_tool_choice_none_drops_calls_from_the_stream():
    runtime = FakeRuntime(FakeEventStream(TEXT_AND_TWO_CALLS))
    events = list(
        BedrockProvider("us-east-1", client=runtime).stream(ask(tools=[WEATHER], tool_choice="none"))
    )
    _, calls, result = split(events)
    assert (calls, result.tool_calls) == ([], ())


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (ReadTimeoutError(None, "/model", "Read timed out."), "timeout"),  # type: ignore[arg-type]
        (ProtocolError("Connection broken: IncompleteRead"), "connection"),
    ],
)
def test_a_read_that_fails_mid_stream_is_a_provider_error(failure: Exception, kind: str):
    runtime = FakeRuntime(FakeEventStream([text(0, "Hel")], failure))
    events: list[StreamEvent] = []
    with pytest.raises(ProviderError) as caught:
        events.extend(BedrockProvider("us-east-1", client=runtime).stream(ask()))
    assert events == [TextDelta("Hel")]
    assert caught.value.kind == kind
    assert runtime.stream.closed


# -- a real boto3 client against real event-stream frames ------------------------------------------
def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (lengths, CRC), string headers, payload, message CRC."""
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event_frame(event: dict[str, Any]) -> bytes:
    ((name, body),) = event.items()
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, json.dumps({**body, "p": "abcdef"}).encode())  # Bedrock pads events with "p"


def exception_frame(name: str, message: str) -> bytes:
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, json.dumps({"message": message}).encode())


@pytest.fixture
def loopback(httpserver: HTTPServer) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=httpserver.url_for(""),
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"total_max_attempts": 1}),
    )


STREAM_PATH = re.compile(r"^/model/[^/]+/converse-stream$")


def answer_frames(server: HTTPServer, body: bytes, status: int = 200) -> None:
    server.expect_request(STREAM_PATH, method="POST").respond_with_data(
        body, status=status, content_type="application/vnd.amazon.eventstream"
    )


def test_real_frames_decoded_by_botocore_give_the_same_deltas_and_result(httpserver, loopback):
    answer_frames(httpserver, b"".join(event_frame(e) for e in TEXT_AND_TWO_CALLS))
    request = ask(tools=[WEATHER])
    events = list(BedrockProvider("us-east-1", client=loopback).stream(request))
    assert events == list(stream_events(TEXT_AND_TWO_CALLS, MODEL))
    sent = httpserver.log[0][0]
    assert sent.path == f"/model/{MODEL}/converse-stream"
    converse = bedrock.converse_request(request)
    assert json.loads(sent.get_data()) == {k: v for k, v in converse.items() if k != "modelId"}


def test_an_exception_frame_mid_stream_is_raised_by_botocore_and_mapped(httpserver, loopback):
    frames = [
        event_frame(text(0, "Hel")),
        exception_frame("throttlingException", "Too many tokens"),
        event_frame(text(0, "lo")),
    ]
    answer_frames(httpserver, b"".join(frames))
    events: list[StreamEvent] = []
    with pytest.raises(ProviderError) as caught:
        events.extend(BedrockProvider("us-east-1", client=loopback).stream(ask()))
    assert events == [TextDelta("Hel")]
    assert (caught.value.kind, caught.value.retryable) == ("rate_limited", True)
    assert "Too many tokens" in caught.value.message


def test_a_model_stream_error_frame_is_a_retryable_http_error(httpserver, loopback):
    answer_frames(httpserver, exception_frame("modelStreamErrorException", "The model stopped"))
    with pytest.raises(ProviderError) as caught:
        list(BedrockProvider("us-east-1", client=loopback).stream(ask()))
    assert (caught.value.kind, caught.value.retryable) == ("http_error", True)


def test_an_error_before_the_stream_is_mapped_as_converse_maps_it(httpserver, loopback):
    httpserver.expect_request(STREAM_PATH).respond_with_json(
        {"message": "The provided model identifier is invalid."},
        status=400,
        headers={"x-amzn-ErrorType": "ValidationException"},
    )
    with pytest.raises(ProviderError) as caught:
        list(BedrockProvider("us-east-1", client=loopback).stream(ask()))
    assert (caught.value.kind, caught.value.retryable, caught.value.status) == ("configuration", False, 400)
    assert "model identifier is invalid" in caught.value.message


def test_a_body_cut_before_message_stop_is_a_connection_error(httpserver, loopback):
    whole = event_frame(text(0, "Hel"))
    answer_frames(httpserver, whole + event_frame(text(0, "lo"))[:20])
    events: list[StreamEvent] = []
    with pytest.raises(ProviderError) as caught:
        events.extend(BedrockProvider("us-east-1", client=loopback).stream(ask()))
    assert events == [TextDelta("Hel")]
    assert caught.value.kind == "connection"


def test_a_damaged_frame_is_a_bad_response(httpserver, loopback):
    damaged = bytearray(event_frame(text(0, "Hello")))
    damaged[-6] ^= 0xFF  # a payload byte: the message CRC no longer matches
    answer_frames(httpserver, bytes(damaged))
    with pytest.raises(ProviderError) as caught:
        list(BedrockProvider("us-east-1", client=loopback).stream(ask()))
    assert caught.value.kind == "bad_response"
