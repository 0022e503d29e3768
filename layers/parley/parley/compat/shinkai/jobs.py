"""Shinkai's jobs and messages, translated to Parley's jobs (no second data model).

A Shinkai job is a Parley job created with Shinkai's id format (``jobid_<uuid4>``), so ``/v1/jobs/…``
reaches it too; its inbox is ``job_inbox::<job id>::false``. What Parley has no field for (the
original Shinkai scope, JobConfig keys newer than Parley's, ``is_hidden``) is kept under the job's
``metadata["shinkai"]`` so it round-trips. How a job is shown (and the smart-inbox listing) is in
``job_views``.
"""

import contextlib
import uuid
from typing import Any

from pydantic import Field

from parley import errors
from parley.compat.shinkai.inboxes import native_inbox_id
from parley.compat.shinkai.job_views import (
    INBOX_PREFIX,
    META_KEY,
    ShinkaiJobConfig,
    ShinkaiModel,
    chat_message,
    inbox_name,
    job_config,
    scope_view,
    shinkai_meta,
)
from parley.compat.shinkai.wire import error_body
from parley.http import Principal, Response
from parley.models.jobs import CreateJob, JobConfig, JobScope, UpdateJob
from parley.models.messages import MAX_ATTACHMENTS, SendMessage
from parley.services import jobs
from parley.services import messages as message_service
from parley.services import turns as turn_service
from parley.services.branches import path_to_root
from parley.store import agents as agent_store
from parley.store import files as file_store
from parley.store import inboxes as file_store_inboxes
from parley.store import providers as provider_store

# Parley's own job ids (job_…) are served too: all_inboxes lists every job of the workspace.
JOB_ID_PREFIXES = ("jobid_", "job_")
NATIVE_CONFIG_KEYS = set(JobConfig.model_fields)


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


# -- ids -------------------------------------------------------------------------------------------
def new_job_id() -> str:
    return f"jobid_{uuid.uuid4()}"


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


def _set_meta(principal: Principal, job: dict[str, Any], **changes: Any) -> None:
    metadata = dict(job.get("metadata") or {})
    metadata[META_KEY] = {**shinkai_meta(job), **changes}
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
    inboxes = list(dict.fromkeys(native_inbox_id(n) for n in ids_in(("vector_fs_folders", "local_vrpack"))))
    path_files, path_folders = _vfs_paths(workspace_id, scope)
    found_files = file_store.get_many(workspace_id, files) if files else {}
    found_inboxes = inbox_store.get_many(workspace_id, inboxes) if inboxes else {}
    return JobScope(
        files=list(dict.fromkeys([*path_files, *(f for f in files if f in found_files)]))[:100],
        inboxes=[i for i in inboxes if i in found_inboxes][:100],
        folders=path_folders[:100],
        subscriptions=_network_subscriptions(workspace_id, scope.get("network_folders"))[:100],
    )


def _network_subscriptions(workspace_id: str, entries: Any) -> list[str]:
    """The live subscriptions of the workspace that ``network_folders`` entries name.

    An entry is the node's ``NetworkFolderScopeEntry {name, external_identity, path}`` (v0.8.13;
    ``external_identity`` is ``<node>/<profile>``, and a profile is a streamer's workspace id as in
    compat.shinkai.subscriptions); ``streamer_node_name`` + ``streamer_profile_name`` are accepted as
    the subscription routes spell them. It names each live subscription of this workspace to that
    streamer whose shared folder is at or under ``path``, or else the one whose shared folder holds
    ``path`` (retrieval then covers that whole shared folder). An entry naming none is a 400."""
    if not isinstance(entries, list) or not entries:
        return []
    from parley.compat.shinkai.node import node_name
    from parley.services import sharing

    own_node = node_name()
    live = [s for s in sharing.all_subscriptions(workspace_id) if s.path is not None]
    found: list[str] = []
    for entry in entries:
        streamer, path = _network_folder(entry, own_node)
        named = [s.id for s in live if s.streamer_workspace_id == streamer and _under(s.path, path)]
        if not named:
            named = [s.id for s in live if s.streamer_workspace_id == streamer and _under(path, s.path)][:1]
        if not named:
            raise errors.BadRequest(
                f"network_folders entry {path} of {streamer} names no live subscription of this workspace: "
                "subscribe to the folder (/v2/subscribe_to_shared_folder) first"
            )
        found.extend(named)
    return list(dict.fromkeys(found))


def _network_folder(entry: Any, own_node: str) -> tuple[str, str]:
    """(streamer workspace id, path) of a ``network_folders`` entry (400 if it names neither, or
    names another node)."""
    from parley.services import folders

    if not isinstance(entry, dict):
        raise errors.BadRequest(f"Invalid network_folders entry {entry!r}: expected an object")
    identity = entry.get("external_identity")
    node: Any
    profile: Any
    if isinstance(identity, str) and "/" in identity:
        node, _, rest = identity.partition("/")
        profile = rest.split("/", 1)[0]
    else:
        node, profile = entry.get("streamer_node_name") or own_node, entry.get("streamer_profile_name")
    path = entry.get("path")
    if not isinstance(node, str) or not isinstance(profile, str) or not profile or not isinstance(path, str):
        raise errors.BadRequest(
            "Invalid network_folders entry: it needs external_identity (<node>/<profile>) and path"
        )
    if node.strip().lower() != own_node.split("/", 1)[0].strip().lower():
        raise errors.BadRequest(
            f"network_folders entry {path} of {identity or node} is on another node: Parley does not "
            f"support the Shinkai network (this node is {own_node})"
        )
    try:
        return profile.strip(), folders.check_path(
            path.strip() if path.startswith("/") else "/" + path.strip()
        )
    except errors.ParleyError as exc:
        raise errors.BadRequest(f"Invalid network_folders entry path: {exc.message}") from exc


def _under(path: str | None, top: str | None) -> bool:
    if path is None or top is None:
        return False
    return top == "/" or path == top or path.startswith(top.rstrip("/") + "/")


def _vfs_paths(workspace_id: str, scope: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The file ids of ``vector_fs_items`` that are VFS item paths, and the folder ids (each meaning
    its subtree) of ``vector_fs_folders`` that are folder paths; other entries are left to the ids."""
    from parley.services import folders

    def resolved(key: str, resolve: Any) -> list[str]:
        found: list[str] = []
        for path in _paths(scope.get(key)):
            if not path.startswith("/") or path.count("/") < 1:
                continue
            try:
                found.append(resolve(path))
            except errors.ParleyError:  # not a path of this workspace (or an id): not a VFS path
                continue
        return list(dict.fromkeys(found))

    files = resolved("vector_fs_items", lambda p: folders.file_by_path(workspace_id, p)[1]["id"])
    folder_ids = resolved("vector_fs_folders", lambda p: folders.folder_by_path(workspace_id, p)["id"])
    return files, folder_ids


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
    return ShinkaiJobConfig.model_validate(job_config(job))


def update_job_config(principal: Principal, body: UpdateJobConfigBody) -> dict[str, str]:
    job = _job(principal, body.job_id, consistent=True)
    given = body.config.model_dump(exclude_none=True)
    native = JobConfig.model_validate({k: v for k, v in given.items() if k in NATIVE_CONFIG_KEYS})
    jobs.put_config(principal, job["id"], native)
    extras = {k: v for k, v in given.items() if k not in NATIVE_CONFIG_KEYS}
    if extras or shinkai_meta(job).get("config_extras"):
        _set_meta(
            principal, jobs.require(principal.workspace_id, job["id"], consistent=True), config_extras=extras
        )
    return {"result": f"Job config updated successfully for job ID: {body.job_id}"}


def get_job_scope(principal: Principal, job_id: str) -> dict[str, Any]:
    return scope_view(_job(principal, job_id))


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
    inbox_id = native_inbox_id(files_inbox)  # the uuid create_files_inbox answered, or a native id
    if file_store_inboxes.get(workspace_id, inbox_id) is None:
        raise errors.NotFound(f"Files inbox {files_inbox} not found")
    files, _ = file_store.list_in_inbox(workspace_id, inbox_id, MAX_ATTACHMENTS, None)
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


def not_found() -> Response:
    return Response(404, error_body(404, "Not Found", "Please check your URL."))
