"""The tools one turn offers the model, and running one of them.

A turn's tools are, by name: the built-in tools that apply (registered by the agent floor, which
hands in their implementation), the agent's definitions, the message's definitions (which win over
the agent's of the same name) and the tools its MCP servers list. Each is a ``Tool``: the spec the
model sees, who runs it (``builtin``, ``client``, ``http`` or ``mcp``), and what running it needs.

Arguments are checked against the tool's JSON Schema before anything runs: a call the model got
wrong is answered with a tool error it can correct, never run with bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from parley.providers.base import ToolSpec
from parley.tools.base import MAX_OUTPUT_CHARS, ToolOutput

Kind = Literal["builtin", "client", "http", "mcp"]


@dataclass(frozen=True)
class TurnContext:
    """What a built-in tool may read of the turn it runs in (records, as the worker read them)."""

    turn: dict[str, Any]
    conversation: dict[str, Any]
    agent: dict[str, Any]
    user_id: str | None = None  # the end user the turn answers, where memory is on for it


# (the turn's context, arguments) -> the text the model reads.
BuiltinRun = Callable[[TurnContext, dict[str, Any]], str]
# (conversation, agent settings) -> offered in this turn?
Applies = Callable[[dict[str, Any], dict[str, Any]], bool]
# What an executor needs from above, handed in by the agent floor: (kind "tool"|"server", name) ->
# the header values; the workspace's signing secret.
HeadersOf = Callable[[str, str], Mapping[str, str]]


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    kind: Kind
    run: BuiltinRun | None = None  # builtin only
    execution: Mapping[str, Any] = field(default_factory=dict)  # http / mcp: the definition's execution
    server: str = ""  # mcp tools of an agent's mcp_servers: the server's name (its headers' key)
    # A tool another workspace offers: that workspace and its agent that defines the tool (whose
    # header values and signing secret an http/mcp call uses, server-side only).
    owner_workspace: str = ""
    owner_agent: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Builtin:
    spec: ToolSpec
    run: BuiltinRun
    applies: Applies


_BUILTINS: dict[str, Builtin] = {}


def register(spec: ToolSpec, run: BuiltinRun, applies: Applies) -> None:
    """A built-in tool (the agent floor registers its own: finish_job, search_knowledge, ...)."""
    _BUILTINS[spec.name] = Builtin(spec, run, applies)


def from_definition(definition: Mapping[str, Any]) -> Tool:
    """A Tool from a stored definition (``models.tools.ToolDefinition`` dumped)."""
    function = definition["function"]
    execution = definition.get("execution") or {"type": "client"}
    spec = ToolSpec(
        name=function["name"],
        description=function.get("description") or "",
        parameters=function.get("parameters") or {"type": "object", "properties": {}},
        strict=function.get("strict"),
    )
    return Tool(spec=spec, kind=execution.get("type", "client"), execution=execution)


def builtins_for(conversation: dict[str, Any], agent: dict[str, Any]) -> dict[str, Tool]:
    return {
        name: Tool(spec=builtin.spec, kind="builtin", run=builtin.run)
        for name, builtin in _BUILTINS.items()
        if builtin.applies(conversation, agent)
    }


def check_arguments(tool: Tool, arguments: dict[str, Any]) -> str | None:
    """Why ``arguments`` do not fit the tool's schema (a sentence for the model), or None."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(tool.spec.parameters)
    problems = sorted(validator.iter_errors(arguments), key=lambda error: list(error.path))[:5]
    if not problems:
        return None
    return "; ".join(
        (f"{'/'.join(str(p) for p in error.path)}: " if error.path else "") + error.message
        for error in problems
    )


def run_server_side(
    tool: Tool,
    context: TurnContext,
    arguments: dict[str, Any],
    *,
    call_key: str,
    headers_of: HeadersOf,
    signing_secret: Callable[[], str],
) -> ToolOutput:
    """Run a builtin, http or mcp tool. ``call_key`` is the same on every delivery of the turn at this
    point of its loop: an HTTP tool sends it as ``webhook-id``, so its server can drop a repeat."""
    if tool.kind == "builtin":
        assert tool.run is not None
        return _bounded(ToolOutput(tool.run(context, arguments)))
    if tool.kind == "http":
        from parley.tools import http

        target = http.HttpTarget(
            url=tool.execution["url"],
            method=tool.execution.get("method", "POST"),
            headers=_headers(tool.execution, lambda: headers_of("tool", tool.spec.name)),
            timeout_s=float(tool.execution.get("timeout_s", 10)),
        )
        return http.call(target, arguments, message_id=call_key, signing_secret=signing_secret())
    if tool.kind == "mcp":
        from parley.tools import mcp

        key = ("server", tool.server) if tool.server else ("tool", tool.spec.name)
        server = mcp.McpServer(
            url=tool.execution["server_url"],
            headers=_headers(tool.execution, lambda: headers_of(*key)),
            timeout_s=float(tool.execution.get("timeout_s", 30)),
            name=tool.server,
        )
        return mcp.call_tool(server, tool.spec.name, arguments)
    raise ValueError(f"tool {tool.spec.name} is run by the client, not here")


def mcp_server_tools(server: Mapping[str, Any], headers_of: HeadersOf) -> tuple[dict[str, Tool], str | None]:
    """The tools an agent's MCP server lists (all, or its ``allowed_tools``), and why not, if it failed."""
    from parley.tools import mcp
    from parley.tools.base import ToolRefused

    config = mcp.McpServer(
        url=server["url"],
        headers=_headers(server, lambda: headers_of("server", server["name"])),
        timeout_s=float(server.get("timeout_s", 30)),
        name=server["name"],
    )
    try:
        listed = mcp.list_tools(config)
    except ToolRefused as exc:
        return {}, exc.message
    except mcp.McpError as exc:
        return {}, exc.message
    allowed = set(server["allowed_tools"]) if server.get("allowed_tools") is not None else None
    execution = {"type": "mcp", "server_url": server["url"], "timeout_s": server.get("timeout_s", 30)}
    if server.get("headers"):
        execution["headers"] = server["headers"]
    found: dict[str, Tool] = {}
    for item in listed:
        if allowed is not None and item.name not in allowed:
            continue
        spec = ToolSpec(item.name, item.description, item.input_schema or {"type": "object"})
        found[item.name] = Tool(spec=spec, kind="mcp", execution=execution, server=server["name"])
    return found, None


def _headers(execution: Mapping[str, Any], stored: Callable[[], Mapping[str, str]]) -> dict[str, str]:
    """The definition's header names with their values from the secret (read only if it has any)."""
    names = execution.get("headers") or {}
    if not names:
        return {}
    values = stored()
    return {name: values[name] for name in names if name in values}


def _bounded(output: ToolOutput) -> ToolOutput:
    if len(output.output) <= MAX_OUTPUT_CHARS:
        return output
    return ToolOutput(output.output[:MAX_OUTPUT_CHARS], output.is_error, {**output.detail, "truncated": True})


def output_text(value: Any) -> str:
    """A client's tool output as the model reads it: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
