"""The history a turn gives the model: the path from its request message to the root, within budget.

The window is read from the request message backwards (a parent is older than its children, so
nothing after the request can be on its path), ``max_messages`` items a page: on a conversation
without branches the first page is exactly the path the budget allows, so a turn reads no more items
than its budget. Older pages are read only while the path leaves the window through other branches'
messages, so the cost of a turn is O(history budget), never O(conversation length).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from parley.store import messages as message_store

# Pages read beyond the first before giving up on a path that keeps leaving the window.
MAX_EXTRA_PAGES = 4


@dataclass
class History:
    messages: list[dict[str, Any]]  # oldest first, ending with the request message
    chars: int
    # A request sent while the previous turn was still running follows that turn's reply, not its question.
    # "moved": the request's stored parent is not this one (or was still pending): the turn writes it.
    request_parent: str | None = None
    request_parent_moved: bool = False
    notes: list[str] = field(default_factory=list)
    request_index: int = -1  # where the request is in ``messages`` (a resumed tool chain follows it)

    @property
    def request(self) -> dict[str, Any]:
        return self.messages[self.request_index]


def load_history(
    workspace_id: str,
    conversation_id: str,
    request_message_id: str,
    *,
    max_messages: int,
    max_chars: int,
    pending_parents: Mapping[str, str | None] | None = None,
    chain: tuple[str, int] | None = None,
) -> History:
    """``pending_parents``: the conversation's (#META, read after the request was sent), for messages
    whose default parent the send could not know (services.messages).

    ``chain``: a turn resumed inside its tool loop has written messages of its own after the request
    (the model's tool calls and their results): (the newest of them, how many). They are all read,
    outside the budget, and the history ends with them instead of the request."""
    window: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    pages = 0
    pending = pending_parents or {}
    newest, chain_length = chain if chain else (request_message_id, 0)

    def add(item: dict[str, Any]) -> None:
        if item.get("parent_pending") and item["id"] in pending:
            item["parent_message_id"] = pending[item["id"]]
        window[item["id"]] = item

    def fetch() -> None:
        nonlocal cursor, pages
        items, cursor = message_store.ancestry_page(
            workspace_id, conversation_id, newest, limit=max(max_messages, 1) + chain_length, cursor=cursor
        )
        pages += 1
        for item in items:
            add(item)

    def newer_parent(parent_id: str) -> dict[str, Any] | None:
        # Ids from different writers in one millisecond may sort a parent after its child.
        item = message_store.get(workspace_id, conversation_id, parent_id)
        if item is not None:
            add(item)
        return item

    fetch()
    request = window.get(request_message_id)
    if request is None:
        raise LookupError(f"request message {request_message_id} not found")

    own: list[dict[str, Any]] = []
    current: dict[str, Any] | None = window.get(newest)
    while chain_length and current is not None and current["id"] != request_message_id:
        own.append(current)
        parent_id = current.get("parent_message_id")
        current = window.get(parent_id) if parent_id else None
    if current is None or len(own) > chain_length:
        raise LookupError(f"the turn's own messages from {newest} do not lead to {request_message_id}")
    picked: list[dict[str, Any]] = []
    chars = 0
    request_parent = effective_parent(request, window)
    moved = bool(request.get("parent_pending")) or request_parent != request.get("parent_message_id")
    seen: set[str] = set()
    while current is not None and current["id"] not in seen:
        seen.add(current["id"])
        size = (
            len(current.get("content", ""))
            if not current.get("content_ref")
            else message_store.INLINE_CONTENT_LIMIT
        )
        if picked and (len(picked) >= max_messages or chars + size > max_chars):
            break
        picked.append(current)
        chars += size
        if len(picked) >= max_messages:
            break  # the budget is spent: the next parent is never read
        parent_id = effective_parent(current, window)
        if parent_id and parent_id not in window and parent_id > request_message_id:
            newer_parent(parent_id)
        while parent_id and parent_id not in window and cursor and pages <= MAX_EXTRA_PAGES:
            fetch()
        current = window.get(parent_id) if parent_id else None
    picked.reverse()
    picked.extend(reversed(own))
    return History(
        messages=message_store.resolve_content(picked),
        chars=chars,
        request_parent=request_parent,
        request_parent_moved=moved,
        request_index=-1 - len(own),
    )


def effective_parent(message: dict[str, Any], window: dict[str, dict[str, Any]]) -> str | None:
    """The parent a message follows. A message sent with the default parent while its parent's turn was
    still running was attached to the question; once that question has its reply, it follows the reply."""
    parent_id = message.get("parent_message_id")
    if not parent_id or not message.get("parent_defaulted"):
        return parent_id
    parent = window.get(parent_id)
    reply_id = parent.get("reply_message_id") if parent else None
    if reply_id and reply_id != message["id"] and reply_id in window and reply_id < message["id"]:
        return str(reply_id)
    return str(parent_id)
