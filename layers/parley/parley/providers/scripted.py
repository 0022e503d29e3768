"""Scripted replies: a deterministic stand-in for a model, for tests and offline demos only.

It calls no model and needs no network or key, so a fresh deployment (or the devstack) can hold a real
conversation out of the box, and tests can drive every path of the turn pipeline. The same request
always gets the same reply: there is no randomness anywhere.

``options.script`` is an optional list of rules, tried in order against the last user message::

    {"match": "<regex>",            # re.search on the last user message; missing or "" matches anything
     "reply": "<text>",             # may use {message}, the last user message
     "tool_calls": [{"name": "...", "arguments": {...}}],
     "error": "<ProviderError kind>",  # fail instead of answering
     "delay_ms": 1500}              # wait first (at most 30 s): for cancellation and long-poll tests

The first matching rule wins; with none, the reply comes from the prompt's sources or memories when it
carries them (``scripted_answers.grounded_reply``), else it is ``You said: <last user message>``. When the
request ends with the results of the assistant's last tool call, the reply summarises them instead,
so a tool loop always terminates. Usage counts whitespace-separated tokens of the input and output.

A request for ``purpose="follow_ups"`` is answered with JSON questions about the last exchange, as many
as the system prompt asks for (``scripted_answers.follow_ups``).

A request for ``purpose="memory"`` is answered with JSON facts about the user, taken by fixed rules from
the user's first-person statements, updating a known memory of the same subject rather than repeating it
(``scripted_memory.extract``, whose docstring lists the rules).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from parley.providers import scripted_answers, scripted_memory
from parley.providers.base import (
    ERROR_KINDS,
    ChatMessage,
    ChatRequest,
    ChatResult,
    ProviderError,
    ToolCall,
    Usage,
)

MAX_DELAY_MS = 30_000
MODEL = "scripted"


class ScriptedProvider:
    def __init__(
        self, script: Sequence[Mapping[str, Any]] = (), *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._script = list(script)
        self._sleep = sleep

    @classmethod
    def from_record(cls, record: Mapping[str, Any], secret: str | None = None) -> ScriptedProvider:
        script = (record.get("options") or {}).get("script") or []
        if not isinstance(script, list) or not all(isinstance(rule, dict) for rule in script):
            raise ProviderError("configuration", "options.script must be a list of rules.")
        return cls(script)

    def complete(self, request: ChatRequest) -> ChatResult:
        if request.purpose == "memory":
            return _result(request, scripted_memory.extract(request.messages))
        if request.purpose == "follow_ups":
            return _result(request, scripted_answers.follow_ups(request.messages))
        said = _last_user_message(request.messages)
        results = _tool_results_after_last_call(request.messages)
        if results is not None:
            return _result(request, _summary(results))
        index, rule = self._matching_rule(said)
        if rule is None:
            grounded = scripted_answers.grounded_reply(request.messages, said)
            return _result(request, grounded if grounded is not None else f"You said: {said}")
        delay_ms = min(max(int(rule.get("delay_ms") or 0), 0), MAX_DELAY_MS)
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
        return _result(request, reply, calls)

    def _matching_rule(self, said: str) -> tuple[int, Mapping[str, Any] | None]:
        for index, rule in enumerate(self._script):
            pattern = rule.get("match") or ""
            try:
                if re.search(pattern, said):
                    return index, rule
            except re.error as exc:
                raise ProviderError("configuration", f"Script rule {index}: invalid regex ({exc}).") from exc
        return -1, None


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
