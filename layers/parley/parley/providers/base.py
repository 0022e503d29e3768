"""The one protocol every LLM provider speaks: a chat request in, a chat result (or a ProviderError) out.

The turn pipeline builds a ``ChatRequest`` from the agent and the branch history and never learns which
vendor answers it; each kind (``openai``, ``bedrock``, ``scripted``) translates to its own wire format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]
Purpose = Literal["reply", "memory", "follow_ups"]
ErrorKind = Literal[
    "rate_limited", "timeout", "connection", "http_error", "bad_response", "auth", "configuration"
]
ERROR_KINDS: tuple[ErrorKind, ...] = (
    "rate_limited",
    "timeout",
    "connection",
    "http_error",
    "bad_response",
    "auth",
    "configuration",
)
# Worth trying again later: the same request may well succeed (a 5xx is decided by its status).
_RETRYABLE_KINDS = frozenset({"rate_limited", "timeout", "connection"})


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    # the model's arguments could not be read as a JSON object; the loop answers it with a tool error
    arguments_error: str | None = None
    # the arguments exactly as the model wrote them, echoed back to it on the next request
    raw_arguments: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # a JSON schema for the arguments
    strict: bool | None = None  # OpenAI's structured-outputs flag, passed through where a vendor has it


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # on a "tool" message: the call it answers
    is_error: bool = False  # on a "tool" message: the output is an error (Bedrock's toolResult status)


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[ChatMessage]
    tools: list[ToolSpec] = field(default_factory=list)
    # OpenAI's vocabulary: "auto" | "none" | "required" | {"type": "function", "function": {"name": ...}};
    # None leaves it to the vendor's default (auto).
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    seed: int | None = None
    # Vendor-specific request fields, passed through as they are (e.g. top_k for vLLM or Ollama).
    extra: dict[str, Any] = field(default_factory=dict)
    # What the call is for. Real models get only the prompt; the scripted provider answers by purpose:
    # "reply" (the turn's answer), "memory" (JSON {"memories": [{"id": str | null, "memory": str}]}) or
    # "follow_ups" (JSON {"questions": [str]}).
    purpose: Purpose = "reply"


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ChatResult:
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    # One vocabulary for every kind (OpenAI's): stop | length | tool_calls | content_filter.
    finish_reason: str = "stop"
    model: str = ""


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply's text, as the model produced it."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a tool call: ``id`` and ``name`` come with a call's first fragment (None after),
    ``arguments_fragment`` is the next part of its JSON arguments as the model wrote them."""

    index: int  # the call's position in the response
    id: str | None
    name: str | None
    arguments_fragment: str


StreamEvent = TextDelta | ToolCallDelta | ChatResult


class ProviderError(Exception):
    """A model call that did not produce a result. ``message`` never carries API keys or auth headers."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str | None = None,
        *,
        retryable: bool | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.kind: ErrorKind = kind
        self.message = message or f"The model provider failed ({kind})."
        self.retryable = (
            retryable
            if retryable is not None
            else kind in _RETRYABLE_KINDS or (kind == "http_error" and (status or 0) >= 500)
        )
        self.status = status  # the provider's HTTP status, when it answered at all
        self.retry_after = retry_after  # seconds the provider asked us to wait, if it said
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"ProviderError(kind={self.kind!r}, retryable={self.retryable}, message={self.message!r})"


class Provider(Protocol):
    def complete(self, request: ChatRequest) -> ChatResult: ...

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """The reply as it is made: deltas, then exactly one ChatResult, the same one ``complete``
        would return (content is the deltas' text joined; tool calls parsed from their fragments).
        A ProviderError may be raised before or after some deltas."""
        ...


def stream_of(provider: Provider, request: ChatRequest) -> Iterator[StreamEvent]:
    """``provider.stream(request)``, or for a provider that cannot stream, its whole result at once."""
    stream = getattr(provider, "stream", None)
    if stream is None:
        yield provider.complete(request)
    else:
        yield from stream(request)


# Shapes of credentials that must never reach a message, whichever server echoed them back.
_CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"),
    re.compile(r"\b(sk|pk|rk|gsk|xai|hf)[-_][A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)\b((?:api[-_]?key|authorization|x-api-key|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without the given secrets or anything shaped like a credential."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = _CREDENTIAL_PATTERNS[0].sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _CREDENTIAL_PATTERNS[1].sub("[redacted]", text)
    return _CREDENTIAL_PATTERNS[2].sub(lambda m: f"{m.group(1)}[redacted]", text)
