"""Remote MCP tools over Streamable HTTP, through the official ``mcp`` SDK (imported on first use:
it is heavy, and only a turn with an MCP tool pays for it).

The SDK is asynchronous; the worker is not, so each call runs its own event loop (``anyio.run``)
for one session: initialize, then ``tools/list`` or ``tools/call``. The server's URL passes
``network``'s guard first; unlike the HTTP executor, httpx connects by hostname itself, so a DNS
answer that changes between the check and the connection is not pinned. Header values are secrets:
no output or error here ever carries one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from parley.tools.base import MAX_OUTPUT_CHARS, ToolOutput, ToolRefused
from parley.tools.network import check_url

MAX_LIST_PAGES = 10
MAX_TOOLS = 500


@dataclass(frozen=True)
class McpServer:
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0
    name: str = ""


@dataclass(frozen=True)
class McpTool:
    name: str
    description: str
    input_schema: dict[str, Any]


class McpError(Exception):
    """The server could not be reached or did not answer as an MCP server; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def list_tools(server: McpServer) -> list[McpTool]:
    """The server's tools (every page, bounded); raises ToolRefused or McpError."""
    check_url(server.url)

    async def listing(session: Any) -> list[McpTool]:
        found: list[McpTool] = []
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            from mcp_types import PaginatedRequestParams

            page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
            for tool in page.tools:
                found.append(McpTool(tool.name, tool.description or "", dict(tool.input_schema or {})))
            cursor = page.next_cursor
            if not cursor or len(found) >= MAX_TOOLS:
                break
        return found[:MAX_TOOLS]

    return _session(server, listing)


def call_tool(server: McpServer, name: str, arguments: dict[str, Any]) -> ToolOutput:
    """``tools/call``; every fault (refused URL, server down, ``isError``) is an error output."""
    began = time.perf_counter()
    detail: dict[str, Any] = {"server": urlsplit(server.url).hostname or ""}

    async def calling(session: Any) -> Any:
        return await session.call_tool(name, arguments)

    try:
        check_url(server.url)
        result = _session(server, calling)
    except (ToolRefused, McpError) as exc:
        return ToolOutput(exc.message, is_error=True, detail={**detail, "duration_ms": _ms(began)})
    text = _text(result)
    truncated = len(text) > MAX_OUTPUT_CHARS
    detail.update(duration_ms=_ms(began), is_error=bool(result.is_error))
    if truncated:
        detail["truncated"] = True
    return ToolOutput(text[:MAX_OUTPUT_CHARS], is_error=bool(result.is_error), detail=detail)


def _session(server: McpServer, work: Any) -> Any:
    import anyio
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> Any:
        timeout = httpx2.Timeout(server.timeout_s)
        with anyio.fail_after(server.timeout_s):
            async with (
                httpx2.AsyncClient(headers=dict(server.headers), timeout=timeout) as http,
                streamable_http_client(server.url, http_client=http) as (read, write),
                ClientSession(read, write, read_timeout_seconds=server.timeout_s) as session,
            ):
                await session.initialize()
                return await work(session)

    where = urlsplit(server.url).hostname or "the server"
    try:
        return anyio.run(run)
    except TimeoutError as exc:
        raise McpError(f"The MCP server at {where} did not answer within {server.timeout_s:g} s.") from exc
    except Exception as exc:  # transport, protocol and task-group errors all mean the same to the model
        raise McpError(f"The MCP server at {where} could not be used ({_reason(exc)}).") from exc


def _reason(exc: BaseException) -> str:
    # An exception group (anyio's task groups) says nothing by itself: name what is inside it.
    inner = getattr(exc, "exceptions", None)
    if inner:
        return _reason(inner[0])
    return type(exc).__name__


def _text(result: Any) -> str:
    parts: list[str] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        else:
            mime = getattr(block, "mime_type", None) or kind
            parts.append(f"[{mime} content]")
    if not parts and getattr(result, "structured_content", None) is not None:
        parts.append(json.dumps(result.structured_content))
    return "\n".join(parts)


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)
