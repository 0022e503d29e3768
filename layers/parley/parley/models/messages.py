from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from parley.models.base import ListQuery, RequestModel, ResponseModel
from parley.models.fields import MAX_CONTENT_CHARS
from parley.models.tools import MAX_TOOLS, ToolChoice, ToolDefinition, check_tools
from parley.models.turns import Turn

# Content above MAX_CONTENT_CHARS is refused (422); above INLINE_CONTENT_LIMIT it is stored in S3
# behind a pointer.
MAX_ATTACHMENTS = 20
MAX_TAGS = 50

Role = Literal["user", "assistant", "system", "tool"]


class NewMessage(RequestModel):
    content: str = Field(max_length=MAX_CONTENT_CHARS)
    role: Role = "user"
    message_type: str = Field("text", max_length=50)
    tool_calls: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    attachments: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    meta_data: dict[str, Any] = Field(default_factory=dict, max_length=50)
    parent_message_id: str | None = Field(None, max_length=64, description="Defaults to the current leaf")
    sender_id: str | None = Field(None, max_length=200)
    owner_id: str | None = Field(None, max_length=200)
    sent_at: str | None = Field(None, max_length=40)


class SendMessage(NewMessage):
    respond: bool = Field(True, description="false stores the message without starting a turn")
    if_busy: Literal["queue", "reject"] = Field(
        "queue", description="When a turn is still open: queue behind it, or answer 409"
    )
    tools: list[ToolDefinition] | None = Field(
        None,
        max_length=MAX_TOOLS,
        description="Tools for this turn only, beside the agent's (a name here wins over the agent's); "
        "without headers: tools whose calls carry secrets are set on the agent",
    )
    tool_choice: ToolChoice | None = Field(None, description="For this turn: auto, none, required or a tool")

    @model_validator(mode="after")
    def _tools(self) -> "SendMessage":
        if self.tools:
            check_tools(self.tools, None, None)
            if any(getattr(tool.execution, "headers", None) for tool in self.tools):
                raise ValueError(
                    "tools: a message's tools may not have headers (their values would be stored with the "
                    "turn); define such tools on the agent, whose header values are kept as secrets"
                )
        return self


class EditMessage(RequestModel):
    # An edit's text is the whole new version: blank, it would ask the model nothing. Kept as typed
    # (not stripped): leading and trailing whitespace can be meaningful (code, poetry).
    content: str = Field(
        min_length=1,
        max_length=MAX_CONTENT_CHARS,
        description="The new version's text: not empty, not only whitespace",
        json_schema_extra={"pattern": r"\S"},
    )
    respond: bool = True

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("may not be only whitespace")
        return value


class UpdateMessage(RequestModel):
    """A partial update: absent fields are kept; null clears tags or meta_data."""

    tags: list[str] | None = Field(None, max_length=MAX_TAGS)
    meta_data: dict[str, Any] | None = Field(None, max_length=50)

    # A stored message always has a list and an object here (every read and edit relies on it): null
    # is stored as empty, never as null.
    @field_validator("tags")
    @classmethod
    def _null_clears_tags(cls, value: list[str] | None) -> list[str]:
        return [] if value is None else value

    @field_validator("meta_data")
    @classmethod
    def _null_clears_meta_data(cls, value: dict[str, Any] | None) -> dict[str, Any]:
        return {} if value is None else value


class ReviseMessage(RequestModel):
    """A stored message changed in place (no new version, no turn): what compat APIs' updates allow."""

    content: str | None = Field(None, max_length=MAX_CONTENT_CHARS)
    message_type: str | None = Field(None, max_length=50)
    tool_calls: list[dict[str, Any]] | None = Field(None, max_length=50)
    attachments: list[dict[str, Any]] | None = Field(None, max_length=MAX_ATTACHMENTS)
    tags: list[str] | None = Field(None, max_length=MAX_TAGS)
    meta_data: dict[str, Any] | None = Field(None, max_length=50)


class Feedback(RequestModel):
    rating: Literal["like", "dislike"] | None = Field(description="null clears this user's feedback")
    user_id: str = Field(min_length=1, max_length=200)


class MessageListQuery(ListQuery):
    order: Literal["asc", "desc"] = "asc"
    role: Role | None = None
    tag: str | None = Field(None, max_length=200)
    branch: str | None = Field(None, max_length=64, description="A leaf message id: list only its path")


class Message(ResponseModel):
    id: str
    conversation_id: str
    workspace_id: str
    role: str
    content: str
    message_type: str = "text"
    tool_calls: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    tags: list[str] = []
    meta_data: dict[str, Any] = {}
    checksum: str
    parent_message_id: str | None = None
    parent_pending: bool = Field(
        False,
        description="Only in a send's 202: the message follows the current leaf, which the send does not "
        "read; parent_message_id is null here and set on every read of the message.",
    )
    sender_id: str | None = None
    owner_id: str | None = None
    turn_id: str | None = None
    tool_call_id: str | None = Field(None, description="On a tool message: the call it answers")
    likes: list[str] = []
    dislikes: list[str] = []
    sent_at: str | None = None
    created_at: str
    updated_at: str


class Accepted(ResponseModel):
    """202: the stored message and, unless ``respond`` was false, its queued turn."""

    message: Message
    turn: Turn | None = None
