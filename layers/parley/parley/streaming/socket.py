"""API Gateway WebSocket events in, one frame out: the routes' common shape (parley.http's, for frames).

A route's function gets the connection (its workspace and stream scope, as ``$connect``'s authorizer
vouched for them: API Gateway hands that context to every later route of the connection) and the
client's frame as JSON; what it returns is sent back as the route's response frame. A refusal is an
``error`` frame with the HTTP status it would have had, and the connection stays open.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from parley import errors
from parley.observability import logger

# A client frame larger than this is refused before it is parsed (API Gateway's own limit is 128 KB).
MAX_CLIENT_FRAME_BYTES = 16_384


@dataclass(frozen=True)
class Connection:
    id: str
    workspace_id: str
    scope: str  # a stream token's conversation ids, comma-separated; "" for the whole workspace
    connected_at: int  # epoch seconds

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Connection:
        context = event.get("requestContext") or {}
        grant = context.get("authorizer") or {}
        return cls(
            id=str(context.get("connectionId") or ""),
            workspace_id=str(grant.get("workspace_id") or ""),
            scope=str(grant.get("scope") or ""),
            connected_at=int(context.get("connectedAt") or time.time() * 1000) // 1000,
        )


Route = Callable[[Connection, dict[str, Any]], dict[str, Any]]


def error_frame(status: int, kind: str, message: str, action: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "status": status, "error": {"type": kind, "message": message}}
    if isinstance(action, str):
        frame["action"] = action[:64]
    return frame


def reply(frame: Mapping[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps(frame, separators=(",", ":"))}


def client_frame(event: Mapping[str, Any]) -> dict[str, Any]:
    """The client's frame as a JSON object, or BadRequest saying what is wrong with it."""
    body = event.get("body")
    if not isinstance(body, str) or not body.strip():
        raise errors.BadRequest(
            'Send a JSON object such as {"action":"subscribe","conversation_id":"conv_..."}.'
        )
    if len(body.encode()) > MAX_CLIENT_FRAME_BYTES:
        raise errors.PayloadTooLarge(f"A frame may hold at most {MAX_CLIENT_FRAME_BYTES} bytes.")
    try:
        frame = json.loads(body)
    except json.JSONDecodeError as exc:
        raise errors.BadRequest(f"The frame is not JSON: {exc.msg} at position {exc.pos}.") from exc
    if not isinstance(frame, dict):
        raise errors.BadRequest('The frame must be a JSON object with an "action".')
    return frame


def route(answer: Route) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """A Lambda handler for one WebSocket route: ``answer(connection, frame)`` gives the reply frame."""

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        connection = Connection.of(event)
        action: Any = None
        try:
            frame = client_frame(event)
            action = frame.get("action")
            if not connection.workspace_id:
                raise errors.Unauthorized("This connection was not authorized.")
            return reply(answer(connection, frame))
        except errors.ParleyError as exc:
            logger.info("stream frame refused", extra={"status": exc.status, "error_type": exc.type})
            return reply(error_frame(exc.status, exc.type, exc.message, action))

    return handler
