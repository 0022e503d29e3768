"""MCP servers built with the official SDK, served over Streamable HTTP on 127.0.0.1 from a thread.

One uvicorn serves them all, each under its own path (``ToolServers.url(...)``):

* ``/tools/mcp`` - an ``MCPServer`` with the tools the tests call (``add``, ``echo``, ``explode``, ...);
* ``/legacy/mcp`` - the same server as one that only speaks the ``initialize`` handshake: a request
  at the 2026-07-28 protocol version is answered as servers before it answer an unknown version;
* ``/paged/mcp`` - a low-level ``Server`` that lists its tools over pages (``PAGES`` x ``PER_PAGE``);
* ``/endless/mcp`` - one whose listing hands out a new cursor forever;
* ``/repeating/mcp`` - one whose listing hands out the same cursor again and again;
* ``/refusing/mcp`` - one that refuses every request with a JSON-RPC error quoting the caller's
  ``authorization`` header, as a careless server does;
* ``/not-mcp`` - a web page, not an MCP server (any other path is a 404).

Every HTTP request is recorded (method, path and headers) in ``ToolServers.requests``. The server runs
in the thread named ``SERVER_THREAD``: its own log lines (which may quote what a client sent) are the
remote server's, not Parley's.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import uvicorn
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import (
    BlobResourceContents,
    CallToolRequestParams,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ListToolsResult,
    PaginatedRequestParams,
    ResourceLink,
    TextContent,
    TextResourceContents,
    Tool,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

API_KEY = "sk-mcp-server-key-5c4b3a2910"
PAGES = 3
PER_PAGE = 2
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(100))
SERVER_THREAD = "mcp-test-server"


@dataclass
class ToolServers:
    base: str
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}/mcp"

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The recorded POSTs of one JSON-RPC method (2026-07-28 requests name it in ``mcp-method``)."""
        return [r for r in self.requests if r["headers"].get("mcp-method") == method]


def tools_server() -> MCPServer:
    # MCPServer configures the root logger (logging.basicConfig); the test process keeps its own.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    server: MCPServer = MCPServer("parley-test-tools", log_level="WARNING")
    root.handlers[:] = handlers
    root.setLevel(level)

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Say the text back."""
        return text

    @server.tool()
    def explode() -> str:
        """Always fails."""
        raise ToolError("the tool broke")

    @server.tool()
    def whoami(ctx: Context) -> str:
        """Who the caller is, by its authorization header; a wrong one is echoed in the error."""
        authorization = (ctx.headers or {}).get("authorization", "")
        if authorization != f"Bearer {API_KEY}":
            raise ToolError(f"unauthorized: {authorization!r} is not a key of this server")
        return "authorized"

    @server.tool()
    def leak(ctx: Context) -> str:
        """Fails, quoting the caller's authorization header."""
        raise ToolError(f"bad key {(ctx.headers or {}).get('authorization', '')}")

    @server.tool()
    def big(chars: int) -> str:
        """A text of ``chars`` characters."""
        return "x" * chars

    @server.tool()
    async def slow(seconds: float) -> str:
        """Answers after ``seconds``."""
        await anyio.sleep(seconds)
        return "late"

    @server.tool()
    def in_region(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]) -> str:
        """Where it runs; ``region`` is mirrored into the ``Mcp-Param-Region`` header (2026-07-28)."""
        return f"running in {region}"

    @server.tool()
    def media() -> CallToolResult:
        """An image, a link and two embedded resources: a text and a binary one."""
        png = base64.b64encode(PNG_BYTES).decode()
        return CallToolResult(
            content=[
                TextContent(text="a picture:"),
                ImageContent(data=png, mime_type="image/png"),
                ResourceLink(
                    name="report", uri="https://example.com/report.pdf", mime_type="application/pdf"
                ),
                EmbeddedResource(resource=TextResourceContents(uri="file:///notes.txt", text="the notes")),
                EmbeddedResource(
                    resource=BlobResourceContents(uri="file:///logo.png", blob=png, mime_type="image/png")
                ),
            ]
        )

    @server.tool()
    def fails_quietly() -> CallToolResult:
        """An isError result with no content at all."""
        return CallToolResult(content=[], is_error=True)

    @server.tool()
    def structured() -> CallToolResult:
        """Only structured content, no text block."""
        return CallToolResult(content=[], structured_content={"temperature": 21.5, "unit": "C"})

    return server


def paged_server(cursors: str) -> Server[Any]:
    """A listing over pages; ``cursors`` is "paged" (PAGES pages), "endless" or "repeating"."""

    async def list_tools(ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        page = int(params.cursor) if params and params.cursor else 0
        tools = [
            Tool(name=f"tool_{page}_{n}", description=f"page {page}", input_schema={"type": "object"})
            for n in range(PER_PAGE)
        ]
        if cursors == "repeating":
            return ListToolsResult(tools=tools, next_cursor="1")
        more = cursors == "endless" or page + 1 < PAGES
        return ListToolsResult(tools=tools, next_cursor=str(page + 1) if more else None)

    async def call_tool(ctx: Any, params: CallToolRequestParams) -> CallToolResult:
        return CallToolResult(content=[TextContent(text=f"called {params.name}")])

    return Server("parley-test-paged", on_list_tools=list_tools, on_call_tool=call_tool)


class _HandshakeOnly:
    """A server from before 2026-07-28: the MCP-Protocol-Version header must be a handshake version."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            version = dict(scope["headers"]).get(b"mcp-protocol-version", b"").decode()
            if version and version not in HANDSHAKE_PROTOCOL_VERSIONS:
                error = {"code": -32600, "message": f"Bad Request: Unsupported protocol version: {version}"}
                body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class _Recorder:
    def __init__(self, app: ASGIApp, requests: list[dict[str, Any]]) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
            self.requests.append({"method": scope["method"], "path": scope["path"], "headers": headers})
        await self.app(scope, receive, send)


async def _web_page(request: Request) -> HTMLResponse:
    return HTMLResponse("<html><body>Welcome</body></html>")


async def _refusing(request: Request) -> JSONResponse:
    authorization = request.headers.get("authorization", "")
    error = {"code": -32600, "message": f"unauthorized: {authorization} is not a key of this server"}
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": error}, status_code=401)


def _app(requests: list[dict[str, Any]]) -> ASGIApp:
    tools, legacy = tools_server(), tools_server()
    mcp_apps = {
        "tools": tools.streamable_http_app(),
        "legacy": legacy.streamable_http_app(),
        "paged": paged_server("paged").streamable_http_app(),
        "endless": paged_server("endless").streamable_http_app(),
        "repeating": paged_server("repeating").streamable_http_app(),
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A mounted app's lifespan (its MCP session manager) is not run by Starlette: run them here.
        async with contextlib.AsyncExitStack() as stack:
            for mounted in mcp_apps.values():
                await stack.enter_async_context(mounted.router.lifespan_context(mounted))
            yield

    routes: list[BaseRoute] = [
        Route("/not-mcp", _web_page, methods=["GET", "POST"]),
        Route("/refusing/mcp", _refusing, methods=["GET", "POST", "DELETE"]),
    ]
    for name, mounted in mcp_apps.items():
        routes.append(Mount(f"/{name}", app=_HandshakeOnly(mounted) if name == "legacy" else mounted))
    return _Recorder(Starlette(routes=routes, lifespan=lifespan), requests)


@contextlib.contextmanager
def serving() -> Iterator[ToolServers]:
    """The servers on a free loopback port, for the life of the block (bounded start and stop)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    servers = ToolServers(f"http://127.0.0.1:{port}")
    config = uvicorn.Config(
        _app(servers.requests),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=SERVER_THREAD, daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the MCP test server did not start")
            time.sleep(0.02)
        yield servers
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def unused_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
