from typing import Any, Literal

from pydantic import Field, field_validator

from parley.models.base import ListQuery, RequestModel, ResponseModel


class CreateConversation(RequestModel):
    title: str | None = Field(None, max_length=500)
    agent_id: str | None = Field(None, max_length=64, description="Defaults to the workspace's default agent")
    metadata: dict[str, Any] = Field(default_factory=dict, max_length=50, description="At most 50 keys")


class UpdateConversation(RequestModel):
    """A partial update: absent fields are kept; null clears title, agent_id or metadata."""

    title: str | None = Field(None, max_length=500)
    agent_id: str | None = Field(None, max_length=64)
    metadata: dict[str, Any] | None = Field(None, max_length=50)

    # A stored conversation always has an object here (every read relies on it): null is stored as
    # empty, never as null.
    @field_validator("metadata")
    @classmethod
    def _null_clears_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any]:
        return {} if value is None else value


class ConversationListQuery(ListQuery):
    status: Literal["active", "archived"] = "active"


class Conversation(ResponseModel):
    id: str
    workspace_id: str
    kind: str = "conversation"  # "job" for a job (see /v1/jobs for its lifecycle)
    title: str | None = None
    agent_id: str | None = None
    metadata: dict[str, Any] = {}
    status: str
    message_count: int = 0
    leaf_message_id: str | None = None
    last_activity_at: str
    created_at: str
    updated_at: str
    archived_at: str | None = None


class Branch(ResponseModel):
    leaf_message_id: str
    length: int
    last_message_at: str
    is_current: bool


class BranchList(ResponseModel):
    data: list[Branch]
