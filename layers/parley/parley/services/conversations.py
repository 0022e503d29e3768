"""Conversations: create, read, list by activity, update, archive, delete (purged in the background)."""

from __future__ import annotations

import json
from typing import Any

from parley import clock, errors, ids
from parley.config import settings
from parley.http import Principal
from parley.models.base import Page
from parley.models.conversations import (
    Conversation,
    ConversationListQuery,
    CreateConversation,
    UpdateConversation,
)
from parley.store import conversations as store
from parley.store import table

KIND = "conversation"


def new_conversation(workspace_id: str, *, kind: str = KIND, **fields: Any) -> dict[str, Any]:
    now = clock.iso()
    return {
        "id": ids.new_id("conv"),
        "workspace_id": workspace_id,
        "kind": kind,
        "status": "active",
        "title": None,
        "agent_id": None,
        "metadata": {},
        "message_count": 0,
        "open_turns": 0,
        "leaf_message_id": None,
        "last_activity_at": now,
        "created_at": now,
        "updated_at": now,
        **fields,
    }


def view(conversation: dict[str, Any]) -> Conversation:
    return Conversation.model_validate(conversation)


def require(principal: Principal, conversation_id: str, *, consistent: bool = False) -> dict[str, Any]:
    """The caller's conversation (of any kind), or NotFound: another tenant's id is simply not there."""
    return store.require(principal.workspace_id, conversation_id, consistent=consistent)


def create(principal: Principal, body: CreateConversation) -> Conversation:
    conversation = new_conversation(
        principal.workspace_id, title=body.title, agent_id=body.agent_id, metadata=body.metadata
    )
    table.transact(store.put_ops(conversation))
    return view(conversation)


def get(principal: Principal, conversation_id: str) -> Conversation:
    return view(require(principal, conversation_id))


def list_conversations(principal: Principal, query: ConversationListQuery) -> Page[Conversation]:
    items, cursor = store.list_page(principal.workspace_id, KIND, query.status, query.limit, query.cursor)
    return Page[Conversation](
        data=[view(item) for item in items], next_cursor=cursor, has_more=cursor is not None
    )


def update(principal: Principal, conversation_id: str, body: UpdateConversation) -> Conversation:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return get(principal, conversation_id)
    changes["updated_at"] = clock.iso()
    try:
        return view(store.update(principal.workspace_id, conversation_id, set_fields=changes))
    except table.ConditionFailed as exc:
        raise errors.NotFound(f"Conversation {conversation_id} not found.") from exc


def archive(principal: Principal, conversation_id: str) -> Conversation:
    current = require(principal, conversation_id, consistent=True)
    if current.get("kind", KIND) != KIND:
        # A job has its own lifecycle (only a finished job is archived), and its own events.
        raise errors.InvalidState(
            f"{conversation_id} is a job: archive it with POST /v1/jobs/{conversation_id}/archive.",
            details=[{"status": current["status"]}],
        )
    if current["status"] == "archived":
        return view(current)
    now = clock.iso()
    try:
        updated = store.update(
            principal.workspace_id,
            conversation_id,
            set_fields={
                "status": "archived",
                "archived_at": now,
                "updated_at": now,
                "ListPK": store.listing_pk(principal.workspace_id, current["kind"], "archived"),
            },
            condition="attribute_exists(PK) AND #st = :from",
            names={"#st": "status"},
            values={":from": current["status"]},
        )
    except table.ConditionFailed as exc:
        raise errors.Conflict(f"Conversation {conversation_id} changed while archiving; try again.") from exc
    return view(updated)


def delete(principal: Principal, conversation_id: str) -> None:
    """Gone from every read at once; its messages, turns and stored bodies are purged in the background."""
    if not store.delete(principal.workspace_id, conversation_id):
        raise errors.NotFound(f"Conversation {conversation_id} not found.")
    request_purge(principal.workspace_id, conversation_id)


def request_purge(workspace_id: str, conversation_id: str) -> None:
    from parley.services import queues

    queues.client().send_message(
        QueueUrl=settings().purge_queue_url,
        MessageBody=json.dumps({"workspace_id": workspace_id, "conversation_id": conversation_id}),
    )
