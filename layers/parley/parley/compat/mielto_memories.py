"""Mielto's memories API (``/api/v1/memories``, the shapes of mieltoinc/mielto-sdk) over Parley's memories.

A Mielto memory is a Parley memory: ``memory_id`` is its id, and every route answers in Mielto's error
shape (parley.compat.mielto.mielto_error). Differences a client may notice:

* search is lexical (BM25 over the memory's text and topics), whatever ``retrieval_method`` asks for;
  the answer says ``"retrieval_method": "lexical"``. Without ``user_id`` it ranks the workspace's
  most recently updated memories (parley.services.memories.MAX_SEARCHED_MEMORIES);
* listing the whole workspace (no ``user_id``) is by ``updated_at`` only, and has no ``total_count``;
* ``from_messages`` extracts with the named agent's provider and model (a Parley agent id), else the
  workspace's default agent's; ``team_id`` is accepted and ignored. ``memory_ids`` are the memories
  created or updated; ``memories_created`` counts the new ones.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from parley import errors
from parley.compat.mielto_wire import MieltoRequest
from parley.http import Principal
from parley.models.memories import (
    MAX_MESSAGE_CHARS,
    MAX_MESSAGES,
    MAX_SEARCH_RESULTS,
    MemoryText,
    MemoryType,
    Metadata,
    Topics,
    UserId,
)
from parley.services import memories

RETRIEVAL_METHOD = "lexical"


# -- wire models ----------------------------------------------------------------------------------
class MemoryCreate(MieltoRequest):
    user_id: UserId
    memory: MemoryText
    memory_type: MemoryType | None = None
    topics: Topics | None = None
    metadata: Metadata | None = None


class MemoryUpdate(MieltoRequest):
    """Partial: absent fields are kept; a null memory is ignored, null topics/metadata/memory_type clear."""

    user_id: UserId | None = None
    memory: MemoryText | None = None
    memory_type: MemoryType | None = None
    topics: Topics | None = None
    metadata: Metadata | None = None


class MemoryReplace(MieltoRequest):
    """Whole: what is not given is cleared."""

    user_id: UserId | None = None
    memory: MemoryText
    memory_type: MemoryType | None = None
    topics: Topics | None = None
    metadata: Metadata | None = None


class MemoryUserQuery(MieltoRequest):
    user_id: UserId | None = None


class MemoryListQuery(MieltoRequest):
    user_id: UserId | None = None
    cursor: str | None = Field(None, max_length=2048)
    limit: int = Field(50, ge=1, le=100)
    sort_by: Literal["updated_at", "created_at"] = "updated_at"
    sort_order: Literal["asc", "desc"] = "desc"


class MemorySearchRequest(MieltoRequest):
    query: str = Field(min_length=1, max_length=1_000)
    user_id: UserId | None = None
    limit: int = Field(10, ge=1, le=1_000, description=f"At most {MAX_SEARCH_RESULTS} are returned")
    retrieval_method: str | None = Field(None, max_length=50)


class MemoryFromMessagesRequest(MieltoRequest):
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_MESSAGES)
    user_id: UserId
    agent_id: str | None = Field(None, max_length=64)
    team_id: str | None = Field(None, max_length=200)


class MemoryRead(BaseModel):
    memory_id: str
    user_id: str
    memory: str
    memory_type: str | None = None
    topics: list[str] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    metadata: dict[str, Any] | None = None


class MemoryEnvelope(BaseModel):
    memory: MemoryRead


class MemoryListResponse(BaseModel):
    data: list[MemoryRead]
    total_count: int | None = None
    next_cursor: str | None = None
    has_more: bool = False


class MemorySearchResponse(BaseModel):
    memories: list[MemoryRead]
    total_results: int
    query: str
    retrieval_method: str = RETRIEVAL_METHOD


class MemoryFromMessagesResult(BaseModel):
    memories_created: int
    memory_ids: list[str]


class MemoryFromMessagesResponse(BaseModel):
    message: str
    result: MemoryFromMessagesResult


# -- views ----------------------------------------------------------------------------------------
def memory_read(memory: dict[str, Any]) -> MemoryRead:
    return MemoryRead(
        memory_id=memory["id"],
        user_id=memory["user_id"],
        memory=memory["memory"],
        memory_type=memory.get("memory_type"),
        topics=list(memory.get("topics") or []),
        created_at=memory.get("created_at"),
        updated_at=memory.get("updated_at"),
        metadata=dict(memory.get("metadata") or {}),
    )


def _mielto_not_found(exc: errors.NotFound) -> errors.NotFound:
    return errors.NotFound("Memory not found") if exc.message.startswith("Memory ") else exc


# -- the routes -----------------------------------------------------------------------------------
def create_memory(principal: Principal, body: MemoryCreate) -> MemoryEnvelope:
    record = memories.create_record(
        principal.workspace_id,
        body.user_id,
        body.memory,
        memory_type=body.memory_type,
        topics=body.topics or [],
        metadata=body.metadata or {},
    )
    return MemoryEnvelope(memory=memory_read(record))


def get_memory(principal: Principal, memory_id: str, query: MemoryUserQuery) -> MemoryRead:
    try:
        return memory_read(memories.find(principal.workspace_id, memory_id, user_id=query.user_id))
    except errors.NotFound as exc:
        raise _mielto_not_found(exc) from exc


def list_memories(principal: Principal, query: MemoryListQuery) -> MemoryListResponse:
    found = memories.listing(
        principal.workspace_id,
        user_id=query.user_id,
        sort_by=query.sort_by,
        sort_order=query.sort_order,
        limit=query.limit,
        cursor=query.cursor,
    )
    return MemoryListResponse(
        data=[memory_read(item) for item in found.items],
        total_count=found.total,
        next_cursor=found.cursor,
        has_more=found.cursor is not None,
    )


def update_memory(principal: Principal, memory_id: str, body: MemoryUpdate) -> MemoryEnvelope:
    changes = body.model_dump(exclude_unset=True, exclude={"user_id"})
    if changes.get("memory", "") is None:
        del changes["memory"]
    return MemoryEnvelope(memory=_revised(principal, memory_id, changes, body.user_id))


def replace_memory(principal: Principal, memory_id: str, body: MemoryReplace) -> MemoryEnvelope:
    changes = {
        "memory": body.memory,
        "memory_type": body.memory_type,
        "topics": body.topics or [],
        "metadata": body.metadata or {},
    }
    return MemoryEnvelope(memory=_revised(principal, memory_id, changes, body.user_id))


def _revised(
    principal: Principal, memory_id: str, changes: dict[str, Any], user_id: str | None
) -> MemoryRead:
    try:
        return memory_read(memories.revise(principal.workspace_id, memory_id, changes, user_id=user_id))
    except errors.NotFound as exc:
        raise _mielto_not_found(exc) from exc


def delete_memory(principal: Principal, memory_id: str, query: MemoryUserQuery) -> dict[str, str]:
    try:
        memories.remove(principal.workspace_id, memory_id, user_id=query.user_id)
    except errors.NotFound as exc:
        raise _mielto_not_found(exc) from exc
    return {"detail": "Memory deleted"}


def search_memories(principal: Principal, body: MemorySearchRequest) -> MemorySearchResponse:
    ranked = memories.search_ranked(
        principal.workspace_id, body.query, body.user_id, min(body.limit, MAX_SEARCH_RESULTS)
    )
    return MemorySearchResponse(
        memories=[memory_read(memory) for _, memory in ranked],
        total_results=len(ranked),
        query=body.query,
    )


def memories_from_messages(
    principal: Principal, body: MemoryFromMessagesRequest
) -> MemoryFromMessagesResponse:
    conversation = [_message(item) for item in body.messages]
    usable = [message for message in conversation if message is not None]
    if not usable:
        raise errors.ValidationFailed(
            "No message has text content.",
            details=[
                {"loc": ["body", "messages"], "msg": "No message has a text content", "type": "value_error"}
            ],
        )
    outcomes = memories.extract(principal.workspace_id, body.user_id, usable, agent_id=body.agent_id)
    created = sum(1 for _, action in outcomes if action == "created")
    return MemoryFromMessagesResponse(
        message=f"Processed {len(usable)} messages: {created} memories created, "
        f"{len(outcomes) - created} updated",
        result=MemoryFromMessagesResult(
            memories_created=created, memory_ids=[record["id"] for record, _ in outcomes]
        ),
    )


def _message(item: dict[str, Any]) -> dict[str, str] | None:
    """A {role, content} message from Mielto's free-form one (text content, or OpenAI-style text parts)."""
    content = item.get("content")
    if isinstance(content, list):
        content = "\n".join(
            str(part.get("text"))
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    if not isinstance(content, str) or not content.strip():
        return None
    role = item.get("role") if item.get("role") in ("user", "assistant", "system") else "user"
    return {"role": str(role), "content": content[:MAX_MESSAGE_CHARS]}
