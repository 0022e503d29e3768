from typing import Any

from pydantic import Field

from parley.models.base import RequestModel, ResponseModel
from parley.models.fields import MAX_CONTENT_CHARS

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
    """``status``: queued, running, requires_action (waiting for the client's tool outputs), completed,
    failed, cancelled or expired (tool outputs never came)."""

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
    required_action: dict[str, Any] | None = Field(
        None,
        description="In requires_action: {type: submit_tool_outputs, submit_tool_outputs: {tool_calls: "
        "[{id, type: function, function: {name, arguments}}]}}",
    )
    expires_at: str | None = Field(None, description="In requires_action: when the turn expires")
    partial_content: str | None = Field(
        None,
        description="While running: the reply's text so far (stored at most every 0.5 s; a cancelled "
        "turn keeps it). Frames after partial_seq on the WebSocket API continue it.",
    )
    partial_seq: int | None = Field(
        None, description="The seq of the last stream frame partial_content includes"
    )
    created_at: str
    started_at: str | None = None
    ended_at: str | None = None


class ToolOutputIn(RequestModel):
    tool_call_id: str = Field(min_length=1, max_length=200)
    output: str = Field(max_length=MAX_CONTENT_CHARS, description="What the tool returned, as text")
    is_error: bool = Field(False, description="The tool failed: the model reads the output as its error")


class SubmitToolOutputs(RequestModel):
    tool_outputs: list[ToolOutputIn] = Field(min_length=1, max_length=128)
