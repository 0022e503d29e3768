"""Any OpenAI-compatible Chat Completions server: OpenAI, Ollama (/v1), vLLM, LM Studio, OpenRouter, …

Standard library only (the layer carries no HTTP client): one ``http.client`` connection per attempt,
with a connect timeout and a separate read timeout. 429, 5xx, timeouts and connection errors are
retried with exponential backoff and full jitter, honouring ``Retry-After`` up to a cap; other 4xx are
not retried. The whole call, retries included, stays within ``total_timeout_seconds`` so that a turn
fails cleanly before its worker's own timeout.

``ChatRequest.top_k`` is not part of Chat Completions and is not sent; servers that accept it (vLLM,
Ollama) get it through ``ChatRequest.extra``, which is merged into the request body.

A tool call whose ``function.arguments`` is not a JSON object (the model "does not always generate
valid JSON", says the API reference) comes back with ``arguments_error`` and ``raw_arguments``, so the
tool loop can tell the model and let it call again; docs/reference/openai-tool-calls.md has the shapes.

``stream`` sends the same body with ``"stream": true`` and reads the server-sent events line by line as
they arrive: ``data: {chunk}`` events until ``data: [DONE]``, whose shapes are in
docs/reference/openai-chat-completion-chunks.md.
It retries as ``complete`` does, but only until a 2xx response's body starts: once a delta went out,
a failure is the caller's to handle. Its final ChatResult is built by the same code as ``complete``'s,
from the chunks assembled into the equivalent non-streamed completion.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from parley import __version__
from parley.observability import logger
from parley.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
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
# Below the turn worker's 90 s timeout, leaving it time to record the failure.
DEFAULT_TOTAL_TIMEOUT = 75.0
MAX_RETRY_AFTER = 20.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_RESPONSE_BYTES = 10 * 1024 * 1024  # a whole completion, or all of a stream's lines together
_ERROR_BODY_BYTES = 64 * 1024  # of a non-2xx answer: enough for its message
_SNIPPET_CHARS = 300
JSON = "application/json"
EVENT_STREAM = "text/event-stream"


class OpenAIProvider:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_retry_after: float = MAX_RETRY_AFTER,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError("configuration", "The provider's base_url must be an http(s) URL.")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._path = parts.path.rstrip("/") + "/chat/completions" + (f"?{parts.query}" if parts.query else "")
        self._api_key = api_key or None
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_retries = max(0, max_retries)
        self._total_timeout = total_timeout
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock

    @classmethod
    def from_record(cls, record: Mapping[str, Any], secret: str | None) -> OpenAIProvider:
        options = record.get("options") or {}
        base_url = record.get("base_url")
        if not base_url:
            raise ProviderError("configuration", "An openai provider needs a base_url.")
        return cls(
            base_url,
            secret,
            connect_timeout=float(options.get("connect_timeout_seconds", DEFAULT_CONNECT_TIMEOUT)),
            read_timeout=float(options.get("read_timeout_seconds", DEFAULT_READ_TIMEOUT)),
            max_retries=int(options.get("max_retries", DEFAULT_MAX_RETRIES)),
            total_timeout=float(options.get("total_timeout_seconds", DEFAULT_TOTAL_TIMEOUT)),
        )

    # -- the protocol ----------------------------------------------------------------------------
    def complete(self, request: ChatRequest) -> ChatResult:
        payload = json.dumps(request_body(request)).encode()
        body = self._with_retries(lambda timeout: self._exchange(payload, timeout), self._clock())
        return parse_response(body, request.model)

    def stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        payload = json.dumps(stream_body(request)).encode()
        started = self._clock()
        opened = self._with_retries(lambda timeout: self._open(payload, timeout, EVENT_STREAM), started)
        try:
            if _media_type(opened.response) not in (EVENT_STREAM, ""):
                # A server that ignores "stream" answers with the whole completion (JSON): it is one
                # delta. Anything else (an HTML error page) is read the same way, and refused as
                # complete refuses it: not a bad connection, a bad response.
                body = self._read_body(opened.response, self._read_timeout)
                yield from _replayed(parse_response(body, request.model))
                return
            yield from self._stream_events(opened, started + self._total_timeout, request.model)
        finally:
            opened.close()

    # -- attempts --------------------------------------------------------------------------------
    def _with_retries[T](self, attempt: Callable[[float], T], started: float) -> T:
        """``attempt(read_timeout)`` again after each retryable failure, with backoff, as long as the
        retries and the total time budget (counted from ``started``) allow."""
        retries = 0
        while True:
            remaining = self._total_timeout - (self._clock() - started)
            try:
                return attempt(max(0.05, min(self._read_timeout, remaining)))
            except ProviderError as failure:
                if not failure.retryable or retries >= self._max_retries:
                    raise
                delay = self._backoff(retries, failure.retry_after)
                if self._clock() - started + delay >= self._total_timeout:
                    raise
                logger.warning(
                    "model call failed; retrying",
                    extra={
                        "provider_kind": "openai",
                        "error_kind": failure.kind,
                        "status": failure.status,
                        "attempt": retries + 1,
                        "delay_s": round(delay, 3),
                    },
                )
                self._sleep(delay)
                retries += 1

    def _exchange(self, payload: bytes, read_timeout: float) -> bytes:
        """One attempt of ``complete``: the whole body of a 2xx answer."""
        opened = self._open(payload, read_timeout, JSON)
        try:
            return self._read_body(opened.response, read_timeout)
        finally:
            opened.close()

    def _open(self, payload: bytes, read_timeout: float, accept: str) -> _Opened:
        """Connect, send the request and read the answer's status and headers. A 2xx answer comes back
        with its body unread; any other status is raised as the failure it stands for."""
        connection_class = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = connection_class(self._host, self._port, timeout=self._connect_timeout)
        try:
            with self._transport_errors(read_timeout):
                try:
                    connection.connect()
                except TimeoutError as exc:
                    raise ProviderError("timeout", f"Connecting to {self._where} timed out.") from exc
                sock = connection.sock
                assert sock is not None
                sock.settimeout(read_timeout)
                connection.request("POST", self._path, body=payload, headers=self._headers(accept))
                response = connection.getresponse()
                if not 200 <= response.status < 300:
                    with response:
                        body = response.read(_ERROR_BODY_BYTES)
                    headers = {k.lower(): v for k, v in response.getheaders()}
                    raise self._http_failure(response.status, headers, body)
        except BaseException:
            connection.close()
            raise
        return _Opened(connection, response, sock)

    def _read_body(self, response: http.client.HTTPResponse, read_timeout: float) -> bytes:
        with self._transport_errors(read_timeout):
            body = response.read(MAX_RESPONSE_BYTES + 1)
        if len(body) > MAX_RESPONSE_BYTES:
            raise ProviderError("bad_response", f"The response from {self._where} is too large.")
        return body

    @contextmanager
    def _transport_errors(self, read_timeout: float, *, streaming: bool = False) -> Iterator[None]:
        """Socket and HTTP protocol failures as the ProviderErrors they are (never with the key)."""
        try:
            yield
        except TimeoutError as exc:
            silence = "sent nothing more for" if streaming else "did not answer within"
            raise ProviderError("timeout", f"{self._where} {silence} {read_timeout:g} s.") from exc
        except (OSError, http.client.HTTPException) as exc:
            reason = redact(str(exc) or type(exc).__name__, [self._api_key])
            failed = (
                f"The stream from {self._where} broke off" if streaming else f"Could not reach {self._where}"
            )
            raise ProviderError("connection", f"{failed}: {reason}") from exc

    # -- a stream's body -------------------------------------------------------------------------
    def _stream_events(self, opened: _Opened, deadline: float, requested_model: str) -> Iterator[StreamEvent]:
        answer = _StreamedAnswer()
        for data in _event_data(self._lines(opened, deadline)):
            if data.strip() == "[DONE]":
                yield answer.result(requested_model)
                return
            yield from answer.add(self._chunk(data))
        raise ProviderError(
            "connection",
            f"The stream from {self._where} ended before data: [DONE]: the answer is incomplete.",
        )

    def _lines(self, opened: _Opened, deadline: float) -> Iterator[bytes]:
        """The body's lines as they arrive: each within the read timeout, all before ``deadline`` (the
        total budget, so that a turn still fails before its worker's own timeout)."""
        received = 0
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ProviderError(
                    "timeout", f"{self._where} did not finish its stream within {self._total_timeout:g} s."
                )
            read_timeout = min(self._read_timeout, remaining)
            with self._transport_errors(read_timeout, streaming=True):
                opened.socket.settimeout(read_timeout)
                line = opened.response.readline(MAX_RESPONSE_BYTES + 1 - received)
            if not line:
                return
            received += len(line)
            if received > MAX_RESPONSE_BYTES:
                raise ProviderError("bad_response", f"The stream from {self._where} is too large.")
            yield line

    def _chunk(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise ProviderError(
                "bad_response", f"A chunk of the stream from {self._where} is not JSON."
            ) from exc
        if not isinstance(chunk, dict):
            raise ProviderError("bad_response", f"A chunk of the stream from {self._where} is not an object.")
        if chunk.get("error"):
            # The server failed after its 200 (OpenAI's SDK reads such a chunk as an APIError).
            detail = redact(_error_detail(data.encode()), [self._api_key])
            raise ProviderError("http_error", f"{self._where} failed mid-stream: {detail}")
        return chunk

    # -- helpers ---------------------------------------------------------------------------------
    def _headers(self, accept: str) -> dict[str, str]:
        headers = {
            "Content-Type": JSON,
            "Accept": accept,
            "User-Agent": f"parley/{__version__}",
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._port}"

    def _http_failure(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        detail = redact(_error_detail(body), [self._api_key])
        message = f"{self._where} answered HTTP {status}" + (f": {detail}" if detail else ".")
        if status == 429:
            return ProviderError("rate_limited", message, status=status, retry_after=_retry_after(headers))
        if status >= 500:
            return ProviderError(
                "http_error", message, status=status, retryable=True, retry_after=_retry_after(headers)
            )
        if status in (401, 403):
            return ProviderError("auth", message + " (check the provider's api_key)", status=status)
        if status == 404:
            return ProviderError("configuration", message + " (check base_url and model)", status=status)
        return ProviderError("http_error", message, status=status, retryable=False)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self._max_retry_after)
        # Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): clients that failed
        # together do not retry together.
        return self._jitter() * min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)


# -- wire format -----------------------------------------------------------------------------------
def request_body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"model": request.model, "messages": [_message(m) for m in request.messages]}
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
        # Only beside tools: the spec defines tool_choice by the tools present, and with none there is
        # nothing to choose (OpenAI-compatible servers may refuse it).
        if request.tool_choice is not None:
            body["tool_choice"] = _tool_choice(request.tool_choice)
    for name in ("temperature", "top_p", "max_tokens", "seed"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    body.update(request.extra)
    return body


def _tool(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
    }
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _tool_choice(choice: str | Mapping[str, Any]) -> str | dict[str, Any]:
    """``"auto"``, ``"none"``, ``"required"`` as they are; a named tool as exactly the wire's object."""
    if isinstance(choice, str):
        return choice
    function = choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ProviderError("configuration", "A named tool_choice needs function.name.")
    return {"type": "function", "function": {"name": name}}


def _message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content}
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        wire["content"] = message.content or None
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                # What the model wrote, when it is known: a call it got wrong is shown back as it was.
                "function": {
                    "name": call.name,
                    "arguments": call.raw_arguments or json.dumps(call.arguments),
                },
            }
            for call in message.tool_calls
        ]
    return wire


def stream_body(request: ChatRequest) -> dict[str, Any]:
    """``request_body`` asking for a stream whose last chunk carries the usage."""
    body = request_body(request)
    body["stream"] = True
    # Without it a stream has no usage at all. setdefault: ``extra`` may carry its own stream_options.
    body.setdefault("stream_options", {"include_usage": True})
    return body


def parse_response(body: bytes, requested_model: str = "") -> ChatResult:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ProviderError("bad_response", "The provider's response is not JSON.") from exc
    return _completion_result(document, requested_model)


def _completion_result(document: Any, requested_model: str) -> ChatResult:
    """A chat completion (read from a body, or assembled from a stream's chunks) as a ChatResult."""
    choices = document.get("choices") if isinstance(document, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProviderError("bad_response", "The provider's response has no choices.")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise ProviderError("bad_response", "The provider's response has no message.")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise ProviderError("bad_response", "The provider's message content is not text.")
    usage = document.get("usage") if isinstance(document.get("usage"), dict) else {}
    return ChatResult(
        content=content or "",
        tool_calls=tuple(_tool_call(raw) for raw in message.get("tool_calls") or []),
        usage=Usage(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
        ),
        finish_reason=str(choices[0].get("finish_reason") or "stop"),
        model=str(document.get("model") or requested_model),
    )


def _tool_call(raw: Any) -> ToolCall:
    """A call as the model made it; arguments that are not a JSON object are the model's mistake to
    retry (``arguments_error``), not a failed response."""
    function = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
        raise ProviderError("bad_response", "The provider returned a tool call without a function name.")
    call_id, name = str(raw.get("id") or ""), function["name"]
    arguments, raw_arguments = function.get("arguments"), None
    if isinstance(arguments, str):
        raw_arguments = arguments
        try:
            # Some servers send "" for a function without parameters.
            arguments = json.loads(arguments) if arguments.strip() else None
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON: {exc.msg} at character {exc.pos}"
            return ToolCall(call_id, name, {}, arguments_error=reason, raw_arguments=raw_arguments)
    if arguments is None:
        return ToolCall(call_id, name, {})
    if not isinstance(arguments, dict):
        reason = f"a JSON {_json_kind(arguments)}, not an object"
        raw_arguments = raw_arguments if raw_arguments is not None else json.dumps(arguments)
        return ToolCall(call_id, name, {}, arguments_error=reason, raw_arguments=raw_arguments)
    return ToolCall(call_id, name, arguments)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return (
        "string" if isinstance(value, str) else "array" if isinstance(value, list) else type(value).__name__
    )


def _error_detail(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        return text[:_SNIPPET_CHARS]
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"][:_SNIPPET_CHARS]
        if isinstance(error, str):
            return error[:_SNIPPET_CHARS]
        if isinstance(document.get("message"), str):
            return document["message"][:_SNIPPET_CHARS]
    return text[:_SNIPPET_CHARS]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked for: ``retry-after-ms`` (OpenAI), or ``Retry-After`` as seconds or a date."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


# -- streaming -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Opened:
    """A 2xx answer whose body is still to be read."""

    connection: http.client.HTTPConnection
    response: http.client.HTTPResponse
    # Kept apart: on "Connection: close" http.client hands the socket to the response and forgets it,
    # and a stream still needs to set its read timeout.
    socket: socket.socket

    def close(self) -> None:
        self.response.close()
        self.connection.close()


@dataclass
class _CallParts:
    """One tool call as far as the chunks have told it."""

    position: int  # in the response's tool calls, whatever index the server numbers it with
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)
    announced: bool = False  # its first ToolCallDelta, the one with id and name, went out


class _StreamedAnswer:
    """A stream's chunks, assembled into the completion a non-streamed call would have answered."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._calls: dict[int, _CallParts] = {}
        self._has_choice = False
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self._model: str | None = None

    def add(self, chunk: Mapping[str, Any]) -> Iterator[TextDelta | ToolCallDelta]:
        """What the chunk adds, as deltas."""
        if isinstance(chunk.get("model"), str) and chunk["model"] and self._model is None:
            self._model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):  # null on every chunk but the last
            self._usage = chunk["usage"]
        choices = chunk.get("choices") or []  # [] on the usage chunk; some servers send null
        if not isinstance(choices, list):
            raise ProviderError("bad_response", "A chunk of the provider's stream has no list of choices.")
        for choice in choices:
            # Only the first choice, as complete reads only choices[0].
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                yield from self._add_choice(choice)

    def _add_choice(self, choice: Mapping[str, Any]) -> Iterator[TextDelta | ToolCallDelta]:
        self._has_choice = True
        if choice.get("finish_reason"):
            self._finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise ProviderError("bad_response", "A chunk of the provider's stream has no delta.")
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise ProviderError("bad_response", "The provider's message content is not text.")
        if content:
            self._texts.append(content)
            yield TextDelta(content)
        fragments = delta.get("tool_calls") or []
        if not isinstance(fragments, list):
            raise ProviderError("bad_response", "A chunk of the provider's stream has no list of tool calls.")
        for fragment in fragments:
            call_delta = self._add_call_fragment(fragment)
            if call_delta is not None:
                yield call_delta

    def _add_call_fragment(self, fragment: Any) -> ToolCallDelta | None:
        if not isinstance(fragment, dict) or not isinstance(fragment.get("function") or {}, dict):
            raise ProviderError("bad_response", "A tool call in the provider's stream is not an object.")
        index = fragment.get("index")
        if not isinstance(index, int):
            # Servers that leave the index out send each call whole, in one fragment: it gets a key of its
            # own, one no wire index has.
            index = -1 - len(self._calls)
        call = self._calls.setdefault(index, _CallParts(position=len(self._calls)))
        function = fragment.get("function") or {}
        # id and name come once, on the first fragment; the first value wins if a server repeats them.
        call.id = call.id or _text_or_none(fragment.get("id"))
        call.name = call.name or _text_or_none(function.get("name"))
        arguments = _arguments_fragment(function.get("arguments"))
        call.arguments.append(arguments)
        if not call.announced:
            if not call.name:
                return None  # the name must be known first: the fragments wait until it is
            call.announced = True
            return ToolCallDelta(call.position, call.id or "", call.name, "".join(call.arguments))
        return ToolCallDelta(call.position, None, None, arguments) if arguments else None

    def result(self, requested_model: str) -> ChatResult:
        """The ChatResult of the whole stream: parsed by the very code that parses a completion."""
        message = {
            "content": "".join(self._texts) or None,
            "tool_calls": [
                {"id": call.id or "", "function": {"name": call.name, "arguments": "".join(call.arguments)}}
                for call in self._calls.values()
            ],
        }
        # No choice at all is what complete calls a response without choices.
        choices = [{"message": message, "finish_reason": self._finish_reason}] if self._has_choice else []
        document = {"choices": choices, "usage": self._usage, "model": self._model}
        return _completion_result(document, requested_model)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _arguments_fragment(value: Any) -> str:
    """The next part of a call's arguments string (a server may send a whole JSON value instead)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _event_data(lines: Iterable[bytes]) -> Iterator[str]:
    """The data of each server-sent event: its ``data:`` lines joined by newlines, the event ending at a
    blank line (WHATWG HTML, "Parsing an event stream"); comments (``:``) and other fields are skipped."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value.removeprefix(" "))
    if data:  # a last event without its blank line: [DONE] may still be in it
        yield "\n".join(data)


def _media_type(response: http.client.HTTPResponse) -> str:
    return (response.getheader("content-type") or "").split(";")[0].strip().lower()


def _replayed(result: ChatResult) -> Iterator[StreamEvent]:
    """A whole result as a stream: its text and each call as one delta, then the result."""
    if result.content:
        yield TextDelta(result.content)
    for position, call in enumerate(result.tool_calls):
        arguments = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
        yield ToolCallDelta(position, call.id, call.name, arguments)
    yield result
