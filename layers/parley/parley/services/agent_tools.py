"""An agent's tools on write: definitions checked, header values moved into Secrets Manager.

A tool's (or an MCP server's) headers usually carry an API key, so the agent's record keeps only the
header names, each with the value ``REDACTED``; the values are one JSON secret per agent
(``store.secrets.tool_headers_name``), read by the worker when it calls the tool. A write that sends a
header as ``REDACTED`` keeps the stored value. The first HTTP tool of a workspace also creates the
workspace's tool signing secret, the key its calls are signed with (Standard Webhooks); ``POST
/v1/tool-signing-secret`` rotates it and shows the new one once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from parley import signing
from parley.http import Principal
from parley.models.tools import REDACTED, McpServerConfig, ToolDefinition, ToolSigningSecret
from parley.services.validation import invalid
from parley.store import secrets

# Where a definition's headers are kept in the agent's secret.
_TOOL = "tool:"
_SERVER = "server:"


def stored(
    workspace_id: str,
    agent: dict[str, Any],
    tools: list[ToolDefinition] | None,
    servers: list[McpServerConfig] | None,
) -> dict[str, Any]:
    """The record fields for the given tools and servers (None: keep the agent's), their header values
    stored in the agent's secret first. ``agent``: the record as it is (``tool_headers``: has a secret)."""
    changes: dict[str, Any] = {}
    tool_records = agent.get("tools") or []
    server_records = agent.get("mcp_servers") or []
    values: dict[str, dict[str, str]] = {}
    if tools is not None:
        tool_records = [tool.model_dump(exclude_none=True) for tool in tools]
        changes["tools"] = tool_records
    if servers is not None:
        server_records = [server.model_dump(exclude_none=True) for server in servers]
        changes["mcp_servers"] = server_records
    if not changes:
        return changes
    kept: dict[str, dict[str, str]] | None = None
    for key, headers in _headers_of(tool_records, server_records):
        for name, value in list(headers.items()):
            if value == REDACTED:
                if kept is None:
                    kept = headers_of_agent(workspace_id, agent["id"]) if agent.get("tool_headers") else {}
                if name not in kept.get(key, {}):
                    raise invalid(
                        "tools" if key.startswith(_TOOL) else "mcp_servers",
                        f"header {name} of {key.split(':', 1)[1]} is {REDACTED} but has no stored value",
                    )
                value = kept[key][name]
            values.setdefault(key, {})[name] = value
            headers[name] = REDACTED
    name = secrets.tool_headers_name(workspace_id, agent["id"])
    if values:
        secrets.put_named(
            name,
            json.dumps(values),
            description="Header values of a Parley agent's tools",
            tags={"parley:workspace": workspace_id, "parley:agent": agent["id"]},
            exists=bool(agent.get("tool_headers")),
        )
        changes["tool_headers"] = True
    elif agent.get("tool_headers"):
        secrets.delete_named(name)
        changes["tool_headers"] = None
    if any(tool.get("execution", {}).get("type") == "http" for tool in tool_records):
        ensure_signing_secret(workspace_id)
    return changes


def headers_of_agent(workspace_id: str, agent_id: str) -> dict[str, dict[str, str]]:
    raw = secrets.get_named(secrets.tool_headers_name(workspace_id, agent_id))
    return json.loads(raw) if raw else {}


def forget(workspace_id: str, agent: dict[str, Any]) -> None:
    """A deleted agent leaves no secret behind."""
    if agent.get("tool_headers"):
        secrets.delete_named(secrets.tool_headers_name(workspace_id, agent["id"]))


def ensure_signing_secret(workspace_id: str) -> None:
    name = secrets.tool_signing_name(workspace_id)
    if secrets.get_named(name) is None:
        _put_signing_secret(workspace_id, signing.new_secret())


def rotate_signing_secret(principal: Principal) -> ToolSigningSecret:
    """A new signing secret for the workspace's HTTP tools, shown this once."""
    principal.require_admin()
    secret = signing.new_secret()
    _put_signing_secret(principal.workspace_id, secret)
    return ToolSigningSecret(secret=secret)


def _put_signing_secret(workspace_id: str, secret: str) -> None:
    secrets.put_named(
        secrets.tool_signing_name(workspace_id),
        secret,
        description="The key Parley signs a workspace's HTTP tool calls with (Standard Webhooks)",
        tags={"parley:workspace": workspace_id},
    )


def _headers_of(
    tools: list[dict[str, Any]], servers: list[dict[str, Any]]
) -> Iterable[tuple[str, dict[str, str]]]:
    for tool in tools:
        headers = tool.get("execution", {}).get("headers")
        if headers:
            yield _TOOL + tool["function"]["name"], headers
    for server in servers:
        if server.get("headers"):
            yield _SERVER + server["name"], server["headers"]


def secret_key(kind: str, name: str) -> str:
    """The key of a tool's (``kind`` "tool") or an MCP server's ("server") headers in the secret."""
    return (_TOOL if kind == "tool" else _SERVER) + name
