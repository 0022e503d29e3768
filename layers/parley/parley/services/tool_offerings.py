"""The workspace's tools and its tool offerings: tools other workspaces' agents may use, for free.

Tool keys are Shinkai's ``local:::<toolkit>:::<tool>``. The toolkit is ``builtin`` for the tools
Parley provides (finish_job, search_knowledge, recall_memories), else the id of the agent whose
``tools`` define the function ``<tool>``. An agent's tool names may not be those of the built-ins, so
``local:::builtin:::search_knowledge`` is never an agent's tool even if an agent's id is ``builtin``.
The tools an agent's MCP servers list are known only when a turn lists them, so they have no key and
cannot be offered (an ``mcp`` *definition*, one tool of a server, can).

An offering is a record per offered tool (store.tool_offerings), keyed by the tool's key. It points at
the tool by key only: when the agent or the tool behind it is deleted or renamed, the offering stays
but answers its tool as missing (``tool`` null), other workspaces no longer list it, and turns that
reference it no longer get it; a tool defined again under the same key is offered again. Only free
offerings exist: Parley runs no payment network.

Offered tools cross workspaces in one way only: another workspace may list this workspace's usable
offerings (``GET /v1/tool-offerings?workspace_id=``), seeing each tool's name, description and
parameters (never its execution: URL, server, headers), and its agents may reference one, resolved at
turn time while the offering exists (``resolve``). Built-in tools cannot be offered: they read the
workspace's own knowledge and memories, which only a subscription may open to another workspace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from parley import clock, errors
from parley.http import Principal
from parley.models.base import Page
from parley.models.tool_offerings import (
    FREE,
    OfferedToolSpec,
    SetToolOffering,
    ToolOffering,
    ToolOfferingsQuery,
    WorkspaceTool,
)
from parley.models.tools import BUILTIN_TOOL_NAMES
from parley.services.validation import invalid
from parley.store import agents as agent_store
from parley.store import tool_offerings as store

BUILTIN_TOOLKIT = "builtin"
_KEY = re.compile(r"^local:::([A-Za-z0-9_.-]{1,64}):::([A-Za-z0-9_-]{1,64})$")
_ATTEMPTS = 3
# What Parley's built-in tools do, for the listing (their specs are registered by the agent floor,
# which services do not import).
_BUILTIN_DESCRIPTIONS = {
    "finish_job": "Finish the job the conversation belongs to, with its result.",
    "search_knowledge": "Search the documents in your knowledge scope; returns the best matching passages.",
    "recall_memories": "Recall what you remember about the user you are talking to.",
}


@dataclass(frozen=True)
class ToolKey:
    toolkit: str
    tool: str

    @property
    def text(self) -> str:
        return f"local:::{self.toolkit}:::{self.tool}"

    @property
    def is_builtin(self) -> bool:
        return self.toolkit == BUILTIN_TOOLKIT and self.tool in BUILTIN_TOOL_NAMES


def parse_key(raw: str, *, field: str = "tool_key", where: str = "path") -> ToolKey:
    """A tool key as a path parameter or a body gave it (``%3A`` for ``:`` is accepted too: a key
    holds no ``%`` of its own, so decoding it is never ambiguous)."""
    text = unquote(raw) if "%" in raw else raw
    found = _KEY.match(text)
    if found is None or found.group(1).strip(".") == "":
        message = "must be a tool key local:::<toolkit>:::<tool> (see GET /v1/tools)"
        raise errors.ValidationFailed(
            f"The request is not valid: {field}: {message}",
            details=[{"loc": [where, *field.split(".")], "msg": message, "type": "value_error"}],
        )
    return ToolKey(found.group(1), found.group(2))


def key_of(agent_id: str, name: str) -> str:
    return ToolKey(agent_id, name).text


# -- the workspace's tools ------------------------------------------------------------------------
def list_tools(principal: Principal) -> Page[WorkspaceTool]:
    """The built-in tools, then every tool an agent defines (agents oldest first), with offerings."""
    workspace_id = principal.workspace_id
    offerings = {item["tool_key"]: item for item in store.all_for_workspace(workspace_id)}
    listing = [
        WorkspaceTool(
            key=ToolKey(BUILTIN_TOOLKIT, name).text,
            toolkit=BUILTIN_TOOLKIT,
            name=name,
            description=_BUILTIN_DESCRIPTIONS.get(name, ""),
            kind="builtin",
        )
        for name in sorted(BUILTIN_TOOL_NAMES)
    ]
    for agent in agent_store.all_for_workspace(workspace_id):
        for definition in agent.get("tools") or []:
            spec = _spec(definition)
            key = key_of(agent["id"], spec.name)
            offering = offerings.get(key)
            listing.append(
                WorkspaceTool(
                    key=key,
                    toolkit=agent["id"],
                    name=spec.name,
                    description=spec.description,
                    parameters=spec.parameters,
                    kind=spec.kind,
                    agent_id=agent["id"],
                    offering=_model(workspace_id, offering, spec) if offering else None,
                )
            )
    return Page[WorkspaceTool](data=listing)


# -- offerings ------------------------------------------------------------------------------------
def set_offering(principal: Principal, raw_key: str, body: SetToolOffering) -> ToolOffering:
    """Offer a tool of the workspace (or change its offering); the tool must exist."""
    principal.require_admin()
    workspace_id = principal.workspace_id
    key = parse_key(raw_key)
    if key.is_builtin:
        raise _invalid_key(
            f"{key.tool} is a built-in tool: it is in every workspace already and reads this "
            "workspace's own data, so it cannot be offered",
        )
    spec = _tool(workspace_id, key, consistent=True)
    if spec is None:
        raise errors.NotFound(f"Tool {key.text} not found.")
    changes = {
        "usage_type": {"per_use": FREE},
        "meta_description": body.meta_description,
        "updated_at": clock.iso(),
    }
    for _ in range(_ATTEMPTS):
        updated = store.update(workspace_id, key.text, changes)
        if updated is not None:
            return _model(workspace_id, updated, spec)
        now = str(changes["updated_at"])
        offering = {
            "tool_key": key.text,
            "agent_id": key.toolkit,
            "tool_name": key.tool,
            **{k: v for k, v in changes.items() if v is not None},
            "created_at": now,
        }
        if store.create(workspace_id, offering):
            return _model(workspace_id, offering, spec)
        # Offered meanwhile by another request: change that offering instead.
    raise errors.Conflict(f"The offering of {key.text} is being changed by another request; try again.")


def get_offering(principal: Principal, raw_key: str) -> ToolOffering:
    workspace_id = principal.workspace_id
    key = parse_key(raw_key)
    offering = store.get(workspace_id, key.text)
    if offering is None:
        raise errors.NotFound(f"Tool {key.text} is not offered.")
    return _model(workspace_id, offering, _tool(workspace_id, key))


def remove_offering(principal: Principal, raw_key: str) -> ToolOffering:
    """End an offering at once (turns that reference it no longer get the tool); what it was."""
    principal.require_admin()
    workspace_id = principal.workspace_id
    key = parse_key(raw_key)
    removed = store.delete(workspace_id, key.text)
    if removed is None:
        raise errors.NotFound(f"Tool {key.text} is not offered.")
    return _model(workspace_id, removed, None)


def list_offerings(principal: Principal, query: ToolOfferingsQuery) -> Page[ToolOffering]:
    """This workspace's offerings (a missing tool shows as ``tool`` null), or, given another
    workspace's id, that workspace's usable offerings (an unknown workspace has none)."""
    own = query.workspace_id is None or query.workspace_id == principal.workspace_id
    workspace_id = principal.workspace_id if own else str(query.workspace_id)
    offerings = list(store.all_for_workspace(workspace_id))
    specs = _specs(workspace_id, offerings)
    data = [
        _model(workspace_id, offering, specs.get(offering["tool_key"]))
        for offering in offerings
        if own or (offering["tool_key"] in specs and _is_free(offering))
    ]
    return Page[ToolOffering](data=data)


# -- for agents that use another workspace's offered tool -----------------------------------------
@dataclass(frozen=True)
class Resolved:
    """An offered tool as a turn of another workspace runs it: the offerer's definition, and its
    agent (whose secret holds the definition's header values, read server-side only)."""

    workspace_id: str
    tool_key: str
    definition: dict[str, Any]
    agent: dict[str, Any]


def resolve(workspace_id: str, raw_key: str) -> Resolved | None:
    """The offered tool while the offering exists, is free and its tool is there; else None."""
    try:
        key = parse_key(raw_key)
    except errors.ValidationFailed:
        return None
    offering = store.get(workspace_id, key.text)
    if offering is None or not _is_free(offering) or key.is_builtin:
        return None
    agent = agent_store.get(workspace_id, key.toolkit)
    definition = _definition(agent, key.tool)
    if agent is None or definition is None:
        return None
    return Resolved(workspace_id, key.text, definition, agent)


def check_reference(workspace_id: str, reference: Mapping[str, Any], field: str) -> OfferedToolSpec:
    """An agent's ``{"type": "offered", ...}`` tool on write: it must name a usable offering."""
    offerer = str(reference["workspace_id"])
    key = parse_key(str(reference["tool_key"]), field=f"{field}.tool_key", where="body")
    if offerer == workspace_id:
        raise invalid(
            f"{field}.workspace_id", "is this workspace: use the tool's own definition, not an offering"
        )
    resolved = resolve(offerer, key.text)
    if resolved is None:
        raise invalid(
            f"{field}.tool_key",
            f"workspace {offerer} offers no tool {key.text}",
            error_type="not_found",
        )
    return _spec(resolved.definition)


def checked_references(workspace_id: str, references: Iterable[Any]) -> list[dict[str, Any]]:
    """An agent's ``offered_tools`` on write: each a usable offering of another workspace, none
    twice, no two with the same tool name (the model calls tools by name)."""
    stored: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for index, reference in enumerate(references):
        record = reference.model_dump() if hasattr(reference, "model_dump") else dict(reference)
        field = f"offered_tools.{index}"
        spec = check_reference(workspace_id, record, field)
        record["tool_key"] = parse_key(str(record["tool_key"]), where="body").text
        if spec.name in names or spec.name in BUILTIN_TOOL_NAMES:
            raise invalid(
                f"{field}.tool_key", f"its tool {spec.name} has the name of another tool of the agent"
            )
        names[spec.name] = record["tool_key"]
        stored.append(record)
    return stored


# -- helpers --------------------------------------------------------------------------------------
def _invalid_key(message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(
        f"The request is not valid: tool_key: {message}",
        details=[{"loc": ["path", "tool_key"], "msg": message, "type": "value_error"}],
    )


def _is_free(offering: Mapping[str, Any]) -> bool:
    return (offering.get("usage_type") or {}).get("per_use") == FREE


def _definition(agent: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    if agent is None:
        return None
    return next(
        (tool for tool in agent.get("tools") or [] if (tool.get("function") or {}).get("name") == name),
        None,
    )


def _tool(workspace_id: str, key: ToolKey, *, consistent: bool = False) -> OfferedToolSpec | None:
    if key.is_builtin:
        return None
    definition = _definition(agent_store.get(workspace_id, key.toolkit, consistent=consistent), key.tool)
    return _spec(definition) if definition is not None else None


def _specs(workspace_id: str, offerings: Iterable[Mapping[str, Any]]) -> dict[str, OfferedToolSpec]:
    """The tools behind the offerings that are still there, by key (each agent read once)."""
    agents: dict[str, dict[str, Any] | None] = {}
    found: dict[str, OfferedToolSpec] = {}
    for offering in offerings:
        try:
            key = parse_key(str(offering["tool_key"]))
        except errors.ValidationFailed:
            continue
        if key.is_builtin:
            continue
        if key.toolkit not in agents:
            agents[key.toolkit] = agent_store.get(workspace_id, key.toolkit)
        definition = _definition(agents[key.toolkit], key.tool)
        if definition is not None:
            found[key.text] = _spec(definition)
    return found


def _spec(definition: Mapping[str, Any]) -> OfferedToolSpec:
    function = definition.get("function") or {}
    kind = (definition.get("execution") or {}).get("type", "client")
    return OfferedToolSpec(
        name=str(function.get("name", "")),
        description=str(function.get("description") or ""),
        parameters=dict(function.get("parameters") or {"type": "object", "properties": {}}),
        kind=kind if kind in {"client", "http", "mcp"} else "client",
    )


def _model(workspace_id: str, offering: Mapping[str, Any], spec: OfferedToolSpec | None) -> ToolOffering:
    return ToolOffering(
        tool_key=str(offering["tool_key"]),
        workspace_id=workspace_id,
        usage_type=dict(offering.get("usage_type") or {"per_use": FREE}),
        meta_description=offering.get("meta_description"),
        tool=spec,
        created_at=str(offering["created_at"]),
        updated_at=str(offering.get("updated_at") or offering["created_at"]),
    )
