"""MCP tools: parley.tools.mcp against MCP servers built with the same SDK (tests.integration.mcp_support,
on loopback, started once for the module), and MCP tools used by the real worker: an agent tool whose
execution is "mcp", and an agent's mcp_servers filtered by ``allowed_tools``.

The servers are on loopback: the calls here pass ``allow_private=True``, except where the deployment's
setting (``private_allowed``) or the guard itself is what is tested.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_MODERN_VERSION

from parley.tools import mcp
from parley.tools.base import MAX_OUTPUT_CHARS, ToolOutput, ToolRefused
from tests.integration.mcp_support import (
    API_KEY,
    PAGES,
    PER_PAGE,
    SERVER_THREAD,
    ToolServers,
    serving,
    unused_port,
)
from tests.integration.turns_support import TurnQueue

BEARER = f"Bearer {API_KEY}"
WRONG_KEY = "sk-not-this-servers-key-77e1d0"
AWS_SDK_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "moto")


@pytest.fixture(scope="module")
def running() -> Iterator[ToolServers]:
    # One uvicorn for the module: starting and stopping one per test would dominate the run time.
    with serving() as servers:
        yield servers


@pytest.fixture
def servers(running: ToolServers) -> ToolServers:
    """The module's servers, with no request recorded yet."""
    running.requests.clear()
    return running


@pytest.fixture
def private_allowed(monkeypatch):
    from parley.config import settings

    monkeypatch.setenv("PARLEY_TOOLS_ALLOW_PRIVATE_NETWORKS", "true")
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.fixture
def client_logs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[logging.LogRecord]]]:
    """This process's log records at DEBUG: Parley's (its logger does not propagate), the MCP SDK
    client's and httpx's. Left out: the test server's own lines (its thread: the remote server's, not
    ours) and the AWS SDK's, whose DEBUG wire log prints every body, Secrets Manager's included."""
    from parley.observability import logger

    caplog.set_level(logging.DEBUG)
    level = logger.level
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lambda: [
            record
            for record in caplog.records
            if record.threadName != SERVER_THREAD and not record.name.startswith(AWS_SDK_LOGGERS)
        ]
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)


def as_text(records: list[logging.LogRecord]) -> str:
    """Every field of every record (message, arguments, extra fields, exception), as one text."""
    return "\n".join(json.dumps(vars(record), default=str) for record in records)


def server(servers: ToolServers, name: str = "tools", **options: Any) -> mcp.McpServer:
    return mcp.McpServer(servers.url(name), **{"timeout_s": 5.0, **options})


def call(target: mcp.McpServer, tool: str, arguments: dict[str, Any]) -> ToolOutput:
    return mcp.call_tool(target, tool, arguments, allow_private=True)


def listing(target: mcp.McpServer) -> list[mcp.McpTool]:
    return mcp.list_tools(target, allow_private=True)


# -- headers and secrets --------------------------------------------------------------------------
def test_the_configured_headers_reach_the_server_on_every_request(servers):
    headers = {"Authorization": BEARER, "X-Tenant": "acme"}

    called = call(server(servers, headers=headers), "whoami", {})

    assert called.output == "authorized" and not called.is_error
    methods = {r["headers"].get("mcp-method") for r in servers.requests}
    assert {"server/discover", "tools/call"} <= methods
    for request in servers.requests:
        assert request["headers"]["authorization"] == BEARER
        assert request["headers"]["x-tenant"] == "acme"
        assert request["headers"]["user-agent"] == mcp.USER_AGENT
        assert request["headers"]["accept-encoding"] == "identity"
        assert request["headers"]["accept"] == "application/json, text/event-stream"
        assert request["headers"]["mcp-protocol-version"] == LATEST_MODERN_VERSION
    (sent,) = servers.calls("tools/call")
    assert sent["headers"]["mcp-name"] == "whoami"


@pytest.mark.parametrize(
    ("path", "tool", "headers", "says"),
    [
        # A tool's error quoting the header it was sent.
        ("tools", "leak", {"Authorization": BEARER}, "bad key ***"),
        # A wrong key echoed back: it is as secret as the right one.
        ("tools", "whoami", {"Authorization": f"Bearer {WRONG_KEY}"}, "unauthorized: '***' is not a key"),
        # A server refusing every request with a JSON-RPC error that quotes the header.
        (
            "refusing",
            "add",
            {"Authorization": BEARER},
            "answered with an error: unauthorized: *** is not a key",
        ),
    ],
)
def test_header_values_never_reach_an_error_output_or_the_logs(
    servers, client_logs, path, tool, headers, says
):
    secret = headers["Authorization"].removeprefix("Bearer ")

    failed = call(server(servers, path, headers=headers), tool, {})

    assert failed.is_error and says in failed.output
    assert secret not in failed.output and secret not in json.dumps(failed.detail)
    records = client_logs()
    # The SDK client's debug lines were captured: the absence below is not for want of logs.
    assert any(record.name.startswith("mcp.client") for record in records)
    assert secret not in as_text(records)


def test_a_listing_that_fails_raises_an_mcp_error_with_the_header_values_masked(servers, client_logs):
    with pytest.raises(mcp.McpError) as raised:
        listing(server(servers, "refusing", headers={"Authorization": BEARER}))

    assert raised.value.message == (
        "The MCP server at 127.0.0.1 answered with an error: unauthorized: *** is not a key of this server."
    )
    assert API_KEY not in str(raised.value) and raised.value.__cause__ is None
    records = client_logs()
    (warning,) = [r for r in records if r.name == "parley" and r.getMessage() == "MCP server failed"]
    assert vars(warning)["errors"] == ["MCPError"]
    assert API_KEY not in as_text(records)


# -- what the model reads -------------------------------------------------------------------------
def test_an_output_longer_than_the_limit_is_truncated_and_says_so(servers):
    fits = call(server(servers), "big", {"chars": MAX_OUTPUT_CHARS})
    cut = call(server(servers), "big", {"chars": MAX_OUTPUT_CHARS + 1})

    assert len(fits.output) == MAX_OUTPUT_CHARS and "truncated" not in fits.detail
    assert cut.output == "x" * MAX_OUTPUT_CHARS
    assert cut.detail["truncated"] is True and not cut.is_error


def test_a_response_past_the_read_bound_is_not_read(servers, monkeypatch):
    monkeypatch.setattr(mcp, "MAX_RESPONSE_BYTES", 2**20)

    refused = call(server(servers), "big", {"chars": 2 * 2**20})

    assert refused.is_error
    assert refused.output == "The MCP server at 127.0.0.1 answered more than 1 MiB; not read."


def test_images_and_resources_are_summarized_and_text_resources_read(servers):
    media = call(server(servers), "media", {})

    assert not media.is_error
    assert media.output.splitlines() == [
        "a picture:",
        "[image/png, 108 bytes]",
        "[resource link https://example.com/report.pdf, application/pdf]",
        "[resource file:///notes.txt]",
        "the notes",
        "[resource file:///logo.png, image/png, 108 bytes]",
    ]


def test_structured_content_without_text_is_given_as_json(servers):
    structured = call(server(servers), "structured", {})

    assert json.loads(structured.output) == {"temperature": 21.5, "unit": "C"}


@pytest.mark.parametrize(
    ("tool", "output"),
    [
        ("explode", "Error executing tool explode: the tool broke"),
        ("fails_quietly", "The MCP tool fails_quietly reported an error without a message."),
    ],
)
def test_an_is_error_result_is_an_error_output(servers, tool, output):
    failed = call(server(servers), tool, {})

    assert failed.is_error and failed.output == output
    assert failed.detail["is_error"] is True and failed.detail["server"] == "127.0.0.1"


def test_a_tool_argument_marked_x_mcp_header_is_mirrored_into_its_header(servers):
    # 2026-07-28: the server checks Mcp-Param-Region against the body. The SDK learns the annotation
    # from the listing made before the call, so the one call carries it (none is refused and resent).
    ran = call(server(servers), "in_region", {"region": "eu-west-1"})

    assert ran.output == "running in eu-west-1" and not ran.is_error
    (sent,) = servers.calls("tools/call")
    assert sent["headers"]["mcp-param-region"] == "eu-west-1"


def methods_sent(servers: ToolServers) -> list[str]:
    return [r["headers"].get("mcp-method") for r in servers.requests if r["headers"].get("mcp-method")]


def test_a_tool_is_listed_before_it_is_called_and_never_after(servers):
    # The SDK validates a result against the tool's listed output schema: listed afterwards, a listing
    # that failed would turn a call that ran into an error the model retries, running the tool twice.
    ran = call(server(servers), "add", {"a": 2, "b": 3})

    assert ran.output == "5" and not ran.is_error
    assert methods_sent(servers)[-2:] == ["tools/list", "tools/call"]


def test_the_listing_before_a_call_pages_until_it_names_the_tool(servers):
    ran = call(server(servers, "paged"), "tool_1_0", {})

    assert ran.output == "called tool_1_0" and not ran.is_error
    assert methods_sent(servers)[-3:] == ["tools/list", "tools/list", "tools/call"]


# -- listings -------------------------------------------------------------------------------------
def test_a_paged_listing_is_collected_across_its_pages(servers, client_logs):
    tools = listing(server(servers, "paged"))

    assert [tool.name for tool in tools] == [f"tool_{p}_{n}" for p in range(PAGES) for n in range(PER_PAGE)]
    assert tools[0].input_schema == {"type": "object"} and tools[0].description == "page 0"
    assert len(servers.calls("tools/list")) == PAGES
    assert not [r for r in client_logs() if r.name == "parley" and r.levelno >= logging.WARNING]


def test_the_names_and_input_schemas_of_a_listing(servers):
    tools = {tool.name: tool for tool in listing(server(servers))}

    assert {"add", "echo", "explode", "whoami", "media"} <= set(tools)
    assert tools["add"].input_schema["required"] == ["a", "b"]
    assert tools["add"].description == "Add two integers."


def test_an_endless_cursor_stops_after_max_pages_and_warns(servers, client_logs):
    tools = listing(server(servers, "endless"))

    assert len(tools) == mcp.MAX_PAGES * PER_PAGE
    assert len(servers.calls("tools/list")) == mcp.MAX_PAGES
    (warning,) = [r for r in client_logs() if r.name == "parley" and r.levelno == logging.WARNING]
    assert warning.getMessage() == "MCP server lists more tools than are offered"
    assert vars(warning)["offered"] == len(tools)


def test_a_cursor_handed_out_twice_ends_the_listing(servers):
    tools = listing(server(servers, "repeating"))

    assert [tool.name for tool in tools] == ["tool_0_0", "tool_0_1", "tool_1_0", "tool_1_1"]
    assert len(servers.calls("tools/list")) == 2


def test_a_listing_is_cut_at_max_tools(servers, monkeypatch):
    monkeypatch.setattr(mcp, "MAX_TOOLS", 5)

    tools = listing(server(servers, "paged"))

    assert [tool.name for tool in tools] == ["tool_0_0", "tool_0_1", "tool_1_0", "tool_1_1", "tool_2_0"]


# -- protocol eras and servers that are not MCP ---------------------------------------------------
def test_a_server_that_only_speaks_the_initialize_handshake_is_used_through_it(servers):
    listed = listing(server(servers, "legacy"))
    servers.requests.clear()

    called = call(server(servers, "legacy"), "add", {"a": 2, "b": 3})

    assert "add" in {tool.name for tool in listed}
    assert called.output == "5" and not called.is_error
    probe, handshake, *session = servers.requests
    assert probe["headers"]["mcp-method"] == "server/discover"  # refused: a version it does not know
    assert "mcp-protocol-version" not in handshake["headers"] and "mcp-session-id" not in handshake["headers"]
    session_ids = {r["headers"].get("mcp-session-id") for r in session}
    assert len(session_ids) == 1 and None not in session_ids
    assert {r["headers"]["mcp-protocol-version"] for r in session} <= set(HANDSHAKE_PROTOCOL_VERSIONS)
    assert session[-1]["method"] == "DELETE"  # the session is ended, not left to expire


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/not-mcp", "answered with an error: Unexpected content type: text/html; charset=utf-8."),
        ("/missing", "answered with an error: Not Found."),
    ],
)
def test_a_url_that_is_not_an_mcp_server_is_a_clear_error(servers, path, says):
    url = servers.base + path

    with pytest.raises(mcp.McpError) as raised:
        listing(mcp.McpServer(url, timeout_s=5))
    called = call(mcp.McpServer(url, timeout_s=5), "add", {"a": 1, "b": 1})

    assert raised.value.message == f"The MCP server at 127.0.0.1 {says}"
    assert called.is_error and called.output == raised.value.message


# -- bounds and the network guard -----------------------------------------------------------------
def test_a_slow_server_hits_the_timeout_as_an_error_output(servers):
    started = time.monotonic()

    late = call(server(servers, timeout_s=0.5), "slow", {"seconds": 10})

    assert time.monotonic() - started < 3
    assert late.is_error and late.output == "The MCP server at 127.0.0.1 did not answer within 0.5 s."
    assert late.detail["duration_ms"] < 3000


def test_a_server_that_is_down_is_an_error_output_not_an_exception():
    down = call(mcp.McpServer(f"http://127.0.0.1:{unused_port()}/mcp", timeout_s=3), "add", {})

    assert down.is_error
    assert down.output == "The MCP server at 127.0.0.1 could not be reached (the connection failed)."


def test_loopback_is_refused_unless_the_deployment_allows_it(servers, aws):
    refused = mcp.call_tool(server(servers), "add", {"a": 1, "b": 1})

    assert refused.is_error and "refused" in refused.output
    with pytest.raises(ToolRefused):
        mcp.list_tools(server(servers))
    assert servers.requests == []  # refused before any connection


def test_loopback_is_reached_where_the_deployment_allows_it(servers, aws, private_allowed):
    assert mcp.call_tool(server(servers), "add", {"a": 1, "b": 1}).output == "2"


# -- through the worker ---------------------------------------------------------------------------
def run_turn(
    invoke, aws, key: str, content: str, script: list[dict[str, Any]], **agent: Any
) -> dict[str, Any]:
    """An agent on the scripted model, one message sent to it, and the turn drained through the worker."""
    provider = invoke(
        "CreateProviderFunction",
        key=key,
        body={"name": "p", "kind": "scripted", "options": {"script": script}},
    ).body
    created = invoke(
        "CreateAgentFunction", key=key, body={"name": "mcp", "provider_id": provider["id"], **agent}
    )
    assert created.status == 201, created.body
    conversation = invoke("CreateConversationFunction", key=key, body={"agent_id": created.body["id"]}).body
    sent = invoke(
        "SendMessageFunction",
        key=key,
        path={"conversation_id": conversation["id"]},
        body={"content": content},
    )
    assert sent.status == 202, sent.body

    TurnQueue(aws).drain()

    turn = invoke(
        "GetTurnFunction",
        key=key,
        path={"conversation_id": conversation["id"], "turn_id": sent.body["turn"]["id"]},
    ).body
    assert turn["status"] == "completed", turn
    reply = invoke(
        "GetMessageFunction",
        key=key,
        path={"conversation_id": conversation["id"], "message_id": turn["reply_message_id"]},
    ).body
    return {"agent": created.body, "turn": turn, "reply": reply}


def test_an_agent_tool_executed_by_mcp_is_called_with_its_headers_and_the_model_reads_its_output(
    invoke, admin, aws, servers, private_allowed, client_logs
):
    whoami = {
        "type": "function",
        "function": {"name": "whoami", "parameters": {"type": "object", "properties": {}}},
        "execution": {
            "type": "mcp",
            "server_url": servers.url("tools"),
            "headers": {"Authorization": BEARER},
        },
    }
    script = [{"match": "^who", "tool_calls": [{"name": "whoami", "arguments": {}}]}]

    ran = run_turn(invoke, aws, admin["key"], "who am I?", script, tools=[whoami])

    (step,) = [s for s in ran["turn"]["steps"] if s["type"] == "tool"]
    assert step["detail"]["execution"] == "mcp" and step["detail"]["output"] == "authorized"
    assert ran["reply"]["content"] == "Tool results: whoami: authorized"
    (sent,) = servers.calls("tools/call")
    assert sent["headers"]["authorization"] == BEARER and sent["headers"]["mcp-name"] == "whoami"
    assert ran["agent"]["tools"][0]["execution"]["headers"] == {"Authorization": "REDACTED"}
    records = client_logs()
    assert any(record.name.startswith("mcp.client") for record in records)
    assert API_KEY not in json.dumps(ran) and API_KEY not in as_text(records)


def test_allowed_tools_offers_only_those_of_an_agents_mcp_server(
    invoke, admin, aws, servers, private_allowed
):
    tool_calls = [
        {"name": "add", "arguments": {"a": 2, "b": 40}},
        {"name": "echo", "arguments": {"text": "hi"}},
    ]
    script = [{"match": "^add", "tool_calls": tool_calls}]
    mcp_servers = [{"name": "calc", "url": servers.url("tools"), "allowed_tools": ["add"]}]

    ran = run_turn(invoke, aws, admin["key"], "add them", script, mcp_servers=mcp_servers)

    steps = ran["turn"]["steps"]
    (listed,) = [s for s in steps if s["type"] == "tool_list"]
    assert listed["name"] == "mcp:calc" and listed["detail"]["tools"] == ["add"]
    added, hidden = [s for s in steps if s["type"] == "tool"]
    assert added["detail"]["execution"] == "mcp" and added["detail"]["output"] == "42"
    assert hidden["detail"]["is_error"] is True
    offered = hidden["detail"]["output"].removeprefix("There is no tool named 'echo'. The tools are: ")
    assert "add" in offered.rstrip(".").split(", ") and "echo" not in offered and "explode" not in offered
    assert [c["headers"]["mcp-name"] for c in servers.calls("tools/call")] == ["add"]
