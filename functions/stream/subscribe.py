"""{"action":"subscribe","conversation_id"|"job_id":…}: stream that conversation's turns here."""

from __future__ import annotations

from typing import Any

from parley.services import streams
from parley.streaming.socket import Connection, route


def subscribe(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    return streams.subscribe(
        connection.workspace_id, connection.id, connection.scope, connection.connected_at, frame
    )


handler = route(subscribe)
