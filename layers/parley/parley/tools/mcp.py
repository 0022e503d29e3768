"""The MCP tool: a remote MCP server's tools, listed and called over Streamable HTTP with the official SDK.

Why it looks the way it does:

* **Imported late.** The ``mcp`` SDK (with ``httpx2``, ``anyio`` and pydantic models for the whole
  protocol) costs about a second of imports. This module imports it inside the functions, so a worker
  pays it on its first MCP call, never at cold start; ``import parley.tools.mcp`` stays cheap.
* **Synchronous outside.** The SDK is async and the worker is not: each ``list_tools`` or ``call_tool``
  runs its own event loop (``anyio.run``) and its own MCP session, opened and closed within the call.
  It must not be called from inside a running event loop.
* **SSRF.** The URL passes ``network.check_url`` first (scheme, no ``user:pass@``, refused addresses).
  The SDK follows a redirect only within the endpoint's origin, so no other host is reached.
* **Bounded.** ``timeout_s`` (at most 30 s) bounds the whole exchange: connect, handshake, the call and
  the session's close. A response body is read up to ``MAX_RESPONSE_BYTES``; a listing is read up to
  ``MAX_PAGES`` pages and ``MAX_TOOLS`` tools.
* **Errors.** ``call_tool`` never raises for the server's faults: a refused URL, a server that is down,
  too slow or does not speak MCP, and an ``isError`` result are all an error output the model reads.
  ``list_tools`` raises ``ToolRefused`` or ``McpError``, whose ``message`` is safe to show.
* **Secrets.** Header values are API keys: no output, error, detail or log line carries them (error text
  a server sends back has them masked), and the detail names the server's host, never its URL.
* **Protocol eras.** The SDK's ``auto`` mode probes ``server/discover`` (2026-07-28, stateless) and falls
  back to the ``initialize`` handshake that servers before it speak.
  See docs/reference/mcp-streamable-http.md.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from parley.observability import logger
from parley.tools import network
from parley.tools.base import MAX_OUTPUT_CHARS, ToolOutput, ToolRefused

if TYPE_CHECKING:
    import httpx2
    from mcp.client.client import Client
    from mcp_types import CallToolResult, ListToolsResult

USER_AGENT = "Parley-Tools/1"
CLIENT_NAME = "parley"
MAX_TIMEOUT_SECONDS = 30.0
MAX_PAGES = 10
# More tools than a model can choose among; a server that lists more is cut here.
MAX_TOOLS = 500
# A response (a JSON body or an event stream) is read up to this; base64 images and JSON escaping make a
# tool's answer several times longer than the MAX_OUTPUT_CHARS of text the model is shown.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
# Characters of an error message from the server shown to the model: a sentence, not a page.
ERROR_SNIPPET_CHARS = 500
# Shorter header values are not masked: "1" or "no" would blot out half a message.
_MIN_MASKED_LENGTH = 4


class McpError(Exception):
    """An MCP server that could not be used: down, too slow, answering errors or not speaking MCP.

    ``message`` is safe to show to the model, the client and the logs: it never carries a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class McpServer:
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)  # values are secrets
    timeout_s: float = 30.0
    name: str = ""  # an agent's mcp_servers entry; empty for a single tool's execution


@dataclass(frozen=True)
class McpTool:
    name: str
    description: str
    input_schema: dict[str, Any]


def list_tools(server: McpServer, *, allow_private: bool | None = None) -> list[McpTool]:
    """The tools ``server`` lists (every page, up to MAX_TOOLS); ToolRefused or McpError if it cannot."""
    network.check_url(server.url, allow_private=allow_private)
    tools, complete = _run(server, _list_all)
    if not complete:
        logger.warning(
            "MCP server lists more tools than are offered", extra=_log_fields(server, offered=len(tools))
        )
    return tools


def call_tool(
    server: McpServer, name: str, arguments: dict[str, Any], *, allow_private: bool | None = None
) -> ToolOutput:
    """Call tool ``name`` of ``server`` with the model's arguments; every failure becomes an error output."""
    started = time.monotonic()
    secrets = _secrets_of(server.headers)

    def output(text: str, *, error: bool) -> ToolOutput:
        if error:
            text = _mask(text, secrets)
        detail: dict[str, Any] = {
            "server": _host(server.url),
            "duration_ms": round((time.monotonic() - started) * 1000),
            "is_error": error,
        }
        if len(text) > MAX_OUTPUT_CHARS:
            text = text[:MAX_OUTPUT_CHARS]
            detail["truncated"] = True
        return ToolOutput(text, is_error=error, detail=detail)

    async def call(client: Client) -> CallToolResult:
        await _list_until(client, name)
        return await client.call_tool(name, arguments)

    try:
        network.check_url(server.url, allow_private=allow_private)
        result = _run(server, call)
    except (ToolRefused, McpError) as exc:
        return output(exc.message, error=True)
    text = _text_of(result)
    if result.is_error:
        return output(text or f"The MCP tool {name} reported an error without a message.", error=True)
    return output(text or f"The MCP tool {name} returned no content.", error=False)


# -- one session: connect, negotiate, do the work, close -------------------------------------------
def _run[T](server: McpServer, work: Callable[[Client], Awaitable[T]]) -> T:
    import anyio

    try:
        return anyio.run(_session, server, work)
    except Exception as exc:  # an ExceptionGroup from the SDK's task groups, too
        leaves = _leaves(exc)
        logger.warning("MCP server failed", extra=_log_fields(server, errors=leaves))
        # Not chained: a transport error's own text can quote a header value.
        raise _failure(leaves, server) from None


async def _session[T](server: McpServer, work: Callable[[Client], Awaitable[T]]) -> T:
    import anyio
    import httpx2
    from mcp.client.client import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp_types import Implementation

    timeout = _timeout(server)
    limit = _ReadLimit()
    transport = _bounded_transport()(httpx2.AsyncHTTPTransport(trust_env=False), limit)
    answer: list[T] = []
    try:
        with anyio.fail_after(timeout):
            # trust_env=False: no proxy from the environment and no .netrc credentials; the connection
            # goes to the host the guard checked. Unlike the HTTP executor, httpx connects by hostname
            # itself, so a DNS change between the check and the connect (rebinding) is not pinned.
            async with httpx2.AsyncClient(
                # identity: a compressed body could inflate far past the bound on what is read.
                headers={"user-agent": USER_AGENT, **server.headers, "accept-encoding": "identity"},
                timeout=httpx2.Timeout(timeout),
                transport=transport,
                trust_env=False,
            ) as http:
                streams = streamable_http_client(
                    server.url, http_client=http, max_sse_event_size=MAX_RESPONSE_BYTES
                )
                async with Client(
                    streams,
                    read_timeout_seconds=timeout,
                    client_info=Implementation(name=CLIENT_NAME, version="1"),
                    # One operation per client: a response cache could never be read.
                    cache=None,
                ) as client:
                    answer.append(await work(client))
    except Exception as exc:
        if answer:
            return answer[0]  # the answer arrived; only closing the session failed
        if limit.refused is not None:
            # The SDK reports a stream it stopped reading as a closed connection: say why it stopped.
            raise limit.refused from exc
        raise
    return answer[0]


async def _pages(client: Client) -> AsyncGenerator[ListToolsResult]:
    """The listing's pages, at most MAX_PAGES: a cursor handed out twice ends it (it would loop)."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        yield page
        cursor = page.next_cursor
        if not cursor or cursor in seen:
            return
        seen.add(cursor)


async def _list_all(client: Client) -> tuple[list[McpTool], bool]:
    """Every page of the listing, bounded; and whether the listing was complete."""
    tools: list[McpTool] = []
    complete = False
    async with contextlib.aclosing(_pages(client)) as pages:
        async for page in pages:
            tools.extend(McpTool(t.name, t.description or "", dict(t.input_schema)) for t in page.tools)
            complete = not page.next_cursor
            if len(tools) > MAX_TOOLS:
                break
    return tools[:MAX_TOOLS], complete and len(tools) <= MAX_TOOLS


async def _list_until(client: Client, name: str) -> None:
    """List the server's tools, page by page, until one lists ``name``.

    Before the call, in its session: the SDK then knows the tool's output schema, which it would
    otherwise list after the call to validate the result, so a listing that failed then would report
    a call that ran (and whose effect happened) as failed, and the model would call it again. It also
    knows the tool's ``x-mcp-header`` arguments, so a 2026-07-28 server that checks ``Mcp-Param-*``
    headers takes the first call instead of refusing it for a listing and a resend."""
    async with contextlib.aclosing(_pages(client)) as pages:
        async for page in pages:
            if any(tool.name == name for tool in page.tools):
                return


def _timeout(server: McpServer) -> float:
    return min(max(server.timeout_s, 0.001), MAX_TIMEOUT_SECONDS)


# -- a bound on what is read ----------------------------------------------------------------------
class _Unread(Exception):
    """A response the transport stopped reading; ``reason`` completes "The MCP server at x ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _ReadLimit:
    """What the bounded transport of one session stopped reading, if anything."""

    def __init__(self) -> None:
        self.refused: _Unread | None = None

    def refuse(self, reason: str) -> _Unread:
        self.refused = _Unread(reason)
        return self.refused


@functools.cache
def _bounded_transport() -> Callable[[httpx2.AsyncBaseTransport, _ReadLimit], httpx2.AsyncBaseTransport]:
    """The transport class, built on first use (httpx2 is imported only then)."""
    import httpx2

    class BoundedStream(httpx2.AsyncByteStream):
        def __init__(self, inner: httpx2.AsyncByteStream, limit: _ReadLimit) -> None:
            self._inner = inner
            self._limit = limit

        async def __aiter__(self) -> AsyncIterator[bytes]:
            read = 0
            async for chunk in self._inner:
                read += len(chunk)
                if read > MAX_RESPONSE_BYTES:
                    raise self._limit.refuse(
                        f"answered more than {MAX_RESPONSE_BYTES // 2**20} MiB; not read"
                    )
                yield chunk

        async def aclose(self) -> None:
            await self._inner.aclose()

    class BoundedTransport(httpx2.AsyncBaseTransport):
        """Each response body is read up to MAX_RESPONSE_BYTES, and only uncompressed: the SDK reads a
        JSON answer whole, so without a bound a server could fill the worker's memory."""

        def __init__(self, inner: httpx2.AsyncBaseTransport, limit: _ReadLimit) -> None:
            self._inner = inner
            self._limit = limit

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            response = await self._inner.handle_async_request(request)
            stream = response.stream
            assert isinstance(stream, httpx2.AsyncByteStream)
            if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
                await stream.aclose()
                raise self._limit.refuse("answered compressed although asked not to; not read")
            return httpx2.Response(
                response.status_code,
                headers=response.headers,
                stream=BoundedStream(stream, self._limit),
                extensions=response.extensions,
                request=request,
            )

        async def aclose(self) -> None:
            await self._inner.aclose()

    return BoundedTransport


# -- what the model reads -------------------------------------------------------------------------
def _text_of(result: CallToolResult) -> str:
    """The result's content blocks as text: text as it is, media and binary resources summarized."""
    from mcp_types import (
        AudioContent,
        EmbeddedResource,
        ImageContent,
        ResourceLink,
        TextContent,
        TextResourceContents,
    )

    parts: list[str] = []
    has_text = False
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
            has_text = True
        elif isinstance(block, ImageContent | AudioContent):
            parts.append(f"[{block.mime_type}, {_decoded_size(block.data)} bytes]")
        elif isinstance(block, ResourceLink):
            kind = f", {block.mime_type}" if block.mime_type else ""
            parts.append(f"[resource link {block.uri}{kind}]")
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            if isinstance(resource, TextResourceContents):
                # A text resource is the tool's answer as much as a text block is: the model reads it.
                parts.append(f"[resource {resource.uri}]\n{resource.text}")
                has_text = True
            else:
                kind = resource.mime_type or "application/octet-stream"
                parts.append(f"[resource {resource.uri}, {kind}, {_decoded_size(resource.blob)} bytes]")
    if not has_text and result.structured_content is not None:
        parts.insert(0, json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _decoded_size(data: str) -> int:
    data = data.strip()
    return max(0, len(data) * 3 // 4 - data[-2:].count("="))


# -- failures as sentences ------------------------------------------------------------------------
def _failure(leaves: list[BaseException], server: McpServer) -> McpError:
    """One safe sentence for what went wrong: never an exception's own text, which may quote a header
    value, except the error message the server sent (masked) and the SDK's own protocol complaints."""
    import httpx2
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT
    from pydantic import ValidationError

    where = f"The MCP server at {_host(server.url) or 'its URL'}"
    secrets = _secrets_of(server.headers)

    def first[E: BaseException](kind: type[E] | tuple[type[E], ...]) -> E | None:
        return next((leaf for leaf in leaves if isinstance(leaf, kind)), None)

    unread = first(_Unread)
    if unread is not None:
        return McpError(f"{where} {unread.reason}.")
    timed_out = first((TimeoutError, httpx2.TimeoutException))
    error = first(MCPError)
    if timed_out is not None or (error is not None and error.code == REQUEST_TIMEOUT):
        return McpError(f"{where} did not answer within {_timeout(server):g} s.")
    if first(httpx2.ConnectError) is not None:
        return McpError(f"{where} could not be reached (the connection failed).")
    if first(httpx2.TransportError) is not None or (error is not None and error.code == CONNECTION_CLOSED):
        return McpError(f"{where} broke off the connection.")
    if error is not None:
        return McpError(f"{where} answered with an error: {_snippet(error.message, secrets)}")
    if first(ValidationError) is not None:
        return McpError(f"{where} answered something that is not valid MCP.")
    runtime = first(RuntimeError)
    if runtime is not None:
        # The SDK's protocol complaints (an unsupported version, a result not matching the tool's
        # output schema) name no secret.
        return McpError(f"{where} could not be used: {_snippet(str(runtime), secrets)}")
    return McpError(f"{where} could not be used ({type(leaves[0]).__name__}).")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _snippet(text: str, secrets: list[str]) -> str:
    text = " ".join(_mask(text, secrets).split())
    if len(text) > ERROR_SNIPPET_CHARS:
        text = text[:ERROR_SNIPPET_CHARS] + "..."
    return text if text.endswith((".", "!", "?", "...")) else f"{text}."


def _host(url: str) -> str:
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


def _log_fields(
    server: McpServer, *, offered: int | None = None, errors: list[BaseException] | None = None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"mcp_server": _host(server.url), "mcp_server_name": server.name}
    if offered is not None:
        fields["offered"] = offered
    if errors:
        # The types only: an exception's text may quote a header value.
        fields["errors"] = sorted({type(error).__name__ for error in errors})
    return fields


def _secrets_of(headers: Mapping[str, str]) -> list[str]:
    # "Bearer <key>" is masked whole, and the key alone too: a server may echo either.
    found = {value.strip() for value in headers.values()}
    found |= {part for value in headers.values() for part in value.split() if len(part) >= 8}
    return [value for value in found if len(value) >= _MIN_MASKED_LENGTH]


def _mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
