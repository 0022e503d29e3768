"""The tools of one turn, as the agent floor assembles them for parley.tools: built-ins that apply,
the agent's and the message's definitions, and the tools the agent's MCP servers list; and what
running them needs from above (header values and the signing secret, from Secrets Manager)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from parley.agent import builtin_tools  # noqa: F401 - importing it registers the built-in tools
from parley.agent.steps import Timer, error_detail, timed
from parley.cache import ttl_cache
from parley.providers.base import ToolCall
from parley.store import secrets
from parley.tools import toolset
from parley.tools.base import ToolOutput, ToolRefused
from parley.tools.toolset import Tool, TurnContext

# Header values and the signing secret are read at most this often per warm container: an agent's
# update reaches running workers within it.
SECRET_CACHE_SECONDS = 30


def for_turn(
    turn: dict[str, Any], conversation: dict[str, Any], agent: dict[str, Any], steps: list[dict[str, Any]]
) -> dict[str, Tool]:
    if agent.get("use_tools") is False:
        return {}
    available = toolset.builtins_for(conversation, agent)
    for server in agent.get("mcp_servers") or []:
        timer = Timer()
        listed, problem = toolset.mcp_server_tools(server, partial(_headers, turn["workspace_id"], agent))
        detail: dict[str, Any] = {"tools": sorted(listed)}
        if problem:
            detail["error"] = {"type": "mcp_unavailable", "message": problem}
        steps.append(timed("tool_list", f"mcp:{server['name']}", timer, detail))
        for name, tool in listed.items():
            available.setdefault(name, tool)
    for reference in agent.get("offered_tools") or []:
        _add_offered(reference, available, steps)
    # The message's own definitions win over the agent's of the same name; built-ins keep theirs.
    for definition in [*(agent.get("tools") or []), *(turn.get("tools") or [])]:
        tool = toolset.from_definition(definition)
        available[tool.spec.name] = tool
    return available


def run(tool: Tool, context: TurnContext, call: ToolCall, call_key: str) -> ToolOutput:
    """A server-side tool's output; a fault of ours (a secret that cannot be read, a bug in a
    built-in) is an error output the model reads, never a failed turn."""
    turn, agent = context.turn, context.agent
    # An offered tool runs with its offerer's headers and is signed with the offerer's secret.
    workspace_id, owner = (
        (tool.owner_workspace, tool.owner_agent) if tool.owner_workspace else (turn["workspace_id"], agent)
    )
    try:
        return toolset.run_server_side(
            tool,
            context,
            call.arguments,
            call_key=call_key,
            headers_of=partial(_headers, workspace_id, owner),
            signing_secret=partial(_signing_secret, workspace_id),
        )
    except ToolRefused as exc:
        return ToolOutput(exc.message, is_error=True)
    except Exception as exc:
        from parley.observability import logger

        logger.exception("tool failed", extra={"tool": call.name, "turn_id": turn["id"]})
        return ToolOutput(f"The tool {call.name} failed: {error_detail(exc)['message']}", is_error=True)


def _add_offered(reference: dict[str, Any], available: dict[str, Tool], steps: list[dict[str, Any]]) -> None:
    """Another workspace's offered tool, while the offering exists (a step says so when it ended)."""
    from dataclasses import replace

    from parley.services import tool_offerings

    timer = Timer()
    resolved = tool_offerings.resolve(str(reference["workspace_id"]), str(reference["tool_key"]))
    if resolved is None:
        detail: dict[str, Any] = {
            "tools": [],
            "error": {
                "type": "offering_ended",
                "message": f"Workspace {reference['workspace_id']} no longer offers {reference['tool_key']}.",
            },
        }
        steps.append(timed("tool_list", f"offered:{reference['tool_key']}", timer, detail))
        return
    tool = toolset.from_definition(resolved.definition)
    owned = replace(tool, owner_workspace=resolved.workspace_id, owner_agent=resolved.agent)
    available.setdefault(tool.spec.name, owned)


def _headers(workspace_id: str, agent: Mapping[str, Any], kind: str, name: str) -> dict[str, str]:
    if not agent.get("tool_headers") or not agent.get("id"):
        return {}
    prefix = "tool:" if kind == "tool" else "server:"
    return dict(_agent_headers(workspace_id, agent["id"]).get(prefix + name, {}))


@ttl_cache(SECRET_CACHE_SECONDS)
def _agent_headers(workspace_id: str, agent_id: str) -> dict[str, dict[str, str]]:
    import json

    raw = secrets.get_named(secrets.tool_headers_name(workspace_id, agent_id))
    return json.loads(raw) if raw else {}


@ttl_cache(SECRET_CACHE_SECONDS)
def _signing_secret(workspace_id: str) -> str:
    secret = secrets.get_named(secrets.tool_signing_name(workspace_id))
    if secret is None:
        raise ToolRefused(
            "The workspace has no tool signing secret: save the agent again, or call "
            "POST /v1/tool-signing-secret."
        )
    return secret
