from typing import Any

from pydantic import Field

from parley.models.base import RequestModel, ResponseModel

MAX_WAIT_SECONDS = 20


class TurnQuery(RequestModel):
    wait: int = Field(0, ge=0, le=MAX_WAIT_SECONDS, description="Long-poll up to this many seconds")


class Source(ResponseModel):
    """A passage the turn retrieved for the model; ``cited``: the reply names its ``chunk_id``."""

    chunk_id: str
    file_id: str | None = None
    content: str = ""
    display_text: str = ""
    filename: str = ""
    filetype: str = ""
    url: str | None = Field(None, description="A presigned download link of the file, when it is in S3")
    score: float | None = None
    position: int | None = None
    page: int | None = None
    cited: bool = False


class Turn(ResponseModel):
    id: str
    workspace_id: str
    conversation_id: str
    status: str
    request_message_id: str
    reply_message_id: str | None = None
    agent_id: str | None = None
    steps: list[dict[str, Any]] = []
    sources: list[Source] = Field(default_factory=list, description="What retrieval gave the model")
    follow_ups: list[str] = Field(default_factory=list, description="Suggested next questions")
    usage: dict[str, Any] = {}
    error: dict[str, Any] | None = None
    created_at: str
    started_at: str | None = None
    ended_at: str | None = None
