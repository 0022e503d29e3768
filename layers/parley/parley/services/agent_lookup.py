"""The agent that answers a conversation or job, as the turn worker and the compat views read it.

Records, not API models: a compat handler that only shows an agent's name or model imports none of
the agent API's pydantic classes. Cached per warm container for a minute (``parley.cache``);
services.agents drops an entry when it writes one.
"""

from __future__ import annotations

import copy
from typing import Any

from parley.cache import CONFIGURATION_SECONDS, ttl_cache
from parley.store import agents as store
from parley.store import workspaces as workspace_store


@ttl_cache(CONFIGURATION_SECONDS)
def default_agent_id(workspace_id: str) -> str | None:
    """The workspace's default agent, if it has one."""
    return workspace_store.default_agent_id(workspace_id)


@ttl_cache(CONFIGURATION_SECONDS)
def _stored_agent(workspace_id: str, agent_id: str) -> dict[str, Any] | None:
    return store.get(workspace_id, agent_id)


def load_agent(workspace_id: str, agent_id: str) -> dict[str, Any] | None:
    """The agent's record (None if it does not exist): a copy the caller may change.

    Keys: id, name, instructions, provider_id, provider_kind, model, temperature, top_p, max_tokens,
    seed (the four only when set), history_messages, history_chars, memory, follow_ups, knowledge,
    created_at, updated_at.
    """
    agent = _stored_agent(workspace_id, agent_id)
    return copy.deepcopy(agent) if agent is not None else None


def answering_agent(workspace_id: str, agent_id: str | None) -> dict[str, Any] | None:
    """The agent named, or the workspace default when none is named or the named one was deleted
    (None when neither exists)."""
    agent = load_agent(workspace_id, agent_id) if agent_id else None
    if agent is None:
        fallback = default_agent_id(workspace_id)
        if fallback and fallback != agent_id:
            agent = load_agent(workspace_id, fallback)
    return agent


def forget(workspace_id: str, agent_id: str) -> None:
    """Drop this container's cached copies after a write (the devstack hosts API and worker together)."""
    _stored_agent.invalidate(workspace_id, agent_id)
    default_agent_id.invalidate(workspace_id)
