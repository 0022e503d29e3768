"""The scripted provider: deterministic replies for tests and offline demos."""

from __future__ import annotations

import pytest

from parley.providers import build_provider
from parley.providers.base import ChatMessage, ChatRequest, ProviderError, ToolCall
from parley.providers.bedrock import BedrockProvider
from parley.providers.openai import OpenAIProvider
from parley.providers.scripted import ScriptedProvider


def ask(*texts: str) -> ChatRequest:
    messages = [ChatMessage("system", "You are terse.")] + [ChatMessage("user", t) for t in texts]
    return ChatRequest(model="scripted", messages=messages)


def scripted(*rules: dict, sleeps: list[float] | None = None) -> ScriptedProvider:
    return ScriptedProvider(list(rules), sleep=(sleeps if sleeps is not None else []).append)


def test_without_a_script_it_echoes_the_last_user_message_and_counts_tokens():
    result = scripted().complete(ask("first", "hello there"))
    assert result.content == "You said: hello there"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (3 + 1 + 2, 4)
    assert (result.finish_reason, result.model, result.tool_calls) == ("stop", "scripted", ())


def test_the_first_matching_rule_wins_and_may_quote_the_message():
    provider = scripted(
        {"match": r"(?i)^hello", "reply": "Hi! You wrote: {message}"},
        {"match": "hello", "reply": "never reached"},
        {"match": "price", "reply": "It costs 3 EUR."},
    )
    assert provider.complete(ask("Hello bot")).content == "Hi! You wrote: Hello bot"
    assert provider.complete(ask("what is the price?")).content == "It costs 3 EUR."
    assert provider.complete(ask("something else")).content == "You said: something else"


def test_a_rule_can_call_tools_and_the_results_end_the_loop_with_a_summary():
    provider = scripted(
        {"match": "weather", "tool_calls": [{"name": "weather", "arguments": {"city": "Oslo"}}]}
    )
    first = provider.complete(ask("weather in Oslo?"))
    assert first.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in first.tool_calls] == [("weather", {"city": "Oslo"})]
    call = first.tool_calls[0]
    assert call.id.startswith("call_")
    follow = ChatRequest(
        model="scripted",
        messages=[
            *ask("weather in Oslo?").messages,
            ChatMessage("assistant", first.content, tool_calls=first.tool_calls),
            ChatMessage("tool", "Sunny, 21 C", tool_call_id=call.id),
        ],
    )
    second = provider.complete(follow)
    assert second.content == "Tool results: weather: Sunny, 21 C"
    assert (second.finish_reason, second.tool_calls) == ("stop", ())


def test_a_rule_can_fail_with_any_provider_error_kind():
    provider = scripted({"match": "boom", "error": "rate_limited"}, {"match": "bad", "error": "bad_response"})
    with pytest.raises(ProviderError) as limited:
        provider.complete(ask("boom"))
    assert (limited.value.kind, limited.value.retryable) == ("rate_limited", True)
    with pytest.raises(ProviderError) as bad:
        provider.complete(ask("bad"))
    assert (bad.value.kind, bad.value.retryable) == ("bad_response", False)


def test_a_delay_waits_first_and_is_bounded_to_thirty_seconds():
    sleeps: list[float] = []
    provider = scripted(
        {"match": "slow", "delay_ms": 1500, "reply": "done"}, {"delay_ms": 90_000}, sleeps=sleeps
    )
    assert provider.complete(ask("slow please")).content == "done"
    assert provider.complete(ask("anything")).content == "You said: anything"
    assert sleeps == [1.5, 30.0]


def test_the_same_request_always_gets_the_same_result():
    rules = [{"match": "x", "reply": "y {message}", "tool_calls": [{"name": "t", "arguments": {"a": 1}}]}]
    results = {repr(ScriptedProvider(rules).complete(ask("x marks", "x again"))) for _ in range(5)}
    assert len(results) == 1
    other_point = ScriptedProvider(rules).complete(ask("x again"))
    assert (
        other_point.tool_calls[0].id
        != ScriptedProvider(rules).complete(ask("x marks", "x again")).tool_calls[0].id
    )


def test_an_invalid_rule_is_a_configuration_error():
    with pytest.raises(ProviderError) as caught:
        scripted({"match": "("}).complete(ask("hi"))
    assert caught.value.kind == "configuration"
    with pytest.raises(ProviderError):
        scripted({"error": "explode"}).complete(ask("hi"))


def test_build_provider_picks_the_kind_of_the_record():
    assert isinstance(build_provider({"kind": "scripted", "options": {"script": []}}, None), ScriptedProvider)
    assert isinstance(
        build_provider({"kind": "openai", "base_url": "http://127.0.0.1:1/v1"}, "k"), OpenAIProvider
    )
    assert isinstance(
        build_provider({"kind": "bedrock", "options": {"region": "us-west-2"}}, None), BedrockProvider
    )
    with pytest.raises(ProviderError) as caught:
        build_provider({"kind": "carrier-pigeon"}, None)
    assert caught.value.kind == "configuration"


def test_tool_results_answered_earlier_do_not_hide_a_new_user_message():
    request = ChatRequest(
        model="scripted",
        messages=[
            ChatMessage("assistant", "", tool_calls=(ToolCall("c1", "t", {}),)),
            ChatMessage("tool", "r", tool_call_id="c1"),
            ChatMessage("assistant", "Tool results: t: r"),
            ChatMessage("user", "thanks"),
        ],
    )
    assert ScriptedProvider().complete(request).content == "You said: thanks"
