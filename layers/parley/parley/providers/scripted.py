"""Scripted replies: a deterministic stand-in for a model, for tests and offline demos only.

It calls no model and needs no network or key, so a fresh deployment (or the devstack) can hold a real
conversation out of the box, and tests can drive every path of the turn pipeline. The same request
always gets the same reply: there is no randomness anywhere.

``options.script`` is an optional list of rules, tried in order against the last user message::

    {"match": "<regex>",            # re.search on the last user message; missing or "" matches anything
     "reply": "<text>",             # may use {message}, the last user message
     "tool_calls": [{"name": "...", "arguments": {...}}],
     "error": "<ProviderError kind>",  # fail instead of answering
     "delay_ms": 1500,              # wait first (at most 30 s): for cancellation and long-poll tests
     "stream_delay_ms": 200}        # ``stream`` only: wait between deltas (at most 30 s each)

The first matching rule wins; with none, the reply comes from the prompt's sources or memories when it
carries them (``scripted_answers.grounded_reply``), else it is ``You said: <last user message>``. When the
request ends with the results of the assistant's last tool call, the reply summarises them instead,
so a tool loop always terminates. Usage counts whitespace-separated tokens of the input and output.

A request for ``purpose="follow_ups"`` is answered with JSON questions about the last exchange, as many
as the system prompt asks for (``scripted_answers.follow_ups``).

A request for ``purpose="memory"`` is answered with JSON facts about the user, taken by fixed rules from
the user's first-person statements, updating a known memory of the same subject rather than repeating it
(``scripted_memory.extract``, whose docstring lists the rules).

``stream`` gives the very reply ``complete`` gives: a reply's text in word-sized deltas (whitespace kept,
so they join into the reply exactly), then each tool call's JSON arguments in two fragments or more,
then the ChatResult. Between deltas it waits ``stream_delay_ms``: the rule's, else the provider's
``options.stream_delay_ms`` (both 0 unless set), so that tests can watch deltas arrive over time. A
memory or follow-ups request is not a reply anyone watches: its stream is the ChatResult alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from parley.providers import scripted_answers, scripted_memory
from parley.providers.base import (
    ERROR_KINDS,
    ChatMessage,
    ChatRequest,
    ChatResult,
    ProviderError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

MAX_DELAY_MS = 30_000
MODEL = "scripted"
# The longest piece of a call's arguments a delta carries (the JSON always comes in two pieces or more).
ARGUMENTS_FRAGMENT_CHARS = 16


class ScriptedProvider:
    def __init__(
        self,
        script: Sequence[Mapping[str, Any]] = (),
        *,
        sleep: Callable[[float], None] = time.sleep,
        stream_delay_ms: int = 0,
    ) -> None:
        self._script = list(script)
        self._sleep = sleep
        self._stream_delay_ms = _milliseconds(stream_delay_ms, "options.stream_delay_ms")

    @classmethod
    def from_record(cls, record: Mapping[str, Any], secret: str | None = None) -> ScriptedProvider:
        options = record.get("options") or {}
        script = options.get("script") or []
        if not isinstance(script, list) or not all(isinstance(rule, dict) for rule in script):
            raise ProviderError("configuration", "options.script must be a list of rules.")
        return cls(script, stream_delay_ms=options.get("stream_delay_ms") or 0)

    def complete(self, request: ChatRequest) -> ChatResult:
        return self._answer(request)[0]

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        result, rule = self._answer(request)
        if request.purpose == "reply":
            pause = self._stream_delay_ms
            if rule is not None and rule.get("stream_delay_ms") is not None:
                pause = _milliseconds(rule["stream_delay_ms"], "A script rule's stream_delay_ms")
            for position, delta in enumerate(_deltas(result)):
                if position and pause:
                    self._sleep(pause / 1000)
                yield delta
        yield result

    def _answer(self, request: ChatRequest) -> tuple[ChatResult, Mapping[str, Any] | None]:
        """The result, and the rule that made it (None when no rule did)."""
        if request.purpose == "memory":
            return _result(request, scripted_memory.extract(request.messages)), None
        if request.purpose == "follow_ups":
            return _result(request, scripted_answers.follow_ups(request.messages)), None
        said = _last_user_message(request.messages)
        results = _tool_results_after_last_call(request.messages)
        if results is not None:
            return _result(request, _summary(results)), None
        index, rule = self._matching_rule(said)
        if rule is None:
            grounded = scripted_answers.grounded_reply(request.messages, said)
            return _result(request, grounded if grounded is not None else f"You said: {said}"), None
        delay_ms = _milliseconds(rule.get("delay_ms") or 0, f"Script rule {index}: delay_ms")
        if delay_ms:
            self._sleep(delay_ms / 1000)
        if rule.get("error"):
            kind = rule["error"]
            if kind not in ERROR_KINDS:
                raise ProviderError("configuration", f"Script rule {index}: unknown error kind {kind!r}.")
            raise ProviderError(kind, f"Scripted {kind} error (rule {index}).")
        reply = str(rule.get("reply") or "").replace("{message}", said)
        calls = tuple(
            ToolCall(
                id=_call_id(request, index, position),
                name=str(call["name"]),
                arguments=dict(call.get("arguments") or {}),
            )
            for position, call in enumerate(rule.get("tool_calls") or [])
        )
        if not calls and "reply" not in rule:
            reply = f"You said: {said}"
        return _result(request, reply, calls), rule

    def _matching_rule(self, said: str) -> tuple[int, Mapping[str, Any] | None]:
        for index, rule in enumerate(self._script):
            pattern = rule.get("match") or ""
            try:
                if re.search(pattern, said):
                    return index, rule
            except re.error as exc:
                raise ProviderError("configuration", f"Script rule {index}: invalid regex ({exc}).") from exc
        return -1, None


def _milliseconds(value: Any, name: str) -> int:
    """A wait in milliseconds, within 0 and MAX_DELAY_MS."""
    try:
        milliseconds = int(value)
    except (TypeError, ValueError) as exc:
        raise ProviderError("configuration", f"{name} must be a number of milliseconds.") from exc
    return min(max(milliseconds, 0), MAX_DELAY_MS)


def _deltas(result: ChatResult) -> Iterator[TextDelta | ToolCallDelta]:
    """The result as a model would stream it: its text word by word, each call's arguments in pieces."""
    # Each word with the whitespace after it (and any leading whitespace alone): they join into the text.
    for word in re.findall(r"\S+\s*|\s+", result.content):
        yield TextDelta(word)
    for position, call in enumerate(result.tool_calls):
        arguments = json.dumps(call.arguments)
        size = min(ARGUMENTS_FRAGMENT_CHARS, max(1, len(arguments) // 2))
        for start in range(0, len(arguments), size):
            first = start == 0
            yield ToolCallDelta(
                position,
                call.id if first else None,
                call.name if first else None,
                arguments[start : start + size],
            )


def _last_user_message(messages: Sequence[ChatMessage]) -> str:
    return next((m.content for m in reversed(messages) if m.role == "user"), "")


def _tool_results_after_last_call(messages: Sequence[ChatMessage]) -> list[tuple[str, str]] | None:
    """(tool name, result) of the tool messages that end the request, answering the assistant's
    last tool call; None if the request does not end that way (e.g. a newer user message follows)."""
    position = len(messages)
    while position > 0 and messages[position - 1].role == "tool":
        position -= 1
    if position == len(messages) or position == 0:
        return None
    caller = messages[position - 1]
    if caller.role != "assistant" or not caller.tool_calls:
        return None
    names = {call.id: call.name for call in caller.tool_calls}
    return [(names.get(m.tool_call_id or "", "tool"), m.content) for m in messages[position:]]


def _summary(results: list[tuple[str, str]]) -> str:
    return "Tool results: " + "; ".join(f"{name}: {content}" for name, content in results)


def _call_id(request: ChatRequest, rule: int, position: int) -> str:
    """Deterministic, and different for every point of a conversation (ids must not repeat in one)."""
    seed = json.dumps(
        [[m.role, m.content, m.tool_call_id] for m in request.messages] + [rule, position],
        separators=(",", ":"),
    )
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _tokens(text: str) -> int:
    return len(text.split())


def _result(request: ChatRequest, reply: str, calls: tuple[ToolCall, ...] = ()) -> ChatResult:
    return ChatResult(
        content=reply,
        tool_calls=calls,
        usage=Usage(
            input_tokens=sum(_tokens(m.content) for m in request.messages),
            output_tokens=_tokens(reply),
        ),
        finish_reason="tool_calls" if calls else "stop",
        model=request.model or MODEL,
    )
