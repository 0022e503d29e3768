"""A workspace's tools (``GET /v1/tools``) and its tool offerings: tools other workspaces may use.

A tool's key is Shinkai's form ``local:::<toolkit>:::<tool>``: the toolkit is ``builtin`` for the
tools Parley itself provides, else the id of the agent that defines the tool; the tool is the
function's name. An offering is free: Parley runs no payment network, so a paid price is refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from parley.models.base import RequestModel, ResponseModel

FREE = "free"
MetaDescription = Annotated[str, StringConstraints(max_length=4096)]
WorkspaceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class UsageType(RequestModel):
    """How a use of the tool is priced; only ``{"per_use": "free"}`` is supported."""

    per_use: Any = Field(description='"free" (a paid price, e.g. {"payment": [...]}, is refused)')

    @field_validator("per_use")
    @classmethod
    def _free_only(cls, value: Any) -> Any:
        if value == FREE:
            return value
        if isinstance(value, dict) and value:
            raise ValueError(
                f"a paid price ({', '.join(sorted(map(str, value)))}) is not supported: Parley has no "
                'payment network, so a tool can only be offered for free ("free")'
            )
        raise ValueError('must be "free", the only price Parley supports')


class SetToolOffering(RequestModel):
    usage_type: UsageType
    meta_description: MetaDescription | None = Field(None, description="What other workspaces read")


class OfferedToolSpec(ResponseModel):
    """What another workspace sees of an offered tool: never its execution (URL, headers)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    kind: Literal["client", "http", "mcp"] = Field(
        description="client: the using workspace's client runs it; http/mcp: Parley runs it for it"
    )


class ToolOffering(ResponseModel):
    tool_key: str
    workspace_id: str = Field(description="The workspace that offers the tool")
    usage_type: dict[str, Any] = Field(default_factory=lambda: {"per_use": FREE})
    meta_description: str | None = None
    tool: OfferedToolSpec | None = Field(
        None, description="null: the tool behind the offering was deleted or renamed (it is not usable)"
    )
    created_at: str
    updated_at: str


class WorkspaceTool(ResponseModel):
    key: str = Field(description="local:::<toolkit>:::<tool>; toolkit: builtin or the agent's id")
    toolkit: str
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    kind: Literal["builtin", "client", "http", "mcp"]
    agent_id: str | None = Field(None, description="The agent that defines it (none for built-in tools)")
    offering: ToolOffering | None = None


class ToolOfferingsQuery(RequestModel):
    workspace_id: WorkspaceId | None = Field(
        None, description="Another workspace: its offered tools (only offerings, and only usable ones)"
    )


class ToolReference(RequestModel):
    """An offered tool an agent uses: resolved at turn time while the offering exists."""

    type: Literal["offered"]
    workspace_id: WorkspaceId
    tool_key: str = Field(max_length=200)
