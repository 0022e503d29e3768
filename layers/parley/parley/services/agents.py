"""Agents: who answers a conversation (instructions, provider + model, parameters, budgets).

Any key of the workspace reads them; admin keys create, change and delete them. A workspace has at
most one default agent (a pointer on the workspace item), which answers conversations that name no
agent, or whose agent was deleted. The turn worker and the compat views read agents through
services.agent_lookup, cached per warm container for a minute; every write here drops its entry.
"""

from __future__ import annotations

from typing import Any

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.agents import (
    DEFAULT_HISTORY_CHARS,
    DEFAULT_HISTORY_MESSAGES,
    Agent,
    CreateAgent,
    UpdateAgent,
)
from parley.models.base import ListQuery, Page
from parley.services import agent_lookup
from parley.services.validation import invalid
from parley.store import agents as store
from parley.store import providers as provider_store
from parley.store import table
from parley.store import workspaces as workspace_store

# Concurrent writes to one agent (or to the default pointer) are re-read and retried this often.
_ATTEMPTS = 3
# Fields a PATCH copies as they are (null clears the optional ones).
_PLAIN_FIELDS = (
    "name",
    "instructions",
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "history_messages",
    "history_chars",
    "memory",
    "follow_ups",
    "max_model_calls",
    "max_tool_calls",
    "tool_outputs_timeout_s",
)
STARTER_PROVIDER_NAME = "Scripted (offline demo)"
STARTER_AGENT_NAME = "Assistant"
STARTER_INSTRUCTIONS = "You are a helpful assistant."
# It echoes; messages starting with "slow" take a while, so a demo can cancel a turn queued behind one.
STARTER_SCRIPT = [{"match": "(?i)^slow", "reply": "You said: {message}", "delay_ms": 2000}]


# -- the API --------------------------------------------------------------------------------------
def create(principal: Principal, body: CreateAgent, *, agent_id: str | None = None) -> Agent:
    """A new agent; ``agent_id`` names it (compat APIs whose clients choose ids), else a new id.
    An id already in use is a Conflict."""
    principal.require_admin()
    workspace_id = principal.workspace_id
    provider = _provider(workspace_id, body.provider_id)
    agent = new_agent(
        provider,
        **body.model_dump(
            exclude={
                "provider_id",
                "is_default",
                "model",
                "knowledge",
                "tools",
                "mcp_servers",
                "offered_tools",
            }
        ),
        model=body.model or _default_model(provider),
        knowledge=_checked_knowledge(workspace_id, body.knowledge),
    )
    if agent_id is not None:
        agent["id"] = agent_id
    if body.tools or body.mcp_servers:
        agent.update(_checked_tools(workspace_id, agent, body.tools, body.mcp_servers))
    if body.offered_tools:
        agent["offered_tools"] = _checked_offered(workspace_id, body.offered_tools)
    is_default = _insert(workspace_id, agent, body.is_default)
    agent_lookup.forget(workspace_id, agent["id"])
    return _model(agent, is_default=is_default)


def get(principal: Principal, agent_id: str) -> Agent:
    workspace_id = principal.workspace_id
    agent = store.get(workspace_id, agent_id)
    if agent is None:
        raise errors.NotFound(f"Agent {agent_id} not found.")
    return _model(agent, is_default=workspace_store.default_agent_id(workspace_id) == agent_id)


def list_agents(principal: Principal, query: ListQuery) -> Page[Agent]:
    workspace_id = principal.workspace_id
    items, cursor, workspace = store.list_with_default(workspace_id, query.limit, query.cursor)
    if workspace is not None:
        default = workspace.get("default_agent_id")
    else:  # a later page: the workspace item sorts before the first
        default = workspace_store.default_agent_id(workspace_id) if items else None
    return Page[Agent](
        data=[_model(item, is_default=item["id"] == default) for item in items],
        next_cursor=cursor,
        has_more=cursor is not None,
    )


def update(principal: Principal, agent_id: str, body: UpdateAgent) -> Agent:
    principal.require_admin()
    workspace_id = principal.workspace_id
    given = body.model_fields_set
    for _ in range(_ATTEMPTS):
        current = store.get(workspace_id, agent_id, consistent=True)
        if current is None:
            raise errors.NotFound(f"Agent {agent_id} not found.")
        changes: dict[str, Any] = {field: getattr(body, field) for field in _PLAIN_FIELDS if field in given}
        if "knowledge" in given:
            changes["knowledge"] = _checked_knowledge(workspace_id, body.knowledge)
        if "tool_choice" in given:
            changes["tool_choice"] = _choice(body.tool_choice, body.tools, current)
        if body.tools is not None or body.mcp_servers is not None:
            changes.update(_checked_tools(workspace_id, current, body.tools, body.mcp_servers))
        if body.offered_tools is not None:
            changes["offered_tools"] = _checked_offered(workspace_id, body.offered_tools) or None
        old_provider_id = current["provider_id"]
        new_provider: dict[str, Any] | None = None
        if body.provider_id is not None and body.provider_id != old_provider_id:
            new_provider = _provider(workspace_id, body.provider_id)
            changes.update(provider_id=new_provider["id"], provider_kind=new_provider["kind"])
        if body.model is not None:
            changes["model"] = body.model
        elif "model" in given or new_provider is not None:
            # No model named (or a new provider): the provider's default.
            changes["model"] = _default_model(new_provider or _provider(workspace_id, old_provider_id))
        changes["updated_at"] = clock.iso()

        operations = [store.update_op(workspace_id, agent_id, changes, provider_id=old_provider_id)]
        if new_provider is not None:
            operations.append(provider_store.count_agents_op(workspace_id, old_provider_id, -1))
            operations.append(provider_store.count_agents_op(workspace_id, new_provider["id"], 1))
        was_default = workspace_store.default_agent_id(workspace_id, consistent=True) == agent_id
        is_default = was_default if body.is_default is None else body.is_default
        if is_default and not was_default:
            operations.append(workspace_store.set_default_agent_op(workspace_id, agent_id))
        elif was_default and not is_default:
            operations.append(workspace_store.clear_default_agent_op(workspace_id, agent_id))
        try:
            table.transact(operations)
        except table.TransactionCancelled as exc:
            if new_provider is not None and exc.failed_at(2):
                raise _unknown_provider(new_provider["id"]) from exc
            continue  # the agent or the default pointer changed meanwhile: read again
        agent_lookup.forget(workspace_id, agent_id)
        return _model(_apply(current, changes), is_default=is_default)
    raise errors.Conflict(f"Agent {agent_id} is being changed by another request; try again.")


def delete(principal: Principal, agent_id: str) -> None:
    """Delete an agent (conversations that named it fall back to the default agent)."""
    principal.require_admin()
    workspace_id = principal.workspace_id
    count_provider = True
    for _ in range(_ATTEMPTS):
        current = store.get(workspace_id, agent_id, consistent=True)
        if current is None:
            raise errors.NotFound(f"Agent {agent_id} not found.")
        provider_id = current["provider_id"]
        operations = [store.delete_op(workspace_id, agent_id, provider_id=provider_id)]
        if workspace_store.default_agent_id(workspace_id, consistent=True) == agent_id:
            operations.append(workspace_store.clear_default_agent_op(workspace_id, agent_id))
        else:
            operations.append(workspace_store.not_default_agent_op(workspace_id, agent_id))
        if count_provider:
            operations.append(provider_store.count_agents_op(workspace_id, provider_id, -1))
        try:
            table.transact(operations)
        except table.TransactionCancelled as exc:
            # A provider that is already gone has no count to keep; anything else changed meanwhile.
            count_provider = count_provider and not exc.failed_at(2)
            continue
        agent_lookup.forget(workspace_id, agent_id)
        _forget_tools(workspace_id, current)
        return
    raise errors.Conflict(f"Agent {agent_id} is being changed by another request; try again.")


# -- for setup ------------------------------------------------------------------------------------
def create_starter_agent(workspace_id: str) -> None:
    """Give a workspace a scripted (offline) provider and a default agent "Assistant" that uses it."""
    from parley.services import providers as provider_service

    provider = provider_service.new_provider(
        STARTER_PROVIDER_NAME,
        "scripted",
        options=provider_service.valid_options("scripted", {"script": STARTER_SCRIPT}),
    )
    agent = new_agent(provider, name=STARTER_AGENT_NAME, instructions=STARTER_INSTRUCTIONS)
    try:
        table.transact(
            [
                provider_store.put_op(workspace_id, provider, agents=1),
                store.put_op(workspace_id, agent),
                workspace_store.set_default_agent_op(workspace_id, agent["id"]),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(2):
            raise errors.NotFound(f"Workspace {workspace_id} not found.") from exc
        raise
    agent_lookup.forget(workspace_id, agent["id"])


def new_agent(
    provider: dict[str, Any],
    *,
    name: str,
    model: str | None = None,
    instructions: str = "",
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    history_messages: int = DEFAULT_HISTORY_MESSAGES,
    history_chars: int = DEFAULT_HISTORY_CHARS,
    memory: bool = False,
    follow_ups: int = 0,
    knowledge: dict[str, Any] | None = None,
    **tool_settings: Any,
) -> dict[str, Any]:
    """``tool_settings``: tool_choice and the tool loop's budgets (the definitions are added by
    services.agent_tools, which stores their secrets)."""
    now = clock.iso()
    agent: dict[str, Any] = {
        "id": ids.new_id("agent"),
        "name": name,
        "instructions": instructions,
        "provider_id": provider["id"],
        # A provider's kind never changes, so the agent can carry it (the turn's steps name it).
        "provider_kind": provider["kind"],
        "model": model or _default_model(provider),
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": max_tokens,
        "seed": seed,
        "history_messages": history_messages,
        "history_chars": history_chars,
        "memory": memory,
        "follow_ups": follow_ups,
        "knowledge": knowledge or {},
        **tool_settings,
        "created_at": now,
        "updated_at": now,
    }
    return {k: v for k, v in agent.items() if v is not None}


# -- helpers --------------------------------------------------------------------------------------
def _insert(workspace_id: str, agent: dict[str, Any], wanted_default: bool | None) -> bool:
    """Write a new agent (and count it on its provider); whether it became the default."""
    make_default = wanted_default is not False
    while True:
        operations = [
            store.put_op(workspace_id, agent),
            provider_store.count_agents_op(workspace_id, agent["provider_id"], 1),
        ]
        if make_default:
            # Unasked, an agent becomes the default only of a workspace that has none.
            operations.append(
                workspace_store.set_default_agent_op(
                    workspace_id, agent["id"], only_if_unset=wanted_default is None
                )
            )
        try:
            table.transact(operations)
        except table.TransactionCancelled as exc:
            if exc.failed_at(0):
                raise errors.Conflict(f"Agent {agent['id']} already exists.") from exc
            if exc.failed_at(1):
                raise _unknown_provider(agent["provider_id"]) from exc
            if make_default and exc.failed_at(2) and wanted_default is None:
                make_default = False  # the workspace has a default already
                continue
            if make_default and exc.failed_at(2):
                raise errors.NotFound(f"Workspace {workspace_id} not found.") from exc
            raise
        return make_default


def _checked_knowledge(workspace_id: str, settings: Any) -> dict[str, Any]:
    # Only writes of an agent check its knowledge: the turn's and the compat APIs' reads never import it.
    from parley.services.knowledge import checked_settings

    return checked_settings(workspace_id, settings)


def _checked_tools(workspace_id: str, agent: dict[str, Any], tools: Any, servers: Any) -> dict[str, Any]:
    # Only writes that change tools import the secrets and signing code.
    from parley.services import agent_tools

    return agent_tools.stored(workspace_id, agent, tools, servers)


def _checked_offered(workspace_id: str, references: Any) -> list[dict[str, Any]]:
    # Only writes that name offered tools import the offerings service.
    from parley.services import tool_offerings

    return tool_offerings.checked_references(workspace_id, references)


def _forget_tools(workspace_id: str, agent: dict[str, Any]) -> None:
    if agent.get("tool_headers"):
        from parley.services import agent_tools

        agent_tools.forget(workspace_id, agent)


def _choice(choice: Any, tools: Any, current: dict[str, Any]) -> Any:
    """A named tool_choice must name one of the agent's tools (as they will be after this update)."""
    if choice is None or isinstance(choice, str):
        return choice
    from parley.models.tools import BUILTIN_TOOL_NAMES

    names = (
        {tool.function.name for tool in tools}
        if tools is not None
        else {tool["function"]["name"] for tool in current.get("tools") or []}
    )
    if choice.function.name not in names | BUILTIN_TOOL_NAMES and not current.get("mcp_servers"):
        raise invalid("tool_choice", f"names {choice.function.name!r}, which is not among the agent's tools")
    return choice.model_dump()


def _provider(workspace_id: str, provider_id: str) -> dict[str, Any]:
    provider = provider_store.get(workspace_id, provider_id, consistent=True)
    if provider is None:
        raise _unknown_provider(provider_id)
    return provider


def _unknown_provider(provider_id: str) -> errors.ValidationFailed:
    return invalid(
        "provider_id", f"provider {provider_id} does not exist in this workspace", error_type="not_found"
    )


def _default_model(provider: dict[str, Any]) -> str:
    from parley.services.providers import SCRIPTED_MODEL

    model = provider.get("default_model") or (SCRIPTED_MODEL if provider.get("kind") == "scripted" else None)
    if not model:
        raise invalid(
            "model",
            f"is required: provider {provider['id']} has no default_model",
            error_type="missing",
        )
    return str(model)


def _apply(agent: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**agent, **changes}
    return {k: v for k, v in merged.items() if v is not None}


def _model(agent: dict[str, Any], *, is_default: bool) -> Agent:
    return Agent(**{k: agent[k] for k in Agent.model_fields if k in agent}, is_default=is_default)
