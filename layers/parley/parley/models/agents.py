"""Agents: instructions, a provider and model, sampling parameters and the turn's budgets."""

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from parley.models.base import Name, RequestModel, ResponseModel
from parley.models.fields import MaxTokens, ModelName, ProviderId, Seed, Temperature, TopP
from parley.models.knowledge import KnowledgeSettings

Instructions = Annotated[str, StringConstraints(max_length=100_000)]
HistoryMessages = Annotated[int, Field(ge=1, le=200, description="Most messages of history a turn loads")]
HistoryChars = Annotated[int, Field(ge=100, le=1_000_000, description="Most characters of history")]
FollowUps = Annotated[int, Field(ge=0, le=5, description="Follow-up questions suggested after a reply")]

DEFAULT_HISTORY_MESSAGES = 20
DEFAULT_HISTORY_CHARS = 24_000


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
    # Unset: the new agent becomes the default only if the workspace has none yet.
    is_default: bool | None = None


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
    is_default: bool | None = None

    @field_validator(
        "name",
        "instructions",
        "provider_id",
        "history_messages",
        "history_chars",
        "memory",
        "follow_ups",
        "knowledge",
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
    is_default: bool = False
    created_at: str
    updated_at: str
