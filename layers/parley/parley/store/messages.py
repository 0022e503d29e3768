"""Messages of a conversation: ``M#<message id>`` items in the conversation's partition.

Message ids are ULIDs, so the partition reads in time order. Content over ~32 KB is stored in S3
and the item keeps a pointer (``content_ref``); readers get the content back transparently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from parley import clock
from parley.store import blobs, table
from parley.store.conversations import MESSAGES_END, META, conversation_pk

MESSAGE_PREFIX = "M#"
# DynamoDB items stop at 400 KB; content past this goes to S3 so an item stays small and cheap to read.
INLINE_CONTENT_LIMIT = 32 * 1024


def checksum(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def chain_id(turn: Mapping[str, Any], round_number: int, suffix: str) -> str:
    """The id of a message in a turn's tool-loop chain: the request's id, then the turn's (a regenerated
    answer has a chain of its own), then the place in the chain, so ids sort after the request and
    before the reply (whose id is the turn's), in order."""
    request = turn["request_message_id"].removeprefix("msg_")
    return f"msg_{request}_{turn['id'].removeprefix('turn_')[10:]}_{round_number:02d}{suffix}"


def chain_message(
    turn: Mapping[str, Any], message_id: str, parent_id: str, role: str, content: str, **fields: Any
) -> dict[str, Any]:
    """A message a turn's tool loop writes: the model's tool calls (``assistant``) or a result
    (``tool``), in the chain between the turn's request and its reply."""
    now = clock.iso()
    return {
        "id": message_id,
        "workspace_id": turn["workspace_id"],
        "conversation_id": turn["conversation_id"],
        "role": role,
        "content": content,
        "message_type": "tool_calls" if role == "assistant" else "tool_result",
        "tool_calls": [],
        "attachments": [],
        "tags": [],
        "meta_data": {},
        "checksum": checksum(content),
        "parent_message_id": parent_id,
        "parent_defaulted": False,
        "sender_id": None,
        "owner_id": None,
        "turn_id": turn["id"],
        "feedback": {},
        "sent_at": now,
        "created_at": now,
        "updated_at": now,
        **fields,
    }


def message_sk(message_id: str) -> str:
    return MESSAGE_PREFIX + message_id


def _content_key(message: Mapping[str, Any]) -> str:
    conversation = f"workspaces/{message['workspace_id']}/conversations/{message['conversation_id']}"
    return f"{conversation}/messages/{message['id']}"


def prepare(message: dict[str, Any]) -> dict[str, Any]:
    """The item to store: large content is moved to S3 first (returns the item; the caller writes it)."""
    item = {
        "PK": conversation_pk(message["workspace_id"], message["conversation_id"]),
        "SK": message_sk(message["id"]),
    }
    item.update(message)
    if len(message["content"].encode()) > INLINE_CONTENT_LIMIT:
        item["content_ref"] = blobs.put_text(_content_key(message), message["content"])
        item["content"] = ""
    return item


def discard(item: Mapping[str, Any]) -> None:
    """Undo ``prepare``'s S3 write when the item's transaction did not go through."""
    if item.get("content_ref"):
        blobs.delete(item["content_ref"])


def put_op(item: Mapping[str, Any]) -> dict[str, Any]:
    return table.put_op(item, "attribute_not_exists(PK)")


def exists_op(workspace_id: str, conversation_id: str, message_id: str) -> dict[str, Any]:
    return table.condition_check_op(
        conversation_pk(workspace_id, conversation_id), message_sk(message_id), "attribute_exists(PK)"
    )


def public(item: Mapping[str, Any]) -> dict[str, Any]:
    message = {k: v for k, v in item.items() if k not in {"PK", "SK"}}
    if message.get("content_ref"):
        message["content"] = blobs.get_text(message.pop("content_ref"))
    return message


def get(
    workspace_id: str, conversation_id: str, message_id: str, *, consistent: bool = False
) -> dict[str, Any] | None:
    item = table.get(
        conversation_pk(workspace_id, conversation_id), message_sk(message_id), consistent=consistent
    )
    return public(item) if item else None


def get_each(workspace_id: str, ids: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """Messages by (conversation id, message id), from any conversations of the workspace, in one
    BatchGetItem per 100 (missing ones are absent); keyed by message id."""
    keys = [(conversation_pk(workspace_id, c), message_sk(m)) for c, m in ids]
    items = table.batch_get(keys) if keys else []
    return {item["id"]: public(item) for item in items}


def page(
    workspace_id: str,
    conversation_id: str,
    *,
    limit: int,
    cursor: str | None = None,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    found = listing(workspace_id, conversation_id, limit=limit, cursor=cursor, newest_first=newest_first)
    return found.items, found.cursor


def ancestry_page(
    workspace_id: str, conversation_id: str, message_id: str, *, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """``limit`` messages at or before ``message_id``, newest first, reading no more than that: where its
    ancestors are (a parent is written before its children, and ids sort by creation)."""
    found = table.query(
        conversation_pk(workspace_id, conversation_id),
        sk_between=(MESSAGE_PREFIX, message_sk(message_id)),
        limit=limit,
        cursor=cursor,
        newest_first=True,
        lookahead=False,
    )
    return found.items, found.cursor


def listing(
    workspace_id: str,
    conversation_id: str,
    *,
    limit: int,
    cursor: str | None = None,
    newest_first: bool = False,
    with_conversation: bool = False,
) -> table.Page:
    """A page of messages; ``with_conversation`` widens the range to #META, which sorts just before
    them, so a first page also returns the conversation (in ``markers``) and proves it exists."""
    return table.query(
        conversation_pk(workspace_id, conversation_id),
        sk_between=(META if with_conversation else MESSAGE_PREFIX, MESSAGES_END),
        markers=(META, MESSAGES_END) if with_conversation else (MESSAGES_END,),
        limit=limit,
        cursor=cursor,
        newest_first=newest_first,
    )


def settle_parent_op(workspace_id: str, conversation_id: str, message_id: str, parent: str | None) -> Any:
    """Write the parent of a message sent with a pending (default) parent, unless one was written
    already (by the message's own turn, which may have moved it on to a reply)."""
    return {
        "Update": {
            "Key": table.key(conversation_pk(workspace_id, conversation_id), message_sk(message_id)),
            "UpdateExpression": "SET #parent = if_not_exists(#parent, :parent) REMOVE #pending",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeNames": {"#parent": "parent_message_id", "#pending": "parent_pending"},
            "ExpressionAttributeValues": {":parent": table.to_attribute(parent)},
        }
    }


def resolve_content(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [public(item) for item in items]


def update(workspace_id: str, conversation_id: str, message_id: str, **kwargs: Any) -> dict[str, Any]:
    """table.update on one message (raises table.ConditionFailed if it does not exist)."""
    item = table.update(conversation_pk(workspace_id, conversation_id), message_sk(message_id), **kwargs)
    return public(item)


def revise(
    workspace_id: str, conversation_id: str, message_id: str, set_fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Update one message in place, ``content`` included: large content moves to S3 (or back inline).

    Raises table.ConditionFailed if the message does not exist."""
    pk, sk = conversation_pk(workspace_id, conversation_id), message_sk(message_id)
    fields = dict(set_fields)
    remove: list[str] = []
    stale_blob = None
    if "content" in fields:
        current = table.get(pk, sk, consistent=True)
        if current is None:
            raise table.ConditionFailed()
        if len(fields["content"].encode()) > INLINE_CONTENT_LIMIT:
            # Same key as the old body (if any): the write replaces it.
            fields["content_ref"] = blobs.put_text(_content_key(current), fields["content"])
            fields["content"] = ""
        elif current.get("content_ref"):
            remove.append("content_ref")
            stale_blob = current["content_ref"]
    item = public(table.update(pk, sk, set_fields=fields, remove=remove))
    if stale_blob:
        blobs.delete(stale_blob)
    return item


def update_op(workspace_id: str, conversation_id: str, message_id: str, **kwargs: Any) -> dict[str, Any]:
    return table.update_op(conversation_pk(workspace_id, conversation_id), message_sk(message_id), **kwargs)


def set_feedback(
    workspace_id: str, conversation_id: str, message_id: str, user_id: str, rating: str | None
) -> dict[str, Any]:
    """One end user's like/dislike (or none) on a message; each user has at most one."""
    request: dict[str, Any] = {
        "TableName": table.table_name(),
        "Key": table.key(conversation_pk(workspace_id, conversation_id), message_sk(message_id)),
        "ConditionExpression": "attribute_exists(PK)",
        "ExpressionAttributeNames": {"#fb": "feedback", "#user": user_id},
        "ReturnValues": "ALL_NEW",
    }
    if rating is None:
        request["UpdateExpression"] = "REMOVE #fb.#user"
    else:
        request["UpdateExpression"] = "SET #fb.#user = :rating"
        request["ExpressionAttributeValues"] = {":rating": {"S": rating}}
    try:
        response = table.client().update_item(**request)
    except Exception as exc:
        if table.lost_condition(exc):
            raise table.ConditionFailed() from exc
        raise
    return public(table.from_item(response["Attributes"]))


def get_with_conversation(
    workspace_id: str, conversation_id: str, message_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A message and its conversation (#META, raw), only if both exist - in one read."""
    pk = conversation_pk(workspace_id, conversation_id)
    found = table.get_many(pk, [META, message_sk(message_id)])
    if META not in found or message_sk(message_id) not in found:
        return None
    return found[META], public(found[message_sk(message_id)])


def cursor_after(workspace_id: str, conversation_id: str, message_id: str) -> str:
    """A cursor that resumes a listing of this conversation after ``message_id``."""
    pk = conversation_pk(workspace_id, conversation_id)
    return table.encode_cursor({"PK": {"S": pk}, "SK": {"S": message_sk(message_id)}}, pk)


def message_after_cursor(workspace_id: str, conversation_id: str, cursor: str) -> str:
    pk = conversation_pk(workspace_id, conversation_id)
    return table.decode_cursor(cursor, pk, "PK")["SK"]["S"].removeprefix(MESSAGE_PREFIX)
