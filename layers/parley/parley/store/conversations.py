"""Conversations (and jobs, which are conversations with a lifecycle): the #META item of a conversation.

The #META item is the conversation's existence: reads of its messages and turns check it first, so
deleting it hides everything at once while the purge worker removes the rest.
Listing goes through the Listing index, one partition per workspace, kind and status, ordered by
last activity (``ListSK = <last_activity_at>#<id>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from parley import errors
from parley.store import table

META = "#META"
_INTERNAL = {"PK", "SK", "ListPK", "ListSK"}


def conversation_pk(workspace_id: str, conversation_id: str) -> str:
    return f"W#{workspace_id}#C#{conversation_id}"


def listing_pk(workspace_id: str, kind: str, status: str) -> str:
    return f"W#{workspace_id}#{kind.upper()}#{status}"


def listing_sk(last_activity_at: str, conversation_id: str) -> str:
    return f"{last_activity_at}#{conversation_id}"


def public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _INTERNAL}


def put_op(conversation: Mapping[str, Any]) -> dict[str, Any]:
    item = {
        "PK": conversation_pk(conversation["workspace_id"], conversation["id"]),
        "SK": META,
        "ListPK": listing_pk(conversation["workspace_id"], conversation["kind"], conversation["status"]),
        "ListSK": listing_sk(conversation["last_activity_at"], conversation["id"]),
        **conversation,
    }
    return table.put_op(item, "attribute_not_exists(PK)")


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


def delete(workspace_id: str, conversation_id: str) -> dict[str, Any] | None:
    """Remove the #META item (the conversation disappears from every read at once); returns what it was."""
    response = table.client().delete_item(
        TableName=table.table_name(),
        Key=table.key(conversation_pk(workspace_id, conversation_id), META),
        ReturnValues="ALL_OLD",
    )
    old = response.get("Attributes")
    return public(table.from_item(old)) if old else None
