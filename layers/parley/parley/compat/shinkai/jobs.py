"""Shinkai's jobs, messages and smart inboxes, translated to Parley's jobs (no second data model).

A Shinkai job is a Parley job created with Shinkai's id format (``jobid_<uuid4>``), so ``/v1/jobs/…``
reaches it too; its inbox is ``job_inbox::<job id>::false``. What Parley has no field for (the
original Shinkai scope, JobConfig keys newer than Parley's, ``is_hidden``) is kept under the job's
``metadata["shinkai"]`` so it round-trips.
"""

import contextlib
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from parley import errors
from parley.compat.shinkai.wire import DEFAULT_NODE_NAME, error_body
from parley.http import Principal, Response
from parley.models.jobs import CreateJob, JobConfig, JobScope, UpdateJob
from parley.models.messages import MAX_ATTACHMENTS, Message, SendMessage
from parley.services import agent_lookup, jobs
from parley.services import messages as message_service
from parley.services import turns as turn_service
from parley.services.branches import path_to_root
from parley.store import agents as agent_store
from parley.store import conversations as conversation_store
from parley.store import files as file_store
from parley.store import inboxes as file_store_inboxes
from parley.store import providers as provider_store

NODE = DEFAULT_NODE_NAME
PROFILE = "main"
INBOX_PREFIX = "job_inbox"
META_KEY = "shinkai"
# Parley's own job ids (job_…) are served too: all_inboxes lists every job of the workspace.
JOB_ID_PREFIXES = ("jobid_", "job_")
MAX_INBOXES = 100
NATIVE_CONFIG_KEYS = set(JobConfig.model_fields)


class ShinkaiModel(BaseModel):
    """Shinkai's serde ignores unknown fields, so later clients' extra keys are accepted."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


# -- request bodies --------------------------------------------------------------------------------
class JobCreationInfo(ShinkaiModel):
    scope: dict[str, Any]
    is_hidden: bool | None = None
    associated_ui: Any = None


class CreateJobBody(ShinkaiModel):
    llm_provider: str = Field(min_length=1, max_length=300)
    job_creation_info: JobCreationInfo


class JobMessage(ShinkaiModel):
    job_id: str = Field(max_length=100)
    content: str = Field(max_length=200_000)
    files_inbox: str = ""  # required in v0.8.4, gone at HEAD
    parent: str | None = Field(None, max_length=100)
    workflow_code: str | None = None
    workflow_name: str | None = None
    sheet_job_data: str | None = None
    callback: Any = None
    metadata: Any = None
    tool_key: str | None = None


class JobMessageBody(ShinkaiModel):
    job_message: JobMessage


class InboxBody(ShinkaiModel):
    inbox_name: str = Field(max_length=300)


class LastMessagesBody(InboxBody):
    limit: int = Field(ge=0)
    offset_key: str | None = None


class RetryMessageBody(InboxBody):
    message_id: str = Field(max_length=100)


class JobIdQuery(ShinkaiModel):
    job_id: str = Field(max_length=100)


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


class UpdateJobConfigBody(ShinkaiModel):
    job_id: str = Field(max_length=100)
    config: ShinkaiJobConfig


class UpdateJobScopeBody(ShinkaiModel):
    job_id: str = Field(max_length=100)
    job_scope: dict[str, Any]


class ChangeAgentBody(ShinkaiModel):
    job_id: str = Field(max_length=100)
    new_agent_id: str = Field(min_length=1, max_length=300)


class RenameInboxBody(InboxBody):
    custom_name: str = Field(max_length=500)


class AllInboxesQuery(ShinkaiModel):
    limit: int | None = Field(None, ge=1, le=MAX_INBOXES)
    offset: str | None = None
    show_hidden: bool = False
    agent_id: str | None = None


# -- ids -------------------------------------------------------------------------------------------
def new_job_id() -> str:
    return f"jobid_{uuid.uuid4()}"


def inbox_name(job_id: str) -> str:
    return f"{INBOX_PREFIX}::{job_id}::false"


def job_id_of(inbox: str) -> str:
    """The job of ``job_inbox::<job id>::<bool>`` (400 as Shinkai answers a malformed one)."""
    parts = inbox.split("::")
    if len(parts) != 3 or parts[0] != INBOX_PREFIX or parts[2] not in ("true", "false"):
        raise errors.BadRequest("Invalid inbox name format")
    return checked_job_id(parts[1])


def checked_job_id(job_id: str) -> str:
    if not job_id.startswith(JOB_ID_PREFIXES) or len(job_id) > 64:
        raise errors.BadRequest("Invalid job ID format")
    return job_id


def _job(principal: Principal, job_id: str, *, consistent: bool = False) -> dict[str, Any]:
    """The caller's job, or 404 in Shinkai's words (another tenant's job is not there either)."""
    try:
        return jobs.require(principal.workspace_id, checked_job_id(job_id), consistent=consistent)
    except errors.NotFound as exc:
        raise errors.NotFound(f"Job with ID {job_id} not found") from exc


def _shinkai_meta(job: dict[str, Any]) -> dict[str, Any]:
    return dict((job.get("metadata") or {}).get(META_KEY) or {})


def _set_meta(principal: Principal, job: dict[str, Any], **changes: Any) -> None:
    metadata = dict(job.get("metadata") or {})
    metadata[META_KEY] = {**_shinkai_meta(job), **changes}
    jobs.update(principal, job["id"], UpdateJob(metadata=metadata))


# -- who answers -----------------------------------------------------------------------------------
def _runner(principal: Principal, name: str) -> dict[str, Any]:
    """``llm_provider``/``new_agent_id`` as job fields: an agent id, else a provider id (404 if neither).

    A full identity (``@@node/main/agent/<id>``) names its last segment."""
    wanted = name.rsplit("/", 1)[-1]
    if agent_store.get(principal.workspace_id, wanted) is not None:
        return {"agent_id": wanted}
    if provider_store.get(principal.workspace_id, wanted) is not None:
        return {"provider_id": wanted}
    raise errors.NotFound(f"LLM provider {wanted} not found")


def model_string(kind: str | None, model: str | None) -> str:
    """Shinkai's LLMProviderInterface: ``"<provider>:<model>"`` (Parley's kinds keep their names)."""
    return f"{kind or 'scripted'}:{model or ''}"


def _agent_subset(workspace_id: str, job: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
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


def _agent_name(workspace_id: str, job: dict[str, Any]) -> str:
    return job.get("agent_id") or agent_lookup.default_agent_id(workspace_id) or "default"


# -- scope -----------------------------------------------------------------------------------------
def _paths(values: Any) -> list[str]:
    """Shinkai paths arrive as strings or ``{"path": …}`` (MinimalJobScope, by version)."""
    found: list[str] = []
    for value in values if isinstance(values, list) else []:
        path = value.get("path") if isinstance(value, dict) else value
        if isinstance(path, str) and path:
            found.append(path)
    return found


def _native_scope(workspace_id: str, scope: dict[str, Any]) -> JobScope:
    """Parley's scope from a Shinkai one: the items and folders that name this workspace's files and
    inboxes (by id, or by a path ending in one); other entries are kept only in the Shinkai copy."""
    from parley.store import files as file_store  # only a scope that names something reads them
    from parley.store import inboxes as inbox_store

    def ids_in(keys: tuple[str, ...]) -> list[str]:
        names = [p.rstrip("/").rsplit("/", 1)[-1] for key in keys for p in _paths(scope.get(key))]
        return list(dict.fromkeys(n for n in names if 0 < len(n) <= 64))

    files = ids_in(("vector_fs_items", "local_vrkai"))
    inboxes = ids_in(("vector_fs_folders", "local_vrpack"))
    found_files = file_store.get_many(workspace_id, files) if files else {}
    found_inboxes = inbox_store.get_many(workspace_id, inboxes) if inboxes else {}
    return JobScope(
        files=[f for f in files if f in found_files][:100],
        inboxes=[i for i in inboxes if i in found_inboxes][:100],
    )


def _scope_view(job: dict[str, Any]) -> dict[str, Any]:
    stored = _shinkai_meta(job).get("scope")
    if stored is not None:
        return dict(stored)
    native = job.get("scope") or {}
    return {
        "local_vrkai": [],
        "local_vrpack": [],
        "vector_fs_items": list(native.get("files") or []),
        "vector_fs_folders": list(native.get("inboxes") or []),
        "network_folders": [],
    }


# -- jobs ------------------------------------------------------------------------------------------
def create_job(principal: Principal, body: CreateJobBody) -> dict[str, str]:
    runner = _runner(principal, body.llm_provider)
    info = body.job_creation_info
    created = jobs.create(
        principal,
        CreateJob(
            **runner,
            scope=_native_scope(principal.workspace_id, info.scope),
            metadata={
                META_KEY: {
                    "scope": info.scope,
                    "is_hidden": bool(info.is_hidden),
                    "associated_ui": info.associated_ui,
                }
            },
        ),
        job_id=new_job_id(),
    )
    return {"job_id": created.id}


def get_job_config(principal: Principal, job_id: str) -> ShinkaiJobConfig:
    job = _job(principal, job_id)
    return ShinkaiJobConfig.model_validate(
        {**(job.get("config") or {}), **(_shinkai_meta(job).get("config_extras") or {})}
    )


def update_job_config(principal: Principal, body: UpdateJobConfigBody) -> dict[str, str]:
    job = _job(principal, body.job_id, consistent=True)
    given = body.config.model_dump(exclude_none=True)
    native = JobConfig.model_validate({k: v for k, v in given.items() if k in NATIVE_CONFIG_KEYS})
    jobs.put_config(principal, job["id"], native)
    extras = {k: v for k, v in given.items() if k not in NATIVE_CONFIG_KEYS}
    if extras or _shinkai_meta(job).get("config_extras"):
        _set_meta(
            principal, jobs.require(principal.workspace_id, job["id"], consistent=True), config_extras=extras
        )
    return {"result": f"Job config updated successfully for job ID: {body.job_id}"}


def get_job_scope(principal: Principal, job_id: str) -> dict[str, Any]:
    return _scope_view(_job(principal, job_id))


def update_job_scope(principal: Principal, body: UpdateJobScopeBody) -> dict[str, str]:
    job = _job(principal, body.job_id, consistent=True)
    jobs.put_scope(principal, job["id"], _native_scope(principal.workspace_id, body.job_scope))
    _set_meta(
        principal, jobs.require(principal.workspace_id, job["id"], consistent=True), scope=body.job_scope
    )
    return {"result": "Job scope updated successfully"}


def change_agent(principal: Principal, body: ChangeAgentBody) -> dict[str, str]:
    job = _job(principal, body.job_id)
    runner = _runner(principal, body.new_agent_id)
    if "agent_id" in runner:
        jobs.update(principal, job["id"], UpdateJob(agent_id=runner["agent_id"]))
    else:
        jobs.update(principal, job["id"], UpdateJob(provider_id=runner["provider_id"]))
    return {"result": "Job agent changed successfully"}


def rename_inbox(principal: Principal, body: RenameInboxBody) -> None:
    job = _job(principal, job_id_of(body.inbox_name))
    jobs.update(principal, job["id"], UpdateJob(title=body.custom_name))


# -- messages --------------------------------------------------------------------------------------
def _sent(message_id: str, parent_id: str | None, inbox: str, scheduled_time: str) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "parent_message_id": parent_id,
        "inbox": inbox,
        "scheduled_time": scheduled_time,
    }


def send_job_message(principal: Principal, body: JobMessageBody) -> dict[str, Any] | Response:
    """Flat SendResponseBodyData (what the node sends) plus the documented ``{status, message, data}``."""
    message = body.job_message
    try:
        job = jobs.require(principal.workspace_id, checked_job_id(message.job_id), consistent=True)
    except errors.NotFound:
        # What the node answers when the job does not load (reference: job_message notes).
        return Response(
            500,
            error_body(
                500, "Internal Server Error", f"Failed to retrieve job: Job {message.job_id} not found"
            ),
        )
    accepted = jobs.send_message(
        principal,
        job["id"],
        SendMessage(
            content=message.content,
            parent_message_id=message.parent or None,
            attachments=_inbox_attachments(principal.workspace_id, message.files_inbox),
        ),
    )
    sent = _sent(
        accepted.message.id,
        accepted.message.parent_message_id,
        inbox_name(job["id"]),
        accepted.message.created_at,
    )
    return {**sent, "status": "success", "message": "Job message processed successfully", "data": sent}


def _inbox_attachments(workspace_id: str, files_inbox: str) -> list[dict[str, Any]]:
    """The files of the message's ``files_inbox`` (a files inbox id), attached to it as Shinkai does."""
    if not files_inbox:
        return []
    if file_store_inboxes.get(workspace_id, files_inbox) is None:
        raise errors.NotFound(f"Files inbox {files_inbox} not found")
    files, _ = file_store.list_in_inbox(workspace_id, files_inbox, MAX_ATTACHMENTS, None)
    return [{"file_id": f["id"], "name": f["name"], "content_type": f["content_type"]} for f in files]


def retry_message(principal: Principal, body: RetryMessageBody) -> dict[str, Any]:
    job = _job(principal, job_id_of(body.inbox_name))
    accepted = message_service.regenerate(principal, job["id"], body.message_id)
    assert accepted.turn is not None  # regenerate always queues a turn
    return {
        "result": _sent(
            turn_service.reply_id_for(accepted.turn.id),
            accepted.message.id,
            body.inbox_name,
            accepted.turn.created_at,
        )
    }


def stop_llm(principal: Principal, body: InboxBody) -> dict[str, str]:
    """Cancel the job's open turns: queued ones at once, running ones are asked to stop."""
    job = _job(principal, job_id_of(body.inbox_name), consistent=True)
    if job.get("open_turns", 0) > 0:
        from parley.models.base import ListQuery

        for turn in turn_service.list_turns(principal, job["id"], ListQuery(limit=100)).data:
            if turn.status in ("queued", "running"):
                with contextlib.suppress(errors.InvalidState):  # it ended meanwhile
                    turn_service.cancel(principal, job["id"], turn.id)
    return {"status": "success"}


def chat_message(workspace_id: str, job: dict[str, Any], message: Message) -> dict[str, Any]:
    """A Parley message as Shinkai's V2ChatMessage (the node's hash is our message id)."""
    agent = f"{PROFILE}/agent/{_agent_name(workspace_id, job)}"
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
            "metadata": None,
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


def _current_path(
    principal: Principal, body: LastMessagesBody
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The job, all its messages, and the newest ``limit`` of its current branch before ``offset_key``."""
    job = _job(principal, job_id_of(body.inbox_name))
    everything = message_service.tree(principal.workspace_id, job["id"])
    leaf = job.get("leaf_message_id")
    path = path_to_root(everything, leaf) if leaf else []
    if body.offset_key:
        position = next((i for i, m in enumerate(path) if m["id"] == body.offset_key), None)
        path = path[:position] if position is not None else []
    return job, everything, path[-body.limit :] if body.limit else []


def last_messages(principal: Principal, body: LastMessagesBody) -> list[dict[str, Any]]:
    job, _, path = _current_path(principal, body)
    return [chat_message(principal.workspace_id, job, m) for m in message_service.with_content(path)]


def last_messages_with_branches(principal: Principal, body: LastMessagesBody) -> list[list[dict[str, Any]]]:
    """For each message of the current branch, it and its alternatives (same parent), it first."""
    job, everything, path = _current_path(principal, body)
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    for item in sorted(everything.values(), key=lambda m: m["id"]):
        by_parent.setdefault(item.get("parent_message_id"), []).append(item)
    result = []
    for item in path:
        siblings = [item] + [s for s in by_parent.get(item.get("parent_message_id"), []) if s is not item]
        result.append(
            [chat_message(principal.workspace_id, job, m) for m in message_service.with_content(siblings)]
        )
    return result


# -- smart inboxes ---------------------------------------------------------------------------------
def all_inboxes(principal: Principal, query: AllInboxesQuery) -> list[dict[str, Any]]:
    statuses: tuple[Literal["active", "completed", "failed", "archived"], ...] = (
        "active",
        "completed",
        "failed",
    )
    found: list[dict[str, Any]] = []
    for status in statuses:
        listed, _ = conversation_store.list_page(principal.workspace_id, jobs.KIND, status, MAX_INBOXES, None)
        found.extend(listed)
    found.sort(key=lambda j: j["last_activity_at"], reverse=True)
    inboxes = []
    for job in found:
        meta = _shinkai_meta(job)
        if meta.get("is_hidden") and not query.show_hidden:
            continue
        agent, provider_type = _agent_subset(principal.workspace_id, job)
        if query.agent_id and (agent is None or agent["id"] != query.agent_id):
            continue
        inboxes.append(_smart_inbox(principal, job, agent, provider_type))
    if query.offset:
        position = next((i for i, b in enumerate(inboxes) if b["inbox_id"] == query.offset), None)
        inboxes = inboxes[position + 1 :] if position is not None else inboxes
    return inboxes[: query.limit] if query.limit else inboxes


def _smart_inbox(
    principal: Principal, job: dict[str, Any], agent: dict[str, Any] | None, provider_type: str
) -> dict[str, Any]:
    last = None
    if job.get("leaf_message_id"):
        try:
            leaf = message_service.get(principal, job["id"], job["leaf_message_id"])
            last = chat_message(principal.workspace_id, job, leaf)
        except errors.NotFound:
            last = None
    inbox = inbox_name(job["id"])
    return {
        "inbox_id": inbox,
        "custom_name": job.get("title") or inbox,
        "datetime_created": job["created_at"],
        "last_message": last,
        "is_finished": job["status"] != "active",
        "agent": agent,
        "job_scope": _scope_view(job),
        "job_config": ShinkaiJobConfig.model_validate(
            {**(job.get("config") or {}), **(_shinkai_meta(job).get("config_extras") or {})}
        ).model_dump(),
        "provider_type": provider_type,
    }


def not_found() -> Response:
    return Response(404, error_body(404, "Not Found", "Please check your URL."))
