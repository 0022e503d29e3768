"""$default: a frame with no known action (or that is not JSON) gets an error frame saying why."""

from __future__ import annotations

from typing import Any

from parley import errors
from parley.streaming.socket import Connection, route

ACTIONS = ("subscribe", "unsubscribe", "ping")


def unknown_action(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    action = frame.get("action")
    if action is None:
        raise errors.BadRequest(f'The frame has no "action"; the actions are: {", ".join(ACTIONS)}.')
    raise errors.BadRequest(f"Unknown action {str(action)[:64]!r}; the actions are: {', '.join(ACTIONS)}.")


handler = route(unknown_action)
