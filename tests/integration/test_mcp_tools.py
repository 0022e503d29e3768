"""MCP tools: the executor against a real MCP server built with the same SDK (on loopback, in a
process of its own), and an agent's mcp_servers used by the real worker."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.integration.turns_support import TurnQueue


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.integration.mcp_server", str(port)])  # noqa: S603 - our own module
    try:
        for _ in range(100):  # up to 10 s for the server to listen
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def private_allowed(monkeypatch):
    from parley.config import settings

    monkeypatch.setenv("PARLEY_TOOLS_ALLOW_PRIVATE_NETWORKS", "true")
    settings.cache_clear()
    yield
    settings.cache_clear()


def test_list_tools_gives_names_and_input_schemas(aws, mcp_url, private_allowed):
    from parley.tools import mcp

    tools = {tool.name: tool for tool in mcp.list_tools(mcp.McpServer(mcp_url))}

    assert set(tools) == {"add", "explode"}
    assert tools["add"].input_schema["required"] == ["a", "b"]


def test_a_call_returns_its_text_and_a_failing_tool_is_an_error_output(aws, mcp_url, private_allowed):
    from parley.tools import mcp

    server = mcp.McpServer(mcp_url)

    assert mcp.call_tool(server, "add", {"a": 2, "b": 3}).output == "5"
    failed = mcp.call_tool(server, "explode", {})
    assert failed.is_error and "explode" in failed.output


def test_a_server_that_is_down_is_an_error_output_not_an_exception(aws, private_allowed):
    from parley.tools import mcp

    down = mcp.call_tool(mcp.McpServer(f"http://127.0.0.1:{_free_port()}/mcp", timeout_s=3), "add", {})

    assert down.is_error and "could not be reached" in down.output


def test_loopback_is_refused_unless_the_deployment_allows_it(aws, mcp_url):
    from parley.tools import mcp

    refused = mcp.call_tool(mcp.McpServer(mcp_url), "add", {"a": 1, "b": 1})

    assert refused.is_error and "refused" in refused.output


def test_an_agents_mcp_server_tools_are_called_by_the_worker(invoke, admin, aws, mcp_url, private_allowed):
    key = admin["key"]
    script = [{"match": "^add", "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}]}]
    provider = invoke(
        "CreateProviderFunction",
        key=key,
        body={"name": "p", "kind": "scripted", "options": {"script": script}},
    ).body
    agent = invoke(
        "CreateAgentFunction",
        key=key,
        body={
            "name": "mcp",
            "provider_id": provider["id"],
            "mcp_servers": [{"name": "calc", "url": mcp_url}],
        },
    )
    assert agent.status == 201, agent.body
    conversation = invoke("CreateConversationFunction", key=key, body={"agent_id": agent.body["id"]}).body
    sent = invoke(
        "SendMessageFunction",
        key=key,
        path={"conversation_id": conversation["id"]},
        body={"content": "add them"},
    ).body

    TurnQueue(aws).drain()

    turn = invoke(
        "GetTurnFunction",
        key=key,
        path={"conversation_id": conversation["id"], "turn_id": sent["turn"]["id"]},
    ).body
    assert turn["status"] == "completed", turn
    listed = next(s for s in turn["steps"] if s["type"] == "tool_list")
    assert listed["name"] == "mcp:calc" and listed["detail"]["tools"] == ["add", "explode"]
    called = next(s for s in turn["steps"] if s["type"] == "tool")
    assert called["detail"]["execution"] == "mcp" and called["detail"]["output"] == "42"
