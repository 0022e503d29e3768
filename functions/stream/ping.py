"""{"action":"ping"}: a pong, which also keeps the connection from API Gateway's 10-minute idle close."""

from __future__ import annotations

import time
from typing import Any

from parley.streaming.socket import Connection, route


def ping(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    return {"type": "pong", "time": int(time.time() * 1000)}


handler = route(ping)
