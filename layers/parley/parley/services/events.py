"""Domain events (turn.completed, turn.failed, turn.cancelled, job.*): recorded in the workspace's
notifications, and put on the EventBridge bus, whose rule brings them to the webhook dispatcher.

An event goes on the bus only when the workspace has a webhook or a callback to receive it, unless
the deployment publishes all events (``PublishAllEvents``, for rules of its own on the bus): a
workspace without webhooks then costs no event, queue message or dispatcher invocation per turn.
Publishing is best effort: a bus that is unavailable never fails the turn that already happened.
Each detail carries ``occurred_at`` (RFC 3339, milliseconds): EventBridge's own ``time`` has whole
seconds, too coarse to order a conversation's events.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from parley import clock
from parley.config import settings
from parley.observability import logger

SOURCE = "parley"


@cache
def client() -> Any:
    from parley import aws

    return aws.client("events")


def stamped(detail: dict[str, Any]) -> dict[str, Any]:
    """An event's detail as published: with the time it occurred."""
    return {**detail, "occurred_at": clock.iso()}


def publish(detail_type: str, detail: dict[str, Any], *, recorded: bool = False) -> None:
    """Record the event's notification (unless the state change's transaction did: ``recorded``,
    with a ``stamped`` detail) and put it on the bus for whoever receives it."""
    # Imported here: only a function that publishes pays for them.
    from parley.services import notifications
    from parley.store import webhooks

    if not recorded:
        detail = stamped(detail)
        notifications.record_event(detail_type, detail)
    workspace_id = str(detail["workspace_id"])
    try:
        if not settings().publish_all_events and not webhooks.any_for_workspace(workspace_id):
            return
        response = client().put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": settings().event_bus,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            logger.warning("event not published", extra={"detail_type": detail_type})
    except Exception:
        logger.exception("event not published", extra={"detail_type": detail_type})


def turn_event(turn: dict[str, Any], status: str, **fields: Any) -> None:
    publish(f"turn.{status}", turn_detail(turn, status, **fields))


def turn_detail(turn: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
    return {
        "workspace_id": turn["workspace_id"],
        "conversation_id": turn["conversation_id"],
        "turn_id": turn["id"],
        "request_message_id": turn["request_message_id"],
        "status": status,
        **fields,
    }
