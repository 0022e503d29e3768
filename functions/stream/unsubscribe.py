"""{"action":"unsubscribe","conversation_id"|"job_id":…}: stop streaming it here."""

from __future__ import annotations

from typing import Any

from parley.services import streams
from parley.streaming.socket import Connection, route


def unsubscribe(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    return streams.unsubscribe(connection.workspace_id, connection.id, frame)


handler = route(unsubscribe)
