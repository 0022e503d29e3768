"""Agents: instructions, a provider and model, sampling parameters and the turn's budgets."""

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator, model_validator

from parley.models.base import Name, RequestModel, ResponseModel
from parley.models.fields import MaxTokens, ModelName, ProviderId, Seed, Temperature, TopP
from parley.models.knowledge import KnowledgeSettings
from parley.models.tool_offerings import ToolReference
from parley.models.tools import (
    MAX_MCP_SERVERS,
    MAX_TOOLS,
    McpServerConfig,
    ToolChoice,
    ToolDefinition,
    check_tools,
)

Instructions = Annotated[str, StringConstraints(max_length=100_000)]
HistoryMessages = Annotated[int, Field(ge=1, le=200, description="Most messages of history a turn loads")]
HistoryChars = Annotated[int, Field(ge=100, le=1_000_000, description="Most characters of history")]
FollowUps = Annotated[int, Field(ge=0, le=5, description="Follow-up questions suggested after a reply")]

MaxModelCalls = Annotated[int, Field(ge=1, le=50, description="Most model calls in one turn's tool loop")]
MaxToolCalls = Annotated[int, Field(ge=0, le=256, description="Most tool calls in one turn")]
ToolOutputsTimeout = Annotated[
    int, Field(ge=10, le=86_400, description="Seconds a turn waits in requires_action before it expires")
]
Tools = Annotated[list[ToolDefinition], Field(max_length=MAX_TOOLS)]
McpServers = Annotated[list[McpServerConfig], Field(max_length=MAX_MCP_SERVERS)]
OfferedTools = Annotated[list[ToolReference], Field(max_length=MAX_TOOLS)]

DEFAULT_HISTORY_MESSAGES = 20
DEFAULT_HISTORY_CHARS = 24_000
DEFAULT_MAX_MODEL_CALLS = 8
DEFAULT_MAX_TOOL_CALLS = 32
DEFAULT_TOOL_OUTPUTS_TIMEOUT = 600


class CreateAgent(RequestModel):
    name: Name
    instructions: Instructions = Field("", description="The system prompt")
    provider_id: ProviderId
    model: ModelName | None = Field(None, description="Default: the provider's default_model")
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: MaxTokens | None = None
    seed: Seed | None = None
    history_messages: HistoryMessages = DEFAULT_HISTORY_MESSAGES
    history_chars: HistoryChars = DEFAULT_HISTORY_CHARS
    memory: bool = False
    follow_ups: FollowUps = 0
    knowledge: KnowledgeSettings | None = Field(None, description="Where turns retrieve from, and how")
    tools: Tools = Field(default_factory=list, description="Tools the agent may call")
    tool_choice: ToolChoice = "auto"
    mcp_servers: McpServers = Field(default_factory=list, description="MCP servers whose tools it may call")
    offered_tools: OfferedTools = Field(
        default_factory=list,
        description="Tools other workspaces offer (GET /v1/tool-offerings?workspace_id=)",
    )
    max_model_calls: MaxModelCalls = DEFAULT_MAX_MODEL_CALLS
    max_tool_calls: MaxToolCalls = DEFAULT_MAX_TOOL_CALLS
    tool_outputs_timeout_s: ToolOutputsTimeout = DEFAULT_TOOL_OUTPUTS_TIMEOUT
    # Unset: the new agent becomes the default only if the workspace has none yet.
    is_default: bool | None = None

    @model_validator(mode="after")
    def _tools_consistent(self) -> "CreateAgent":
        check_tools(self.tools, self.tool_choice, self.mcp_servers)
        return self


class UpdateAgent(RequestModel):
    """A partial update: absent fields are kept; null clears model (back to the provider's default)
    and the sampling parameters."""

    name: Name | None = None
    instructions: Instructions | None = None
    provider_id: ProviderId | None = None
    model: ModelName | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: MaxTokens | None = None
    seed: Seed | None = None
    history_messages: HistoryMessages | None = None
    history_chars: HistoryChars | None = None
    memory: bool | None = None
    follow_ups: FollowUps | None = None
    knowledge: KnowledgeSettings | None = None
    tools: Tools | None = None
    tool_choice: ToolChoice | None = None
    mcp_servers: McpServers | None = None
    offered_tools: OfferedTools | None = None
    max_model_calls: MaxModelCalls | None = None
    max_tool_calls: MaxToolCalls | None = None
    tool_outputs_timeout_s: ToolOutputsTimeout | None = None
    is_default: bool | None = None

    @model_validator(mode="after")
    def _tools_consistent(self) -> "UpdateAgent":
        # A choice naming a tool kept from before is checked by the service, which knows those.
        if self.tools is not None or self.mcp_servers is not None:
            check_tools(self.tools, self.tool_choice, self.mcp_servers)
        return self

    @field_validator(
        "name",
        "instructions",
        "provider_id",
        "history_messages",
        "history_chars",
        "memory",
        "follow_ups",
        "knowledge",
        "tools",
        "tool_choice",
        "mcp_servers",
        "offered_tools",
        "max_model_calls",
        "max_tool_calls",
        "tool_outputs_timeout_s",
        "is_default",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class Agent(ResponseModel):
    id: str
    name: str
    instructions: str = ""
    provider_id: str
    model: str
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    history_messages: int = DEFAULT_HISTORY_MESSAGES
    history_chars: int = DEFAULT_HISTORY_CHARS
    memory: bool = False
    follow_ups: int = 0
    knowledge: dict[str, Any] = Field(default_factory=dict)
    tools: list[dict[str, Any]] = Field(default_factory=list, description="Header values show as REDACTED")
    tool_choice: str | dict[str, Any] = "auto"
    mcp_servers: list[dict[str, Any]] = Field(default_factory=list)
    offered_tools: list[dict[str, Any]] = Field(default_factory=list)
    max_model_calls: int = DEFAULT_MAX_MODEL_CALLS
    max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS
    tool_outputs_timeout_s: int = DEFAULT_TOOL_OUTPUTS_TIMEOUT
    is_default: bool = False
    created_at: str
    updated_at: str
