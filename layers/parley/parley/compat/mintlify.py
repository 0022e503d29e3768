"""Mintlify's agent API v2 (``/v2/agent/{projectId}/job…``) over Parley's jobs.

A Mintlify project is the API key's workspace: ``projectId`` must be that workspace's id, and any
other id is answered as a missing job (404), so no other workspace's existence leaks. An AgentJob is
a native job seen through Mintlify's field names: ``prLink`` is the job's ``result_link`` and
``model`` the job's own model or else its agent's. Errors are ``{"error": "<message>"}``; a message to
a job that is not active is refused with 409 naming its status.

Not served: the 100-uses-per-project-per-hour rate limit (429) and the deprecated v1 endpoints.
"""

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from parley import errors
from parley.http import JSON_HEADERS, Api, Principal, api
from parley.models.base import ResponseModel
from parley.models.jobs import CreateJob
from parley.models.messages import MAX_CONTENT_CHARS, NewMessage
from parley.services import agent_lookup, jobs
from parley.services import messages as message_service

_INTERNAL_ERROR = "An internal error occurred."


# -- wire shapes ---------------------------------------------------------------------------------
class Prompt(BaseModel):
    """The body of both POSTs. Unknown fields are ignored, as Mintlify's own server does."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    prompt: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)


class AgentJobSource(ResponseModel):
    repository: str
    ref: str | None = None


class AgentJob(ResponseModel):
    id: str
    status: str
    source: AgentJobSource
    model: str
    prLink: str | None = None  # noqa: N815 - Mintlify's field name
    createdAt: str  # noqa: N815
    archivedAt: str | None = None  # noqa: N815


def mintlify_error(exc: errors.ParleyError, request_id: str) -> dict[str, Any]:
    status, message = exc.status, exc.message
    if isinstance(exc, errors.ValidationFailed):
        status, message = 400, _validation_message(exc)
    elif status >= 500:
        status, message = 500, _INTERNAL_ERROR
    headers = {**JSON_HEADERS, "x-request-id": request_id}
    if isinstance(exc, errors.TooManyRequests):
        headers["retry-after"] = str(exc.retry_after)
    return {"statusCode": status, "headers": headers, "body": json.dumps({"error": message})}


def mintlify_api() -> Api:
    return api(error_format=mintlify_error)


# -- the endpoints -------------------------------------------------------------------------------
def create_job(principal: Principal, project_id: str, body: Prompt) -> AgentJob:
    """A native job whose first message is the prompt (its first turn starts at once)."""
    _require_project(principal, project_id)
    # Prompt has checked the prompt against CreateJob's own bounds, and sets nothing else of it.
    opened = jobs.open_job(principal, CreateJob.model_construct(prompt=body.prompt))
    return agent_job(principal.workspace_id, opened.job)


def get_job(principal: Principal, project_id: str, job_id: str) -> AgentJob:
    _require_project(principal, project_id, job_id)
    return agent_job(principal.workspace_id, jobs.require(principal.workspace_id, job_id))


def send_message(principal: Principal, project_id: str, job_id: str, body: Prompt) -> AgentJob:
    """Only an active job takes messages: 409 with the job's status otherwise."""
    _require_project(principal, project_id, job_id)
    workspace_id = principal.workspace_id
    job = jobs.require(workspace_id, job_id, consistent=True)
    message_service.post(workspace_id, job, NewMessage(content=body.prompt), respond=True)
    return agent_job(workspace_id, jobs.require(workspace_id, job_id, consistent=True))


# -- translation ---------------------------------------------------------------------------------
def agent_job(workspace_id: str, job: dict[str, Any]) -> AgentJob:
    """A job's record as Mintlify's AgentJob (from the record: no native Job model is built)."""
    # A job made here names no repository (a project is a workspace): its source then reads "".
    source = job.get("source") or {"repository": "", "ref": None}
    own_model = (job.get("agent_overrides") or {}).get("model")
    return AgentJob(
        id=job["id"],
        status=job["status"],
        source=AgentJobSource.model_validate(source),
        model=own_model or _agent_model(workspace_id, job.get("agent_id")),
        prLink=job.get("result_link"),
        createdAt=job["created_at"],
        archivedAt=job.get("archived_at"),
    )


def _agent_model(workspace_id: str, agent_id: str | None) -> str:
    """The model of the agent that answers the job (the workspace default if it names none), or ""."""
    agent = agent_lookup.answering_agent(workspace_id, agent_id)
    return str((agent or {}).get("model") or "")


def _require_project(principal: Principal, project_id: str, job_id: str | None = None) -> None:
    # Another project's id is answered like an unknown job, so no workspace's existence leaks.
    if project_id != principal.workspace_id:
        raise errors.NotFound(f"Job {job_id} not found." if job_id else f"Project {project_id} not found.")


def _validation_message(exc: errors.ValidationFailed) -> str:
    problems = [
        f"{'.'.join(str(p) for p in d.get('loc', []) if p != 'body') or 'body'}: {d.get('msg', '')}"
        for d in exc.details[:5]
    ]
    return "Invalid request body: " + "; ".join(problems) if problems else exc.message
