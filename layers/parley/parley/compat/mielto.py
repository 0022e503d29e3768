"""Mielto's wire (docs.mielto.com, a FastAPI app) over Parley's conversations and messages.

Errors are FastAPI's (parley.compat.mielto_wire, shared with the memory endpoints).

A Mielto message id is ``<conversation id>.<message id>``: Parley stores messages in their
conversation's partition, and Mielto addresses a message by its id alone. Encoding the conversation
in the id finds any message in one read - the agent's replies and natively sent messages too, which
a lookup item written by this API's create path would miss - and costs no extra write.

Mielto-only conversation fields (is_public, collections, settings, owner_id, created_by, summary)
live in the native conversation's metadata under ``_mielto``; the rest of it is Mielto's meta_data.
"""

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from parley import clock, errors
from parley.compat.mielto_wire import MieltoRequest
from parley.http import Principal
from parley.models.conversations import CreateConversation
from parley.models.messages import MAX_CONTENT_CHARS, MAX_TAGS, Message, NewMessage, ReviseMessage, Role
from parley.services import conversations, messages
from parley.store import conversations as conversation_store

MIELTO_KEY = "_mielto"
# A listing filters and counts in memory: it reads at most this many conversations.
MAX_LISTED_CONVERSATIONS = 5_000
MAX_MESSAGES_PER_REQUEST = 100


# -- wire models ----------------------------------------------------------------------------------
class MessageCreateRequest(MieltoRequest):
    content: str = Field(max_length=MAX_CONTENT_CHARS)
    sender_id: str | None = Field(None, max_length=200)
    created_at: datetime | None = None
    role: Role = "user"
    message_type: str | None = Field("text", max_length=50)
    tool_calls: list[dict[str, Any]] | None = Field(None, max_length=50)
    parent_message_id: str | None = Field(None, max_length=200)
    tags: list[str] | None = Field(None, max_length=MAX_TAGS)
    meta_data: dict[str, Any] | None = Field(None, max_length=49)
    attachments: list[dict[str, Any]] | None = Field(None, max_length=20)


class MessageCreate(MieltoRequest):
    conversation_id: str | None = Field(None, max_length=200)
    content: list[MessageCreateRequest] = Field(min_length=1, max_length=MAX_MESSAGES_PER_REQUEST)
    enable_memories: bool | None = False

    @field_validator("content", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class MessageUpdate(MieltoRequest):
    content: str | None = Field(None, max_length=MAX_CONTENT_CHARS)
    tool_calls: list[dict[str, Any]] | None = Field(None, max_length=50)
    message_type: str | None = Field(None, max_length=50)
    tags: list[str] | None = Field(None, max_length=MAX_TAGS)
    attachments: list[dict[str, Any]] | None = Field(None, max_length=20)
    meta_data: dict[str, Any] | None = Field(None, max_length=50)


class MessageListQuery(MieltoRequest):
    conversation_id: str = Field(max_length=200, description="Required: messages are listed per conversation")
    sender_id: str | None = Field(None, max_length=200)
    role: str | None = Field(None, max_length=50)
    message_type: str | None = Field(None, max_length=50)
    search: str | None = Field(None, max_length=500)
    tags: str | None = Field(None, max_length=2000, description="Comma-separated: a message with any of them")
    skip: int = Field(0, ge=0)
    limit: int = Field(100, ge=1, le=1000)
    order_by: Literal["created_at", "updated_at", "sent_at"] = "created_at"
    order_direction: Literal["asc", "desc"] = "asc"


class ConversationCreate(MieltoRequest):
    title: str = Field(max_length=500)
    is_public: bool = False
    collections: list[str] | None = Field(None, max_length=100)
    meta_data: dict[str, Any] | None = Field(None, max_length=49)
    settings: dict[str, Any] | None = None
    owner_id: str | None = Field(None, max_length=200)
    user_id: str | None = Field(None, max_length=200, description="The quickstart's name for owner_id")
    messages: list[MessageCreateRequest] | None = Field(None, max_length=MAX_MESSAGES_PER_REQUEST)


class ConversationListQuery(MieltoRequest):
    skip: int = Field(0, ge=0)
    limit: int = Field(100, ge=1, le=1000)
    status: Literal["active", "ended", "archived"] | None = None
    search: str | None = Field(None, max_length=500)
    user_id: str | None = Field(None, max_length=200)
    collection_id: str | None = Field(None, max_length=200)
    cursor: str | None = Field(None, max_length=200)


class MessageRead(BaseModel):
    id: str
    conversation_id: str
    sender_id: str
    content: str
    workspace_id: str
    role: str = "user"
    tool_calls: list[dict[str, Any]] | None = None
    message_type: str = "text"
    tags: list[str] | None = None
    checksum: str | None = None
    attachments: list[dict[str, Any]] | None = None
    parent_message_id: str | None = None
    meta_data: dict[str, Any] = {}
    sent_at: str | None = None
    owner_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ConversationRead(BaseModel):
    id: str
    title: str | None = None
    summary: str | None = None
    status: str = "active"
    is_public: bool = False
    collections: list[str] | None = None
    meta_data: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    ended_at: str | None = None
    owner_id: str | None = None
    workspace_id: str
    created_by: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ConversationList(BaseModel):
    data: list[ConversationRead]
    total_count: int
    next_cursor: str | None = None
    has_more: bool = False


# -- ids ------------------------------------------------------------------------------------------
def message_id(conversation_id: str, native_id: str) -> str:
    return f"{conversation_id}.{native_id}"


def split_message_id(mielto_id: str) -> tuple[str, str]:
    """(conversation id, native message id); NotFound for an id this API did not hand out."""
    conversation_id, dot, native_id = mielto_id.partition(".")
    if not dot or not conversation_id or not native_id:
        raise errors.NotFound("Message not found")
    return conversation_id, native_id


def _native_parent(parent: str | None) -> str | None:
    return parent.rpartition(".")[2] if parent else None


# -- views ----------------------------------------------------------------------------------------
def message_read(message: Message | dict[str, Any]) -> MessageRead:
    native = message if isinstance(message, Message) else messages.view(message)
    parent = native.parent_message_id
    return MessageRead(
        id=message_id(native.conversation_id, native.id),
        conversation_id=native.conversation_id,
        sender_id=native.sender_id or native.owner_id or "",
        content=native.content,
        workspace_id=native.workspace_id,
        role=native.role,
        tool_calls=native.tool_calls,
        message_type=native.message_type,
        tags=native.tags,
        checksum=native.checksum,
        attachments=native.attachments,
        parent_message_id=message_id(native.conversation_id, parent) if parent else None,
        meta_data=native.meta_data,
        sent_at=native.sent_at,
        owner_id=native.owner_id,
        created_at=native.created_at,
        updated_at=native.updated_at,
    )


def conversation_read(conversation: dict[str, Any]) -> ConversationRead:
    meta_data = dict(conversation.get("metadata") or {})
    mielto = meta_data.pop(MIELTO_KEY, None) or {}
    return ConversationRead(
        id=conversation["id"],
        title=conversation.get("title"),
        summary=mielto.get("summary"),
        status=conversation["status"],
        is_public=bool(mielto.get("is_public", False)),
        collections=mielto.get("collections") or [],
        meta_data=meta_data,
        settings=mielto.get("settings") or {},
        ended_at=conversation.get("archived_at"),
        owner_id=mielto.get("owner_id"),
        workspace_id=conversation["workspace_id"],
        created_by=mielto.get("created_by"),
        created_at=conversation.get("created_at"),
        updated_at=conversation.get("updated_at"),
    )


# -- conversations --------------------------------------------------------------------------------
def _conversation(workspace_id: str, conversation_id: str, *, consistent: bool = False) -> dict[str, Any]:
    found = conversation_store.get(workspace_id, conversation_id, consistent=consistent)
    if found is None or found.get("kind", conversations.KIND) != conversations.KIND:
        raise errors.NotFound("Conversation not found")
    return found


def create_conversation(principal: Principal, body: ConversationCreate) -> ConversationRead:
    mielto = {
        "is_public": body.is_public,
        "collections": body.collections or [],
        "settings": body.settings or {},
        "owner_id": body.owner_id or body.user_id,
        "created_by": body.owner_id or body.user_id or principal.key_id,
    }
    created = conversations.create(
        principal,
        CreateConversation(title=body.title, metadata={**(body.meta_data or {}), MIELTO_KEY: mielto}),
    )
    if body.messages:
        conversation = _conversation(principal.workspace_id, created.id, consistent=True)
        post_messages(principal.workspace_id, conversation, body.messages, enable_memories=False)
    return conversation_read(_conversation(principal.workspace_id, created.id, consistent=True))


def get_conversation(principal: Principal, conversation_id: str) -> ConversationRead:
    return conversation_read(_conversation(principal.workspace_id, conversation_id))


def delete_conversation(principal: Principal, conversation_id: str) -> dict[str, str]:
    _conversation(principal.workspace_id, conversation_id, consistent=True)
    try:
        conversations.delete(principal, conversation_id)
    except errors.NotFound as exc:
        raise errors.NotFound("Conversation not found") from exc
    return {"detail": "Conversation deleted"}


def list_conversations(principal: Principal, query: ConversationListQuery) -> ConversationList:
    """Newest activity first; filtered and counted over at most MAX_LISTED_CONVERSATIONS."""
    skip = _decode_offset(query.cursor) if query.cursor else query.skip
    statuses = {"active": ["active"], "archived": ["archived"], "ended": []}.get(
        query.status or "", ["active", "archived"]
    )
    matched = [
        read
        for read, last_activity in sorted(
            _listed(principal.workspace_id, statuses), key=lambda pair: pair[1], reverse=True
        )
        if _conversation_matches(read, query)
    ]
    chunk = matched[skip : skip + query.limit]
    more = skip + len(chunk) < len(matched)
    return ConversationList(
        data=chunk,
        total_count=len(matched),
        next_cursor=_encode_offset(skip + len(chunk)) if more else None,
        has_more=more,
    )


def _listed(workspace_id: str, statuses: Sequence[str]) -> Iterator[tuple[ConversationRead, str]]:
    for status in statuses:
        cursor, seen = None, 0
        while True:
            items, cursor = conversation_store.list_page(
                workspace_id, conversations.KIND, status, 100, cursor
            )
            for item in items:
                yield conversation_read(item), str(item.get("last_activity_at", ""))
            seen += len(items)
            if cursor is None or seen >= MAX_LISTED_CONVERSATIONS:
                break


def _conversation_matches(read: ConversationRead, query: ConversationListQuery) -> bool:
    if query.search and query.search.lower() not in (read.title or "").lower():
        return False
    if query.user_id and read.owner_id != query.user_id:
        return False
    return not (query.collection_id and query.collection_id not in (read.collections or []))


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_offset(cursor: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise errors.ValidationFailed(
            "The cursor is not valid.",
            details=[{"loc": ["query", "cursor"], "msg": "Invalid cursor", "type": "value_error"}],
        )
    return offset


# -- messages -------------------------------------------------------------------------------------
def create_messages(principal: Principal, body: MessageCreate) -> list[MessageRead]:
    if not body.conversation_id:
        raise errors.ValidationFailed(
            "conversation_id is required.",
            details=[{"loc": ["body", "conversation_id"], "msg": "Field required", "type": "missing"}],
        )
    conversation = _conversation(principal.workspace_id, body.conversation_id, consistent=True)
    return post_messages(
        principal.workspace_id, conversation, body.content, enable_memories=bool(body.enable_memories)
    )


def post_messages(
    workspace_id: str,
    conversation: dict[str, Any],
    requests: Sequence[MessageCreateRequest],
    *,
    enable_memories: bool,
) -> list[MessageRead]:
    """Store the messages in order, each after the one before; only the last user message is answered.

    Not one transaction: if a later message is refused, the earlier ones stay."""
    last_user = max((i for i, request in enumerate(requests) if request.role == "user"), default=-1)
    stored = []
    for position, request in enumerate(requests):
        accepted = messages.post(
            workspace_id,
            conversation,
            _new_message(request, enable_memories),
            respond=position == last_user,
        )
        conversation = {**conversation, "leaf_message_id": accepted.message.id}
        stored.append(message_read(accepted.message))
    return stored


def _new_message(request: MessageCreateRequest, enable_memories: bool) -> NewMessage:
    meta_data = dict(request.meta_data or {})
    if enable_memories:
        meta_data["enable_memories"] = True  # turns memory on for this message (parley.agent.memory)
    return NewMessage(
        content=request.content,
        role=request.role,
        message_type=request.message_type or "text",
        tool_calls=request.tool_calls or [],
        attachments=request.attachments or [],
        tags=request.tags or [],
        meta_data=meta_data,
        parent_message_id=_native_parent(request.parent_message_id),
        sender_id=request.sender_id,
        sent_at=clock.iso(request.created_at) if request.created_at else None,
    )


def get_message(principal: Principal, mielto_id: str) -> MessageRead:
    conversation_id, native_id = split_message_id(mielto_id)
    try:
        return message_read(messages.get(principal, conversation_id, native_id))
    except errors.NotFound as exc:
        raise errors.NotFound("Message not found") from exc


def update_message(principal: Principal, mielto_id: str, body: MessageUpdate) -> MessageRead:
    conversation_id, native_id = split_message_id(mielto_id)
    changes = body.model_dump(exclude_unset=True)
    # Mielto's null for a list or object clears it; a null content or type leaves it as it is.
    for name, empty in (("tool_calls", []), ("tags", []), ("attachments", []), ("meta_data", {})):
        if name in changes and changes[name] is None:
            changes[name] = empty
    try:
        _conversation(principal.workspace_id, conversation_id)
        revised = messages.revise(
            principal.workspace_id, conversation_id, native_id, ReviseMessage.model_validate(changes)
        )
    except errors.NotFound as exc:
        raise errors.NotFound("Message not found") from exc
    return message_read(revised)


def list_messages(principal: Principal, query: MessageListQuery) -> list[MessageRead]:
    """Filtered in memory over the conversation (at most messages.MAX_SCANNED_MESSAGES of it)."""
    _conversation(principal.workspace_id, query.conversation_id)
    newest_first = query.order_direction == "desc"
    wanted = query.skip + query.limit
    found = (
        item
        for item in messages.scan(principal.workspace_id, query.conversation_id, newest_first=newest_first)
        if _message_matches(item, query)
    )
    if query.order_by == "created_at":  # ids are ULIDs: the partition is already in this order
        matched = []
        for item in found:
            matched.append(item)
            if len(matched) == wanted:
                break
    else:
        field = query.order_by
        matched = sorted(found, key=lambda m: (m.get(field) or "", m["id"]), reverse=newest_first)
    return [message_read(item) for item in matched[query.skip : wanted]]


def _message_matches(item: dict[str, Any], query: MessageListQuery) -> bool:
    if query.sender_id and item.get("sender_id") != query.sender_id:
        return False
    if query.role and item.get("role") != query.role:
        return False
    if query.message_type and item.get("message_type", "text") != query.message_type:
        return False
    if query.search and query.search.lower() not in item.get("content", "").lower():
        return False
    wanted_tags = {tag.strip() for tag in (query.tags or "").split(",") if tag.strip()}
    return not (wanted_tags and not wanted_tags.intersection(item.get("tags") or []))
