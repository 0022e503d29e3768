"""Jobs: conversations with a lifecycle (``active → completed | failed``, then ``archived``).

A job's ``config`` is Shinkai's JobConfig, applied over its agent's settings from the next turn on;
its ``scope`` names the inboxes and files the agent may read.
"""

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints

from parley.models.base import ListQuery, RequestModel, ResponseModel
from parley.models.fields import MAX_CONTENT_CHARS, MaxTokens, ModelName, ProviderId, Seed, Temperature, TopP
from parley.models.knowledge import ScopeFields

Status = Literal["active", "completed", "failed", "archived"]
MAX_URL_CHARS = 2048


def check_link(value: str) -> str:
    """An absolute http(s) URL (a pull request, a callback endpoint)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return value.strip()


Link = Annotated[str, StringConstraints(max_length=MAX_URL_CHARS), AfterValidator(check_link)]
ResourceId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class JobSource(RequestModel):
    """What the job works on: a repository (Mintlify's full GitHub URL) and optionally a ref."""

    repository: str = Field(min_length=1, max_length=MAX_URL_CHARS)
    ref: str | None = Field(None, min_length=1, max_length=255)


class JobConfig(RequestModel):
    """Shinkai's JobConfig: every field optional; set ones override the agent's from the next turn on."""

    custom_prompt: str | None = Field(None, max_length=100_000, description="Prefixed to the last message")
    custom_system_prompt: str | None = Field(
        None, max_length=100_000, description="Appended to the agent's instructions"
    )
    temperature: Temperature | None = None
    seed: Seed | None = None
    top_k: int | None = Field(None, ge=1, le=10_000)
    top_p: TopP | None = None
    max_tokens: MaxTokens | None = None
    stream: bool | None = None
    use_tools: bool | None = Field(None, description="false offers the model no tools (not even finish_job)")
    other_model_params: dict[str, Any] | None = Field(
        None, max_length=50, description="Passed to the provider's request as they are"
    )


class JobScope(ScopeFields):
    """What the agent may read: inboxes (folders of files) and single files of the workspace."""


class CreateJob(RequestModel):
    prompt: str | None = Field(
        None, min_length=1, max_length=MAX_CONTENT_CHARS, description="The first message: starts a turn"
    )
    title: str | None = Field(None, max_length=500, description="Defaults to the prompt's first line")
    agent_id: ResourceId | None = Field(None, description="Defaults to the workspace's default agent")
    provider_id: ProviderId | None = Field(None, description="With model: run on this provider")
    model: ModelName | None = Field(None, description="Default: the provider's default_model")
    source: JobSource | None = None
    metadata: dict[str, Any] = Field(default_factory=dict, max_length=50, description="At most 50 keys")
    config: JobConfig | None = None
    scope: JobScope | None = None
    callback_url: Link | None = Field(None, description="Receives this job's events, signed")


class UpdateJob(RequestModel):
    """A partial update. ``agent_id`` alone goes back to the agent's own provider and model;
    ``provider_id`` (and ``model``) run the job elsewhere; null clears either. A new ``callback_url``
    replaces the callback and gets a new signing secret."""

    title: str | None = Field(None, max_length=500)
    agent_id: ResourceId | None = None
    provider_id: ProviderId | None = None
    model: ModelName | None = None
    metadata: dict[str, Any] | None = Field(None, max_length=50)
    callback_url: Link | None = Field(None, description="A new URL replaces the callback; null removes it")


class CompleteJob(RequestModel):
    summary: str | None = Field(None, max_length=10_000)
    result_link: Link | None = Field(None, description="e.g. the pull request (Mintlify's prLink)")


class FailJob(RequestModel):
    reason: str | None = Field(None, max_length=10_000)


class JobListQuery(ListQuery):
    status: Status = "active"


class JobOutcome(ResponseModel):
    status: str
    summary: str | None = None
    result_link: str | None = None
    by: Literal["client", "agent"] = "client"


class Job(ResponseModel):
    id: str
    workspace_id: str
    status: str
    title: str | None = None
    agent_id: str | None = None
    provider_id: str | None = None
    model: str | None = None
    source: JobSource | None = None
    metadata: dict[str, Any] = {}
    config: JobConfig = Field(default_factory=JobConfig)
    scope: JobScope = Field(default_factory=JobScope)
    result_link: str | None = None
    outcome: JobOutcome | None = None
    callback_url: str | None = None
    message_count: int = 0
    created_at: str
    updated_at: str
    completed_at: str | None = None
    failed_at: str | None = None
    archived_at: str | None = None
    last_activity_at: str


class UpdatedJob(Job):
    """200: the job, and the new callback's signing secret when callback_url was changed (shown this once)."""

    callback_secret: str | None = None


class CreatedJob(Job):
    """201: the job, its first message and turn (with a prompt), and the callback's signing secret
    (with a callback_url; shown this once)."""

    first_message_id: str | None = None
    first_turn_id: str | None = None
    callback_secret: str | None = None
