"""$disconnect: forget the connection and its subscriptions (best effort: API Gateway may skip it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.services import streams
from parley.streaming.socket import Connection


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    connection = Connection.of(event)
    streams.disconnect(connection.id, connection.workspace_id or None)
    return {"statusCode": 200}
