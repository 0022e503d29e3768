"""Jobs: conversations with a lifecycle — ``active → completed | failed``, then ``archived``.

A job is a conversation item of kind "job" (its id, ``job_…``, also reaches its messages and turns
under /v1/conversations). Every status change is one conditional update that also moves the job's
listing partition; a change the current status does not allow answers 409 with that status. The
agent finishes a job through the ``finish_job`` tool (parley.agent.job_tools), which calls ``finish``.

``config`` (Shinkai's JobConfig), ``agent_overrides`` (provider and model) and a new ``agent_id``
are read by the turn worker on every turn, so a change applies from the next turn on.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from parley import clock, errors, ids
from parley.http import Principal
from parley.models.base import Page
from parley.models.jobs import (
    CompleteJob,
    CreatedJob,
    CreateJob,
    FailJob,
    Job,
    JobConfig,
    JobListQuery,
    JobScope,
    UpdatedJob,
    UpdateJob,
)
from parley.models.messages import Accepted, Message, MessageListQuery, NewMessage, SendMessage
from parley.services import conversations, events
from parley.services import messages as message_service
from parley.services.validation import invalid
from parley.store import agents as agent_store
from parley.store import conversations as store
from parley.store import providers as provider_store
from parley.store import table

KIND = store.JOB_KIND
# Job titles default to the first line of the first prompt, cut here.
TITLE_CHARS = 100

Finished = Literal["completed", "failed"]


def view(job: dict[str, Any]) -> Job:
    return Job.model_validate(_flat(job))


def _flat(job: dict[str, Any]) -> dict[str, Any]:
    overrides = job.get("agent_overrides") or {}
    return {**job, "provider_id": overrides.get("provider_id"), "model": overrides.get("model")}


def require(workspace_id: str, job_id: str, *, consistent: bool = False) -> dict[str, Any]:
    """The workspace's job, or NotFound (a plain conversation's id is not a job's)."""
    job = store.get(workspace_id, job_id, consistent=consistent)
    if job is None or job.get("kind") != KIND:
        raise errors.NotFound(f"Job {job_id} not found.")
    return job


# -- create, read, list, change ------------------------------------------------------------------
class OpenedJob(NamedTuple):
    """A new job as stored, with what only its creation returns."""

    job: dict[str, Any]
    first_message_id: str | None
    first_turn_id: str | None
    callback_secret: str | None


def create(principal: Principal, body: CreateJob, *, job_id: str | None = None) -> CreatedJob:
    """Create a job; ``job_id`` lets a compat API choose the id in its own format (Shinkai's ``jobid_…``)."""
    opened = open_job(principal, body, job_id=job_id)
    return CreatedJob.model_validate(
        {
            **_flat(opened.job),
            "first_message_id": opened.first_message_id,
            "first_turn_id": opened.first_turn_id,
            "callback_secret": opened.callback_secret,
        }
    )


def open_job(principal: Principal, body: CreateJob, *, job_id: str | None = None) -> OpenedJob:
    """``create``, answered with the record (for a compat API that shows the job in its own shape)."""
    workspace_id = principal.workspace_id
    if body.agent_id:
        _require_agent(workspace_id, body.agent_id)
    overrides = _agent_overrides(workspace_id, body.provider_id, body.model)
    scope = _checked_scope(workspace_id, body.scope, "scope")
    job = conversations.new_conversation(
        workspace_id,
        kind=KIND,
        id=job_id or ids.new_id("job"),
        title=body.title or (_title_from(body.prompt) if body.prompt else None),
        agent_id=body.agent_id,
        metadata=body.metadata,
        source=body.source.model_dump() if body.source else None,
        config=body.config.model_dump(exclude_none=True) if body.config else {},
        scope=scope,
        outcome=None,
        result_link=None,
        callback_url=body.callback_url,
    )
    if overrides:
        job["agent_overrides"] = overrides
    # The callback first: it then sees every event of the job, the first turn's included.
    secret = _register_callback(workspace_id, job["id"], body.callback_url) if body.callback_url else None
    first_message_id = first_turn_id = None
    try:
        if body.prompt:
            # The job, its first message and the turn answering it: one transaction.
            job, message, turn = message_service.open_with(workspace_id, job, NewMessage(content=body.prompt))
            first_message_id, first_turn_id = message["id"], turn["id"]
        else:
            table.transact(store.put_ops(job))
    except Exception:
        if secret is not None:
            _remove_callback(workspace_id, job["id"])
        raise
    return OpenedJob(job, first_message_id, first_turn_id, secret)


def get(principal: Principal, job_id: str) -> Job:
    return view(require(principal.workspace_id, job_id))


def list_jobs(principal: Principal, query: JobListQuery) -> Page[Job]:
    items, cursor = store.list_page(principal.workspace_id, KIND, query.status, query.limit, query.cursor)
    return Page[Job](data=[view(item) for item in items], next_cursor=cursor, has_more=cursor is not None)


def update(principal: Principal, job_id: str, body: UpdateJob) -> UpdatedJob:
    workspace_id = principal.workspace_id
    current = require(workspace_id, job_id, consistent=True)
    _ensure_writable(current)
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    remove: list[str] = []
    if "title" in given:
        changes["title"] = body.title
    if "metadata" in given:
        changes["metadata"] = body.metadata or {}
    if "agent_id" in given:
        if body.agent_id:
            _require_agent(workspace_id, body.agent_id)
        changes["agent_id"] = body.agent_id
    if "provider_id" in given or "model" in given:
        stored = current.get("agent_overrides") or {}
        provider_id = body.provider_id if "provider_id" in given else stored.get("provider_id")
        moved = provider_id != stored.get("provider_id")
        # A new provider without a model named runs on that provider's default model.
        model = body.model if "model" in given else (None if moved else stored.get("model"))
        overrides = _agent_overrides(workspace_id, provider_id, model)
        if overrides:
            changes["agent_overrides"] = overrides
        else:
            remove.append("agent_overrides")
    elif "agent_id" in given:
        remove.append("agent_overrides")  # a new agent brings its own provider and model
    secret = None
    if "callback_url" in given:
        if body.callback_url:
            secret = _register_callback(workspace_id, job_id, body.callback_url)
        else:
            _remove_callback(workspace_id, job_id)
        changes["callback_url"] = body.callback_url
    if not changes and not remove:
        return UpdatedJob.model_validate(_flat(current))
    changes["updated_at"] = clock.iso()
    try:
        updated = store.update_writable(workspace_id, job_id, KIND, set_fields=changes, remove=remove)
    except table.ConditionFailed as exc:
        raise _refusal(workspace_id, job_id) from exc
    return UpdatedJob.model_validate({**_flat(updated), "callback_secret": secret})


# -- messages ------------------------------------------------------------------------------------
def send_message(principal: Principal, job_id: str, body: SendMessage) -> Accepted:
    """Only an active job takes messages (409 with its status otherwise); sent as any message is."""
    return message_service.send(principal, job_id, body, kind=KIND)


def list_messages(principal: Principal, job_id: str, query: MessageListQuery) -> Page[Message]:
    return message_service.list_messages(principal, job_id, query, kind=KIND)


# -- lifecycle -----------------------------------------------------------------------------------
def complete(principal: Principal, job_id: str, body: CompleteJob) -> Job:
    finished = finish(
        principal.workspace_id, job_id, "completed", summary=body.summary, result_link=body.result_link
    )
    return view(finished)


def fail(principal: Principal, job_id: str, body: FailJob) -> Job:
    return view(finish(principal.workspace_id, job_id, "failed", summary=body.reason))


def finish(
    workspace_id: str,
    job_id: str,
    status: Finished,
    *,
    summary: str | None = None,
    result_link: str | None = None,
    by: Literal["client", "agent"] = "client",
) -> dict[str, Any]:
    """End an active job as completed or failed (by the client, or by the agent's finish_job tool)."""
    now = clock.iso()
    outcome = {"status": status, "summary": summary, "result_link": result_link, "by": by}
    try:
        job = store.transition(
            workspace_id,
            job_id,
            KIND,
            ("active",),
            status,
            {
                "outcome": outcome,
                "result_link": result_link,
                f"{status}_at": now,
                "updated_at": now,
                "last_activity_at": now,
                "ListSK": store.listing_sk(now, job_id),
            },
        )
    except table.ConditionFailed as exc:
        raise _refusal(workspace_id, job_id, f"only an active job can be {status}") from exc
    _publish(f"job.{status}", job)
    return job


def archive(principal: Principal, job_id: str) -> Job:
    """A finished job becomes read-only: no messages, no changes to its config, scope or agent."""
    now = clock.iso()
    try:
        job = store.transition(
            principal.workspace_id,
            job_id,
            KIND,
            ("completed", "failed"),
            "archived",
            {"archived_at": now, "updated_at": now},
        )
    except table.ConditionFailed as exc:
        raise _refusal(
            principal.workspace_id, job_id, "only a completed or failed job can be archived"
        ) from exc
    _publish("job.archived", job)
    return view(job)


# -- config and scope ----------------------------------------------------------------------------
def get_config(principal: Principal, job_id: str) -> JobConfig:
    return JobConfig.model_validate(require(principal.workspace_id, job_id).get("config") or {})


def put_config(principal: Principal, job_id: str, body: JobConfig) -> JobConfig:
    """Replace the job's config (unset fields fall back to the agent's settings on the next turn)."""
    config = body.model_dump(exclude_none=True)
    _write(principal.workspace_id, job_id, {"config": config})
    return JobConfig.model_validate(config)


def get_scope(principal: Principal, job_id: str) -> JobScope:
    return JobScope.model_validate(require(principal.workspace_id, job_id).get("scope") or {})


def put_scope(principal: Principal, job_id: str, body: JobScope) -> JobScope:
    require(principal.workspace_id, job_id)
    scope = _checked_scope(principal.workspace_id, body, None)
    _write(principal.workspace_id, job_id, {"scope": scope})
    return JobScope.model_validate(scope)


# -- helpers -------------------------------------------------------------------------------------
def _write(workspace_id: str, job_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        return store.update_writable(
            workspace_id, job_id, KIND, set_fields={**fields, "updated_at": clock.iso()}
        )
    except table.ConditionFailed as exc:
        raise _refusal(workspace_id, job_id) from exc


def _ensure_writable(job: dict[str, Any]) -> None:
    if job["status"] == "archived":
        raise errors.InvalidState(
            f"Job {job['id']} is archived; it is read-only.", details=[{"status": job["status"]}]
        )


def _refusal(workspace_id: str, job_id: str, rule: str | None = None) -> errors.ParleyError:
    """Why a conditional write on a job lost: it is gone (404) or its status does not allow it (409)."""
    current = require(workspace_id, job_id, consistent=True)
    if rule is None:
        _ensure_writable(current)
        return errors.Conflict(f"Job {job_id} changed meanwhile; try again.")
    return errors.InvalidState(
        f"Job {job_id} is {current['status']}; {rule}.", details=[{"status": current["status"]}]
    )


def _require_agent(workspace_id: str, agent_id: str) -> None:
    if agent_store.get(workspace_id, agent_id) is None:
        raise invalid(
            "agent_id", f"agent {agent_id} does not exist in this workspace", error_type="not_found"
        )


def _agent_overrides(workspace_id: str, provider_id: str | None, model: str | None) -> dict[str, Any]:
    """What the job runs on instead of its agent's provider and model (empty: the agent's own)."""
    if provider_id is None:
        return {"model": model} if model else {}
    provider = provider_store.get(workspace_id, provider_id, consistent=True)
    if provider is None:
        raise invalid(
            "provider_id", f"provider {provider_id} does not exist in this workspace", error_type="not_found"
        )
    model = model or provider.get("default_model")
    if not model and provider["kind"] == "scripted":
        from parley.services.providers import SCRIPTED_MODEL  # only jobs naming a provider import it

        model = SCRIPTED_MODEL
    if not model:
        raise invalid(
            "model", f"is required: provider {provider_id} has no default_model", error_type="missing"
        )
    # The kind travels with the override, as on an agent: the turn's steps name it.
    return {"provider_id": provider_id, "provider_kind": provider["kind"], "model": model}


def _checked_scope(workspace_id: str, scope: JobScope | None, field: str | None) -> dict[str, list[str]]:
    """The scope with duplicates dropped, once every inbox and file in it exists in the workspace."""
    if scope is None or not (scope.inboxes or scope.files or scope.folders or scope.subscriptions):
        return {"inboxes": [], "files": []}  # most jobs: nothing to check, nor knowledge to import
    from parley.services.knowledge import checked_scope

    return checked_scope(
        workspace_id,
        scope.inboxes,
        scope.files,
        field,
        folders=scope.folders,
        subscriptions=scope.subscriptions,
    )


def _register_callback(workspace_id: str, job_id: str, url: str) -> str:
    from parley.services import webhooks  # only jobs with a callback pay for its imports

    return webhooks.register_callback(workspace_id, job_id, url)


def _remove_callback(workspace_id: str, job_id: str) -> None:
    from parley.services import webhooks

    webhooks.remove_callbacks(workspace_id, job_id)


def _title_from(prompt: str) -> str | None:
    line = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    if len(line) > TITLE_CHARS:
        line = line[: TITLE_CHARS - 1].rstrip() + "…"
    return line or None


def _publish(detail_type: str, job: dict[str, Any]) -> None:
    events.publish(
        detail_type,
        {
            "workspace_id": job["workspace_id"],
            "job_id": job["id"],
            "conversation_id": job["id"],
            "status": job["status"],
            "result_link": job.get("result_link"),
            "outcome": job.get("outcome"),
        },
    )
