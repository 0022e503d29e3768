"""A small MCP server (the official SDK's MCPServer, Streamable HTTP) for the MCP tool tests:
``python -m tests.integration.mcp_server PORT``."""

from __future__ import annotations

import sys

import uvicorn
from mcp.server.mcpserver.server import MCPServer

server: MCPServer = MCPServer("parley-test-tools")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def explode() -> str:
    """Always fails."""
    raise ValueError("the tool broke")


if __name__ == "__main__":
    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
