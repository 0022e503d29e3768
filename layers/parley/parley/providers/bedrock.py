"""Amazon Bedrock through the Converse API (one request shape for every Bedrock model).

The ``bedrock-runtime`` client is created once per container (per region and timeouts) and reused by
every turn; credentials are the function's own role, so a Bedrock provider has no secret. ``extra``
goes to ``additionalModelRequestFields`` (model-specific parameters such as Anthropic's ``top_k``).

Tools go in ``toolConfig``; ``tool_choice`` maps to its ``toolChoice`` (``auto``, ``any``, ``tool``).
Converse has no "none", and refuses a history with toolUse/toolResult blocks but no toolConfig: a
"none" turn offers no tools, unless its history has tool blocks; then it keeps a toolConfig (the
request's tools, or stand-ins named after the history's calls) and drops any call the model makes.
docs/reference/bedrock-converse-tool-use.md has the shapes and where they are documented.

``stream`` sends the same request to ConverseStream and translates its events as botocore yields them
(docs/reference/bedrock-converse-stream.md): text and tool-input deltas as they come, then the
ChatResult that ``parse_response`` gives for the same answer. The function's role needs
``bedrock:InvokeModelWithResponseStream`` for it, beside ``bedrock:InvokeModel`` for Converse.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from parley.observability import logger
from parley.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    ErrorKind,
    ProviderError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    redact,
)

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3

# Converse's stop reasons in the one vocabulary ChatResult speaks (OpenAI's).
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
_MALFORMED = frozenset({"malformed_model_output", "malformed_tool_use"})
# OpenAI's tool_choice words -> Converse's toolChoice union ("none" has no member: see _tool_config).
_TOOL_CHOICES: dict[str, dict[str, Any]] = {"auto": {"auto": {}}, "required": {"any": {}}}

# Bedrock error codes -> (kind, retryable). A stream's exception events carry the same names in camel
# case (throttlingException): _bedrock_error looks them up capitalised.
_ERRORS: dict[str, tuple[ErrorKind, bool]] = {
    "ThrottlingException": ("rate_limited", True),
    "TooManyRequestsException": ("rate_limited", True),
    "ServiceUnavailableException": ("http_error", True),
    "InternalServerException": ("http_error", True),
    "ModelNotReadyException": ("http_error", True),
    "ModelTimeoutException": ("timeout", True),
    "ModelErrorException": ("http_error", False),
    "ModelStreamErrorException": ("http_error", True),  # "A streaming error occurred. Retry your request."
    "ValidationException": ("configuration", False),
    "ResourceNotFoundException": ("configuration", False),
    "AccessDeniedException": ("auth", False),
    "UnrecognizedClientException": ("auth", False),
    "ExpiredTokenException": ("auth", False),
}


@cache
def client(region: str, connect_timeout: float, read_timeout: float, max_retries: int) -> Any:
    """One bedrock-runtime client per container and configuration (imported on first use)."""
    from botocore.config import Config

    from parley import aws

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": max_retries + 1, "mode": "standard"},
    )
    return aws.client("bedrock-runtime", region=region, config=config)


class BedrockProvider:
    def __init__(
        self,
        region: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        client: Any = None,
    ) -> None:
        self._region = region
        self._config = (connect_timeout, read_timeout, max(0, max_retries))
        self._client = client

    @classmethod
    def from_record(cls, record: Mapping[str, Any], secret: str | None = None) -> BedrockProvider:
        options = record.get("options") or {}
        region = options.get("region")
        if not region:
            from parley.config import settings

            region = settings().region
        return cls(
            region,
            connect_timeout=float(options.get("connect_timeout_seconds", DEFAULT_CONNECT_TIMEOUT)),
            read_timeout=float(options.get("read_timeout_seconds", DEFAULT_READ_TIMEOUT)),
            max_retries=int(options.get("max_retries", DEFAULT_MAX_RETRIES)),
        )

    def complete(self, request: ChatRequest) -> ChatResult:
        try:
            response = self._runtime().converse(**converse_request(request))
        except Exception as exc:
            raise _provider_error(exc) from exc
        return parse_response(response, request.model, tools_offered=offers_tools(request))

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        try:
            response = self._runtime().converse_stream(**converse_request(request))
        except Exception as exc:
            raise _provider_error(exc) from exc
        events = response["stream"]
        try:
            yield from stream_events(
                _translated_failures(events), request.model, tools_offered=offers_tools(request)
            )
        finally:
            events.close()  # also when the caller stops reading: the connection goes back

    def _runtime(self) -> Any:
        return self._client or client(self._region, *self._config)


# -- wire format -----------------------------------------------------------------------------------
def offers_tools(request: ChatRequest) -> bool:
    """Whether the model may call tools in this request ("none" offers them to no one)."""
    return bool(request.tools) and request.tool_choice != "none"


def converse_request(request: ChatRequest) -> dict[str, Any]:
    messages = _messages(request.messages)
    arguments: dict[str, Any] = {"modelId": request.model, "messages": messages}
    system = [{"text": m.content} for m in request.messages if m.role == "system" and m.content]
    if system:
        arguments["system"] = system
    inference = {
        name: value
        for name, value in (
            ("maxTokens", request.max_tokens),
            ("temperature", request.temperature),
            ("topP", request.top_p),
        )
        if value is not None
    }
    if inference:
        arguments["inferenceConfig"] = inference
    tool_config = _tool_config(request, messages)
    if tool_config:
        arguments["toolConfig"] = tool_config
    if request.extra:
        arguments["additionalModelRequestFields"] = dict(request.extra)
    return arguments


def _tool_config(request: ChatRequest, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    if offers_tools(request):
        config: dict[str, Any] = {"tools": [_tool(tool) for tool in request.tools]}
        if request.tool_choice is not None:
            config["toolChoice"] = _tool_choice(request.tool_choice)
        return config
    called = [
        block["toolUse"]["name"] for message in messages for block in message["content"] if "toolUse" in block
    ]
    if not called and not any("toolResult" in b for m in messages for b in m["content"]):
        return None
    # Converse refuses toolUse/toolResult blocks without a toolConfig ("The toolConfig field must be
    # defined when using toolUse and toolResult content blocks"), and a toolConfig needs one tool at
    # least. No toolChoice: "auto" is the only member that does not force a call; a call the model
    # makes anyway is dropped (parse_response, tools_offered=False).
    if request.tools:
        return {"tools": [_tool(tool) for tool in request.tools]}
    names = list(dict.fromkeys(called)) or ["unavailable_tool"]
    return {"tools": [_tool(_stand_in(name)) for name in names]}


def _stand_in(name: str) -> ToolSpec:
    """A tool the history called that this request does not offer."""
    return ToolSpec(name, "No longer available: do not call it.", {"type": "object", "properties": {}})


def _tool(tool: ToolSpec) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
    if tool.description:  # Converse refuses an empty description (minimum length 1)
        spec["description"] = tool.description
    # Only true travels: false is Converse's default, and models without structured outputs may refuse
    # the field whatever its value.
    if tool.strict:
        spec["strict"] = True
    return {"toolSpec": spec}


def _tool_choice(choice: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(choice, str):
        if choice in _TOOL_CHOICES:
            return _TOOL_CHOICES[choice]
        raise ProviderError("configuration", f"Bedrock has no tool_choice {choice!r}.")
    function = choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ProviderError("configuration", "A named tool_choice needs function.name.")
    return {"tool": {"name": name}}


def _messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Converse messages: roles alternate, so neighbours of one role (e.g. several tool results) merge."""
    converse: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if converse and converse[-1]["role"] == role:
            converse[-1]["content"].extend(blocks)
        else:
            converse.append({"role": role, "content": blocks})
    return converse


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role == "tool":
        result: dict[str, Any] = {
            "toolUseId": message.tool_call_id or "",
            "content": [{"text": message.content or "(empty)"}],
        }
        if message.is_error:
            result["status"] = "error"
        return [{"toolResult": result}]
    # Converse refuses empty text blocks: an assistant turn that only called tools has none.
    blocks: list[dict[str, Any]] = [{"text": message.content}] if message.content else []
    blocks.extend(
        {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}
        for call in message.tool_calls
    )
    return blocks


def parse_response(
    response: Mapping[str, Any], requested_model: str = "", *, tools_offered: bool = True
) -> ChatResult:
    """The Converse response as a ChatResult; with ``tools_offered`` false, calls are dropped (a
    "none" request whose history made Bedrock need a toolConfig)."""
    stop_reason = str(response.get("stopReason") or "end_turn")
    _refuse_malformed(stop_reason)
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, dict):
        raise ProviderError("bad_response", "The Converse response has no output message.")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.get("content") or []:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            calls.append(_tool_call(block["toolUse"]))
    return _chat_result(
        "".join(texts), calls, stop_reason, response.get("usage") or {}, requested_model, tools_offered
    )


def _refuse_malformed(stop_reason: str) -> None:
    if stop_reason in _MALFORMED:
        raise ProviderError("bad_response", f"The model's output was malformed ({stop_reason}).")


def _chat_result(
    content: str,
    calls: list[ToolCall],
    stop_reason: str,
    usage: Mapping[str, Any],
    requested_model: str,
    tools_offered: bool,
) -> ChatResult:
    """What Converse and ConverseStream both answered, in the one vocabulary ChatResult speaks."""
    finish_reason = _FINISH_REASONS.get(stop_reason, stop_reason)
    if calls and not tools_offered:
        logger.warning(
            "the model called tools it was not offered; the calls are dropped",
            extra={"provider_kind": "bedrock", "tool_calls": len(calls)},
        )
        calls = []
        if finish_reason == "tool_calls":
            finish_reason = "stop"
    return ChatResult(
        content=content,
        tool_calls=tuple(calls),
        usage=Usage(
            input_tokens=int(usage.get("inputTokens", 0)), output_tokens=int(usage.get("outputTokens", 0))
        ),
        finish_reason=finish_reason,
        model=requested_model,
    )


def _tool_call(use: Mapping[str, Any]) -> ToolCall:
    """An input that is not an object is the model's mistake to retry (``arguments_error``)."""
    name, call_id = _tool_name(use), str(use.get("toolUseId") or "")
    arguments = use.get("input")
    if arguments is None:
        return ToolCall(call_id, name, {})
    if not isinstance(arguments, dict):
        return ToolCall(
            call_id,
            name,
            {},
            arguments_error=f"a JSON {_json_kind(arguments)}, not an object",
            raw_arguments=json.dumps(arguments),
        )
    return ToolCall(call_id, name, arguments)


def _tool_name(use: Mapping[str, Any]) -> str:
    """A toolUse's name: without one there is nothing to answer the call with."""
    name = use.get("name")
    if not isinstance(name, str) or not name:
        raise ProviderError("bad_response", "Bedrock returned a toolUse without a tool name.")
    return name


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return (
        "string" if isinstance(value, str) else "array" if isinstance(value, list) else type(value).__name__
    )


def _provider_error(exc: Exception) -> ProviderError:
    from botocore import eventstream
    from botocore import exceptions as boto
    from urllib3 import exceptions as urllib3_errors

    # EventStreamError (a stream's exception event, raised by botocore as it reads) is a ClientError.
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return _bedrock_error(str(error.get("Code", "")), str(error.get("Message", "")), status)
    # A stream's reads go to urllib3 directly: its failures come as they are, not wrapped by botocore.
    if isinstance(exc, boto.ReadTimeoutError | boto.ConnectTimeoutError | urllib3_errors.ReadTimeoutError):
        return ProviderError("timeout", "Bedrock did not answer in time.")
    if isinstance(exc, boto.EndpointConnectionError | boto.ConnectionError):
        return ProviderError("connection", "Could not reach Bedrock.")
    if isinstance(exc, boto.HTTPClientError | urllib3_errors.ProtocolError):
        return ProviderError("connection", f"The connection to Bedrock broke off ({type(exc).__name__}).")
    if isinstance(exc, eventstream.ParserError):
        return ProviderError("bad_response", f"Bedrock's event stream is not valid ({type(exc).__name__}).")
    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return ProviderError("auth", "No AWS credentials are available to call Bedrock.")
    if isinstance(exc, boto.ParamValidationError):
        return ProviderError("configuration", redact(f"The Converse request is not valid: {exc}"))
    return ProviderError("http_error", f"Bedrock call failed ({type(exc).__name__}).", retryable=False)


def _bedrock_error(code: str, message: str, status: int | None = None) -> ProviderError:
    """The error a Bedrock code names (``ThrottlingException``; a stream says ``throttlingException``)."""
    kind, retryable = _ERRORS.get(code[:1].upper() + code[1:], ("http_error", bool(status and status >= 500)))
    return ProviderError(
        kind, redact(f"Bedrock {code or 'error'}: {message}".strip()), retryable=retryable, status=status
    )


# -- streaming -------------------------------------------------------------------------------------
# ConverseStreamOutput's exception members. botocore raises them as EventStreamError while it reads;
# as events they are translated all the same.
_STREAM_EXCEPTIONS = (
    "internalServerException",
    "modelStreamErrorException",
    "validationException",
    "throttlingException",
    "serviceUnavailableException",
)


@dataclass
class _ToolUseParts:
    """A toolUse block as far as the stream has told it."""

    position: int  # among the response's tool calls (a contentBlockIndex counts text blocks too)
    tool_use_id: str
    name: str
    input: list[str] = field(default_factory=list)  # the input's JSON text, in fragments


def _translated_failures(events: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """botocore's events, with whatever reading them raises as a ProviderError."""
    try:
        yield from events
    except Exception as exc:
        raise _provider_error(exc) from exc


def stream_events(
    events: Iterable[Mapping[str, Any]], requested_model: str = "", *, tools_offered: bool = True
) -> Iterator[StreamEvent]:
    """ConverseStream's events, as botocore yields them, as deltas; then the ChatResult parse_response
    gives for the same answer. With ``tools_offered`` false, calls are neither streamed nor kept."""
    texts: list[str] = []
    uses: dict[int, _ToolUseParts] = {}  # by contentBlockIndex
    stop_reason: str | None = None
    usage: Mapping[str, Any] = {}
    for event in events:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool_use = (start.get("start") or {}).get("toolUse")
            if tool_use is not None:
                use = _ToolUseParts(len(uses), str(tool_use.get("toolUseId") or ""), _tool_name(tool_use))
                uses[start.get("contentBlockIndex", -1)] = use
                if tools_offered:
                    yield ToolCallDelta(use.position, use.tool_use_id, use.name, "")
        elif "contentBlockDelta" in event:
            block = event["contentBlockDelta"]
            delta = block.get("delta") or {}
            if delta.get("text"):
                texts.append(delta["text"])
                yield TextDelta(delta["text"])
            elif "toolUse" in delta:
                receiver = uses.get(block.get("contentBlockIndex", -1))
                if receiver is None:
                    raise ProviderError("bad_response", "Bedrock streamed tool input for no toolUse block.")
                fragment = str(delta["toolUse"].get("input") or "")
                receiver.input.append(fragment)
                if tools_offered and fragment:
                    yield ToolCallDelta(receiver.position, None, None, fragment)
        elif "messageStop" in event:
            stop_reason = str(event["messageStop"].get("stopReason") or "end_turn")
            _refuse_malformed(stop_reason)
        elif "metadata" in event:
            usage = event["metadata"].get("usage") or {}
        else:
            code = next((name for name in _STREAM_EXCEPTIONS if name in event), None)
            if code is not None:
                raise _bedrock_error(code, str((event[code] or {}).get("message", "")))
    if stop_reason is None:
        raise ProviderError("connection", "Bedrock's stream ended before its messageStop event.")
    calls = [_streamed_tool_call(use) for use in uses.values()]
    yield _chat_result("".join(texts), calls, stop_reason, usage, requested_model, tools_offered)


def _streamed_tool_call(use: _ToolUseParts) -> ToolCall:
    """The call ``_tool_call`` makes of the same toolUse, its input read from the streamed JSON text;
    text that is not JSON is the model's mistake to retry (``arguments_error``), as it is for OpenAI."""
    text = "".join(use.input)
    try:
        arguments = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        return ToolCall(
            use.tool_use_id,
            use.name,
            {},
            arguments_error=f"not valid JSON: {exc.msg} at character {exc.pos}",
            raw_arguments=text,
        )
    return _tool_call({"toolUseId": use.tool_use_id, "name": use.name, "input": arguments})
