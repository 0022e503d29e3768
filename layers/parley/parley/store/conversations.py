"""Conversations (and jobs, which are conversations with a lifecycle): the #META item of a conversation.

The #META item is the conversation's existence: reads of its messages and turns check it, so deleting
it hides everything at once while the purge worker removes the rest. Two sentinel items, written and
deleted with #META in the same transactions, close the ranges of its messages (``M#~``) and turns
(``T#~``): a listing's query meets #META (messages, oldest first) or a sentinel (newest first) on its
first page, so one query both lists and proves the conversation is there (``listing_proof``).

``pending_parents`` on #META holds, for a message sent with the default parent, the leaf it followed
(copied by the send's own update, which cannot read): the turn worker writes it into the message.
Listing goes through the Listing index, one partition per workspace, kind and status, ordered by
last activity (``ListSK = <last_activity_at>#<id>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from parley import errors
from parley.store import table
from parley.store.workspaces import workspace_pk

META = "#META"
# A job is a conversation of this kind (services.jobs); the Shinkai inbox listing reads them too.
JOB_KIND = "job"
# After every message and turn id (msg_/turn_ + ULID: "~" sorts after them all).
MESSAGES_END = "M#~"
TURNS_END = "T#~"
PENDING_PARENTS = "pending_parents"
# The turn that waits for its client's tool outputs (requires_action): while it is set, the
# conversation takes no new message, since the turn's tool chain must stay where the reply will go.
AWAITING_TOOLS = "awaiting_tools_turn"
_INTERNAL = {"PK", "SK", "ListPK", "ListSK"}


def conversation_pk(workspace_id: str, conversation_id: str) -> str:
    return f"{workspace_pk(workspace_id)}#C#{conversation_id}"


def listing_pk(workspace_id: str, kind: str, status: str) -> str:
    return f"{workspace_pk(workspace_id)}#{kind.upper()}#{status}"


def listing_sk(last_activity_at: str, conversation_id: str) -> str:
    return f"{last_activity_at}#{conversation_id}"


def public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


def put_ops(conversation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The transaction steps that create a conversation: #META and its two range sentinels."""
    pk = conversation_pk(conversation["workspace_id"], conversation["id"])
    item = {
        "PK": pk,
        "SK": META,
        "ListPK": listing_pk(conversation["workspace_id"], conversation["kind"], conversation["status"]),
        "ListSK": listing_sk(conversation["last_activity_at"], conversation["id"]),
        PENDING_PARENTS: {},
        **conversation,
    }
    sentinels = [{"PK": pk, "SK": sk, "kind": conversation["kind"]} for sk in (MESSAGES_END, TURNS_END)]
    return [table.put_op(each, "attribute_not_exists(PK)") for each in (item, *sentinels)]


def listing_proof(page: table.Page, kind: str | None = None) -> bool | None:
    """What a listing page of this conversation's messages or turns says about the conversation:
    True (it exists, and is of ``kind``), False (it is not of ``kind``), None (the page met neither
    #META nor a sentinel: a page in the middle, or a conversation from before the sentinels)."""
    marker = page.markers.get(META) or next(iter(page.markers.values()), None)
    if marker is None:
        return None
    return kind is None or marker.get("kind") == kind


def get(workspace_id: str, conversation_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    item = table.get(conversation_pk(workspace_id, conversation_id), META, consistent=consistent)
    return public(item) if item else None


def require(workspace_id: str, conversation_id: str, *, consistent: bool = False) -> dict[str, Any]:
    conversation = get(workspace_id, conversation_id, consistent=consistent)
    if conversation is None:
        raise errors.NotFound(f"Conversation {conversation_id} not found.")
    return conversation


def list_page(
    workspace_id: str, kind: str, status: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(
        listing_pk(workspace_id, kind, status),
        index=table.LISTING_INDEX,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    return [public(item) for item in page.items], page.cursor


def update(workspace_id: str, conversation_id: str, **kwargs: Any) -> dict[str, Any]:
    """table.update on the conversation's #META item (raises table.ConditionFailed)."""
    return public(table.update(conversation_pk(workspace_id, conversation_id), META, **kwargs))


def transition(
    workspace_id: str,
    conversation_id: str,
    kind: str,
    from_statuses: Iterable[str],
    to_status: str,
    set_fields: Mapping[str, Any],
) -> dict[str, Any]:
    """Move a conversation of ``kind`` from one of ``from_statuses`` to ``to_status``, and into that
    status's listing, in one conditional update (raises table.ConditionFailed if it is not there)."""
    allowed = {f":from{i}": status for i, status in enumerate(from_statuses)}
    return update(
        workspace_id,
        conversation_id,
        set_fields={
            **set_fields,
            "status": to_status,
            "ListPK": listing_pk(workspace_id, kind, to_status),
        },
        condition=f"attribute_exists(PK) AND #kind = :kind AND #st IN ({', '.join(allowed)})",
        names={"#kind": "kind", "#st": "status"},
        values={":kind": kind, **allowed},
    )


def update_writable(
    workspace_id: str,
    conversation_id: str,
    kind: str,
    *,
    set_fields: Mapping[str, Any],
    remove: Iterable[str] = (),
) -> dict[str, Any]:
    """Update a conversation of ``kind`` unless it is archived (read-only); raises table.ConditionFailed."""
    return update(
        workspace_id,
        conversation_id,
        set_fields=set_fields,
        remove=remove,
        condition="attribute_exists(PK) AND #kind = :kind AND #st <> :archived",
        names={"#kind": "kind", "#st": "status"},
        values={":kind": kind, ":archived": "archived"},
    )


def delete(workspace_id: str, conversation_id: str) -> bool:
    """Remove #META and the sentinels (the conversation disappears from every read at once); False if
    it was not there."""
    pk = conversation_pk(workspace_id, conversation_id)
    try:
        table.transact(
            [
                table.delete_op(pk, META, "attribute_exists(PK)"),
                table.delete_op(pk, MESSAGES_END),
                table.delete_op(pk, TURNS_END),
            ]
        )
    except table.TransactionCancelled as exc:
        if exc.failed_at(0):
            return False
        raise
    return True
