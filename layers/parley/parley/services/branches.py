"""The message tree of a conversation: paths to the root and the leaves (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Messages = Mapping[str, dict[str, Any]]


def path_to_root(messages: Messages, leaf_id: str) -> list[dict[str, Any]]:
    """The messages from the root to ``leaf_id``, oldest first; a cycle or a missing parent ends the walk."""
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    current: str | None = leaf_id
    while current and current in messages and current not in seen:
        seen.add(current)
        path.append(messages[current])
        current = messages[current].get("parent_message_id")
    path.reverse()
    return path


def leaves(messages: Messages) -> list[dict[str, Any]]:
    """Messages no other message answers or follows: the ends of the branches."""
    parents = {m.get("parent_message_id") for m in messages.values()}
    return [m for m in messages.values() if m["id"] not in parents]
