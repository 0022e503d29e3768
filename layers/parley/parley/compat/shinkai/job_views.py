"""How Shinkai shows a Parley job: its inbox name, agent, scope and config, its messages as
V2ChatMessage, and the smart-inbox listing (``/v2/all_inboxes``).

Apart from ``jobs.py`` (the job routes' request bodies and writes) so that the listing, a read of
every job, imports no request models, job models or job service: each is paid on a cold start.
"""

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from parley.compat.shinkai.wire import DEFAULT_NODE_NAME
from parley.http import Principal
from parley.models.messages import Message
from parley.services import agent_lookup
from parley.services import messages as message_service
from parley.store import conversations as conversation_store

NODE = DEFAULT_NODE_NAME
PROFILE = "main"
INBOX_PREFIX = "job_inbox"
META_KEY = "shinkai"
MAX_INBOXES = 100


class ShinkaiModel(BaseModel):
    """Shinkai's serde ignores unknown fields, so later clients' extra keys are accepted."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class ShinkaiJobConfig(ShinkaiModel):
    """JobConfig as of Shinkai HEAD: every key optional; get_job_config shows them all (null if unset)."""

    custom_prompt: str | None = None
    custom_system_prompt: str | None = None
    temperature: float | None = None
    seed: int | None = None
    top_k: int | None = None
    top_p: float | None = None
    stream: bool | None = None
    other_model_params: Any = None
    max_tokens: int | None = None
    use_tools: bool | None = None
    thinking: bool | None = None
    reasoning_effort: str | None = None
    web_search_enabled: bool | None = None


class AllInboxesQuery(ShinkaiModel):
    limit: int | None = Field(None, ge=1, le=MAX_INBOXES)
    offset: str | None = None
    show_hidden: bool = False
    agent_id: str | None = None


def inbox_name(job_id: str) -> str:
    return f"{INBOX_PREFIX}::{job_id}::false"


def shinkai_meta(job: dict[str, Any]) -> dict[str, Any]:
    """What Parley has no field for, kept under the job's ``metadata["shinkai"]``."""
    return dict((job.get("metadata") or {}).get(META_KEY) or {})


def job_config(job: dict[str, Any]) -> dict[str, Any]:
    """The job's config in ShinkaiJobConfig's keys: Parley's own, then the ones it has no field for.

    Both were validated when written, so the listing shows them without building the model."""
    stored = {**(job.get("config") or {}), **(shinkai_meta(job).get("config_extras") or {})}
    return {name: stored.get(name) for name in ShinkaiJobConfig.model_fields}


def model_string(kind: str | None, model: str | None) -> str:
    """Shinkai's LLMProviderInterface: ``"<provider>:<model>"`` (Parley's kinds keep their names)."""
    return f"{kind or 'scripted'}:{model or ''}"


def agent_subset(workspace_id: str, job: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    overrides = job.get("agent_overrides") or {}
    if overrides.get("provider_id"):
        provider_id = overrides["provider_id"]
        subset = {
            "id": provider_id,
            "full_identity_name": f"{NODE}/{PROFILE}/agent/{provider_id}",
            "model": model_string(overrides.get("provider_kind"), overrides.get("model")),
        }
        return subset, "LLMProvider"
    agent_id = job.get("agent_id") or agent_lookup.default_agent_id(workspace_id)
    agent = agent_lookup.load_agent(workspace_id, agent_id) if agent_id else None
    if agent is None:
        return None, "Agent"
    return {
        "id": agent["id"],
        "full_identity_name": f"{NODE}/{PROFILE}/agent/{agent['id']}",
        "model": model_string(agent.get("provider_kind"), overrides.get("model") or agent.get("model")),
    }, "Agent"


def scope_view(job: dict[str, Any]) -> dict[str, Any]:
    """The Shinkai scope the job was given (it round-trips, ``network_folders`` included), else one
    shown from its native scope: a subscription as the ``NetworkFolderScopeEntry`` naming its folder."""
    stored = shinkai_meta(job).get("scope")
    if stored is not None:
        return dict(stored)
    native = job.get("scope") or {}
    return {
        "local_vrkai": [],
        "local_vrpack": [],
        "vector_fs_items": list(native.get("files") or []),
        "vector_fs_folders": list(native.get("inboxes") or []),
        "network_folders": network_folders(job.get("workspace_id") or "", native.get("subscriptions") or []),
    }


def network_folders(workspace_id: str, subscription_ids: list[str]) -> list[dict[str, Any]]:
    """``{name, external_identity: <node>/<streamer workspace>, path}`` of each live subscription named
    (an ended one names no folder any more and is left out)."""
    if not subscription_ids:
        return []
    from parley.compat.shinkai.node import node_name  # only a scope with subscriptions pays for these
    from parley.services import sharing

    node, wanted = node_name(), set(subscription_ids)
    return [
        {
            "name": s.path.rsplit("/", 1)[-1] or "/",
            "external_identity": f"{node}/{s.streamer_workspace_id}",
            "path": s.path,
        }
        for s in sharing.all_subscriptions(workspace_id)
        if s.id in wanted and s.path is not None
    ]


def chat_message(workspace_id: str, job: dict[str, Any], message: Message) -> dict[str, Any]:
    """A Parley message as Shinkai's V2ChatMessage (the node's hash is our message id)."""
    agent_name = job.get("agent_id") or agent_lookup.default_agent_id(workspace_id) or "default"
    agent = f"{PROFILE}/agent/{agent_name}"
    from_user = message.role == "user"
    inbox = inbox_name(job["id"])
    return {
        "job_message": {
            "job_id": job["id"],
            "content": message.content,
            "files_inbox": "",
            "parent": message.parent_message_id,
            "workflow_code": None,
            "workflow_name": None,
            "sheet_job_data": None,
            "callback": None,
            "metadata": _metadata(message),
        },
        "sender": NODE,
        "sender_subidentity": PROFILE if from_user else agent,
        "receiver": NODE,
        "receiver_subidentity": agent if from_user else PROFILE,
        "node_api_data": {
            "parent_hash": message.parent_message_id or "",
            "node_message_hash": message.id,
            "node_timestamp": message.created_at,
        },
        "inbox": inbox,
    }


def _metadata(message: Message) -> dict[str, Any] | None:
    """Shinkai's MessageMetadata: the model's tool calls as ``function_calls`` (name, arguments)."""
    if message.role != "assistant" or not message.tool_calls:
        return None
    calls = []
    for call in message.tool_calls:
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            arguments = {}
        calls.append({"name": function.get("name", ""), "arguments": arguments, "tool_router_key": None})
    return {"function_calls": calls}


# -- smart inboxes ---------------------------------------------------------------------------------
def all_inboxes(principal: Principal, query: AllInboxesQuery) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for status in ("active", "completed", "failed"):  # archived jobs are not inboxes
        listed, _ = conversation_store.list_page(
            principal.workspace_id, conversation_store.JOB_KIND, status, MAX_INBOXES, None
        )
        found.extend(listed)
    found.sort(key=lambda j: j["last_activity_at"], reverse=True)
    shown: list[tuple[dict[str, Any], dict[str, Any] | None, str]] = []
    for job in found:
        if shinkai_meta(job).get("is_hidden") and not query.show_hidden:
            continue
        agent, provider_type = agent_subset(principal.workspace_id, job)
        if query.agent_id and (agent is None or agent["id"] != query.agent_id):
            continue
        shown.append((job, agent, provider_type))
    if query.offset:  # the inbox after which to start
        names = [inbox_name(job["id"]) for job, _, _ in shown]
        shown = shown[names.index(query.offset) + 1 :] if query.offset in names else shown
    shown = shown[: query.limit] if query.limit else shown
    # Only the inboxes shown have their last message read: one BatchGetItem per 100, not a read each.
    last_messages = message_service.leaves(principal.workspace_id, [job for job, _, _ in shown])
    return [
        _smart_inbox(principal.workspace_id, job, agent, provider_type, last_messages.get(job["id"]))
        for job, agent, provider_type in shown
    ]


def _smart_inbox(
    workspace_id: str,
    job: dict[str, Any],
    agent: dict[str, Any] | None,
    provider_type: str,
    last_message: Message | None,
) -> dict[str, Any]:
    inbox = inbox_name(job["id"])
    return {
        "inbox_id": inbox,
        "custom_name": job.get("title") or inbox,
        "datetime_created": job["created_at"],
        "last_message": chat_message(workspace_id, job, last_message) if last_message else None,
        "is_finished": job["status"] != "active",
        "agent": agent,
        "job_scope": scope_view(job),
        "job_config": job_config(job),
        "provider_type": provider_type,
    }
