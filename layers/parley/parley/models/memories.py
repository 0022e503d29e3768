"""Memories: durable facts about one end user of a workspace, recalled into that user's turns."""

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from parley.models.base import ListQuery, RequestModel, ResponseModel

MAX_MEMORY_CHARS = 2_000
MAX_TOPICS = 20
MAX_SEARCH_RESULTS = 50
MAX_MESSAGES = 100
MAX_MESSAGE_CHARS = 32_000

# End-user identity is attribution inside a tenant (X-User-Id, Mielto's user_id), not authentication.
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MemoryText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MEMORY_CHARS)
]
MemoryType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Topics = Annotated[list[Topic], Field(max_length=MAX_TOPICS)]
Metadata = Annotated[dict[str, Any], Field(max_length=50, description="At most 50 keys")]
Source = Literal["api", "conversation"]


class CreateMemory(RequestModel):
    user_id: UserId
    memory: MemoryText = Field(description="One fact about the user, e.g. 'The user lives in Lisbon.'")
    memory_type: MemoryType | None = None
    topics: Topics = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)


class UpdateMemory(RequestModel):
    """A partial update: absent fields are kept; null clears memory_type, topics and metadata."""

    memory: MemoryText | None = None
    memory_type: MemoryType | None = None
    topics: Topics | None = None
    metadata: Metadata | None = None

    @field_validator("memory")
    @classmethod
    def _memory_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("may not be null")
        return value


class MemoryListQuery(ListQuery):
    user_id: UserId | None = Field(None, description="Only this user's memories")
    sort_order: Literal["asc", "desc"] = Field("desc", description="By last update")


class SearchMemories(RequestModel):
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1_000)]
    user_id: UserId | None = Field(None, description="Only this user's memories (else the whole workspace)")
    limit: int = Field(10, ge=1, le=MAX_SEARCH_RESULTS)


class ConversationTurn(RequestModel):
    role: Literal["user", "assistant", "system"]
    content: Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)]


class MemoriesFromMessages(RequestModel):
    messages: list[ConversationTurn] = Field(min_length=1, max_length=MAX_MESSAGES)
    user_id: UserId
    agent_id: str | None = Field(
        None,
        max_length=64,
        description="Whose provider and model extract the facts; default: the default agent",
    )
    conversation_id: str | None = Field(None, max_length=64, description="Recorded on the memories it yields")


class Memory(ResponseModel):
    id: str
    user_id: str
    memory: str
    memory_type: str | None = None
    topics: list[str] = []
    metadata: dict[str, Any] = {}
    source: Source = "api"
    conversation_id: str | None = None
    created_at: str
    updated_at: str


class ScoredMemory(Memory):
    score: float = Field(description="Lexical relevance to the query (BM25); higher is closer")


class MemorySearchResults(ResponseModel):
    data: list[ScoredMemory]


class MemoriesExtracted(ResponseModel):
    data: list[Memory] = Field(description="The memories created or updated, in the order extracted")
    created: int = 0
    updated: int = 0
