"""The scripted provider's stream: the reply ``complete`` gives, in word-sized deltas, then the result."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.providers import build_provider
from parley.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    ProviderError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    stream_of,
)
from parley.providers.scripted import MAX_DELAY_MS, ScriptedProvider


def ask(*texts: str, purpose: Any = "reply") -> ChatRequest:
    messages = [ChatMessage("system", "You are terse.")] + [ChatMessage("user", t) for t in texts]
    return ChatRequest(model="scripted", messages=messages, purpose=purpose)


def scripted(*rules: dict[str, Any], sleeps: list[float] | None = None, **options: Any) -> ScriptedProvider:
    return ScriptedProvider(list(rules), sleep=(sleeps if sleeps is not None else []).append, **options)


def texts(events: list[StreamEvent]) -> list[str]:
    return [event.text for event in events if isinstance(event, TextDelta)]


def final(events: list[StreamEvent]) -> ChatResult:
    results = [event for event in events if isinstance(event, ChatResult)]
    assert len(results) == 1
    assert events[-1] is results[0]
    return results[0]


RULES: list[dict[str, Any]] = [
    {"match": "^quote", "reply": "You wrote: {message}"},
    {"match": "^spaces", "reply": "  two  spaces,\ttab and\nnewline  "},
    {"match": "^empty", "reply": ""},
    {"match": "^weather", "reply": "Checking.", "tool_calls": [{"name": "weather", "arguments": {"c": 1}}]},
]


@pytest.mark.parametrize(
    "said", ["quote me on this", "spaces", "empty", "weather in Oslo?", "no rule matches this one"]
)
def test_the_deltas_join_into_exactly_the_reply_complete_gives(said: str):
    provider = scripted(*RULES)
    events = list(provider.stream(ask(said)))
    assert "".join(texts(events)) == provider.complete(ask(said)).content
    assert final(events) == provider.complete(ask(said))


def test_text_comes_word_by_word_with_its_whitespace():
    events = list(scripted(*RULES).stream(ask("spaces")))
    assert texts(events) == ["  ", "two  ", "spaces,\t", "tab ", "and\n", "newline  "]


def test_an_empty_reply_is_the_result_alone():
    events = list(scripted(*RULES).stream(ask("empty")))
    assert events == [scripted(*RULES).complete(ask("empty"))]


def test_tool_calls_follow_the_text_with_their_arguments_in_fragments():
    arguments = {"city": "Oslo", "days": 3, "units": {"temperature": "celsius"}}
    provider = scripted(
        {
            "match": "weather",
            "reply": "Let me look.",
            "tool_calls": [{"name": "weather", "arguments": arguments}, {"name": "clock", "arguments": {}}],
        }
    )
    events = list(provider.stream(ask("weather in Oslo?")))
    result = final(events)
    assert result == provider.complete(ask("weather in Oslo?"))
    calls = [event for event in events if isinstance(event, ToolCallDelta)]
    assert events.index(calls[0]) > max(events.index(t) for t in events if isinstance(t, TextDelta))
    for position, call in enumerate(result.tool_calls):
        fragments = [delta for delta in calls if delta.index == position]
        assert len(fragments) >= 2
        assert (fragments[0].id, fragments[0].name) == (call.id, call.name)
        assert all((f.id, f.name) == (None, None) for f in fragments[1:])
        assert json.loads("".join(f.arguments_fragment for f in fragments)) == call.arguments
    assert [delta.index for delta in calls] == sorted(delta.index for delta in calls)


def test_a_tool_loop_summary_is_streamed_too():
    provider = scripted({"match": "weather", "tool_calls": [{"name": "weather", "arguments": {}}]})
    first = provider.complete(ask("weather?"))
    follow = ChatRequest(
        model="scripted",
        messages=[
            *ask("weather?").messages,
            ChatMessage("assistant", "", tool_calls=first.tool_calls),
            ChatMessage("tool", "Sunny, 21 C", tool_call_id=first.tool_calls[0].id),
        ],
    )
    events = list(provider.stream(follow))
    assert "".join(texts(events)) == "Tool results: weather: Sunny, 21 C"
    assert final(events) == provider.complete(follow)


def test_a_rule_stream_delay_waits_between_deltas_and_only_between_them():
    sleeps: list[float] = []
    provider = scripted({"match": "", "reply": "one two three", "stream_delay_ms": 250}, sleeps=sleeps)
    stream = provider.stream(ask("hi"))
    assert next(stream) == TextDelta("one ")
    assert sleeps == []  # the first delta comes at once
    assert next(stream) == TextDelta("two ")
    assert sleeps == [0.25]
    rest = list(stream)
    assert rest[0] == TextDelta("three")
    assert isinstance(rest[-1], ChatResult)
    assert sleeps == [0.25, 0.25]


def test_the_provider_default_applies_unless_a_rule_sets_its_own():
    sleeps: list[float] = []
    provider = scripted(
        {"match": "^fast", "reply": "a b c", "stream_delay_ms": 0},
        sleeps=sleeps,
        stream_delay_ms=100,
    )
    list(provider.stream(ask("slow down please")))  # no rule: "You said: slow down please", 5 words
    assert sleeps == [0.1] * 4
    sleeps.clear()
    list(provider.stream(ask("fast")))
    assert sleeps == []


def test_the_default_comes_from_the_record_options_and_complete_never_waits_for_it():
    provider = build_provider(
        {"kind": "scripted", "options": {"stream_delay_ms": 40, "script": [{"reply": "x y"}]}}, None
    )
    assert isinstance(provider, ScriptedProvider)
    sleeps: list[float] = []
    provider._sleep = sleeps.append
    provider.complete(ask("hi"))
    assert sleeps == []
    list(provider.stream(ask("hi")))
    assert sleeps == [0.04]


def test_a_stream_delay_is_bounded_like_delay_ms_and_must_be_a_number():
    sleeps: list[float] = []
    list(scripted({"reply": "a b", "stream_delay_ms": 10**9}, sleeps=sleeps).stream(ask("hi")))
    assert sleeps == [MAX_DELAY_MS / 1000]
    with pytest.raises(ProviderError) as caught:
        list(scripted({"reply": "a b", "stream_delay_ms": "soon"}).stream(ask("hi")))
    assert caught.value.kind == "configuration"
    with pytest.raises(ProviderError):
        ScriptedProvider(stream_delay_ms="later")  # type: ignore[arg-type]


def test_delay_ms_still_waits_once_before_the_first_delta():
    sleeps: list[float] = []
    stream = scripted({"reply": "a b", "delay_ms": 1500, "stream_delay_ms": 10}, sleeps=sleeps).stream(
        ask("x")
    )
    assert next(stream) == TextDelta("a ")
    assert sleeps == [1.5]
    list(stream)
    assert sleeps == [1.5, 0.01]


def test_an_error_rule_fails_before_any_delta():
    stream = scripted({"match": "", "error": "rate_limited"}).stream(ask("hi"))
    with pytest.raises(ProviderError) as caught:
        next(stream)
    assert caught.value.kind == "rate_limited"


@pytest.mark.parametrize("purpose", ["memory", "follow_ups"])
def test_memory_and_follow_up_requests_stream_the_result_alone(purpose: str):
    sleeps: list[float] = []
    provider = scripted(sleeps=sleeps, stream_delay_ms=100)
    request = ask("I live in Oslo and I like tea.", purpose=purpose)
    assert list(provider.stream(request)) == [provider.complete(request)]
    assert sleeps == []


def test_stream_of_uses_the_scripted_stream():
    events = list(stream_of(scripted(), ask("hello there")))
    assert texts(events) == ["You ", "said: ", "hello ", "there"]
    assert final(events).content == "You said: hello there"
