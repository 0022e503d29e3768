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
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from parley import __version__
from parley.observability import logger
from parley.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    ProviderError,
    ToolCall,
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
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
_SNIPPET_CHARS = 300


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
        started = self._clock()
        attempt = 0
        while True:
            remaining = self._total_timeout - (self._clock() - started)
            try:
                status, headers, body = self._post(payload, max(0.05, min(self._read_timeout, remaining)))
            except ProviderError as error:
                failure = error
            else:
                if 200 <= status < 300:
                    return parse_response(body, request.model)
                failure = self._http_failure(status, headers, body)
            if not failure.retryable or attempt >= self._max_retries:
                raise failure
            delay = self._backoff(attempt, failure.retry_after)
            if self._clock() - started + delay >= self._total_timeout:
                raise failure
            logger.warning(
                "model call failed; retrying",
                extra={
                    "provider_kind": "openai",
                    "error_kind": failure.kind,
                    "status": failure.status,
                    "attempt": attempt + 1,
                    "delay_s": round(delay, 3),
                },
            )
            self._sleep(delay)
            attempt += 1

    # -- one attempt -----------------------------------------------------------------------------
    def _post(self, payload: bytes, read_timeout: float) -> tuple[int, dict[str, str], bytes]:
        connection_class = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = connection_class(self._host, self._port, timeout=self._connect_timeout)
        try:
            try:
                connection.connect()
            except TimeoutError as exc:
                raise ProviderError("timeout", f"Connecting to {self._where} timed out.") from exc
            assert connection.sock is not None
            connection.sock.settimeout(read_timeout)
            connection.request("POST", self._path, body=payload, headers=self._headers())
            response = connection.getresponse()
            body = response.read(MAX_RESPONSE_BYTES + 1)
            if len(body) > MAX_RESPONSE_BYTES:
                raise ProviderError("bad_response", f"The response from {self._where} is too large.")
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        except TimeoutError as exc:
            raise ProviderError(
                "timeout", f"{self._where} did not answer within {read_timeout:g} s."
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            reason = redact(str(exc) or type(exc).__name__, [self._api_key])
            raise ProviderError("connection", f"Could not reach {self._where}: {reason}") from exc
        finally:
            connection.close()

    def _headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
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


def parse_response(body: bytes, requested_model: str = "") -> ChatResult:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ProviderError("bad_response", "The provider's response is not JSON.") from exc
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
