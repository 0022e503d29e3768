"""Notifications: every event of a workspace, kept for RETENTION_DAYS and listed newest first.

Every event is recorded where it is published (``record_event``, called by ``services.events``),
whether or not it goes on to the bus: a workspace without webhooks sends nothing to EventBridge, yet
lists its events here. Sharing records its own (``record``). Recording is best effort: a
notification that cannot be written never fails what happened.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from parley import clock, ids
from parley.http import Principal
from parley.models.base import Page
from parley.models.notifications import RETENTION_DAYS, Notification, NotificationsQuery
from parley.observability import logger
from parley.store import notifications as store

_RETENTION_SECONDS = RETENTION_DAYS * 24 * 3600
# What a notification says of an event, by the event's subject.
_SUBJECTS = (("job_id", "job"), ("conversation_id", "conversation"))


def record(workspace_id: str, kind: str, message: str, data: Mapping[str, Any] | None = None) -> None:
    """Add a notification to the workspace's log now (never raises)."""
    _put(workspace_id, _notification(kind, message, dict(data or {}), clock.iso()))


def record_event(kind: str, detail: Mapping[str, Any]) -> None:
    """The notification of an event being published (turn.*, job.*), at the time its detail says it
    occurred. An event is published once per state change (each is a conditional write), so a
    redelivered turn that finds its change made publishes, and records, nothing again."""
    _put(str(detail["workspace_id"]), _of_event(kind, detail))


def event_op(kind: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """``record_event`` as an operation of the state change's own transaction: then it costs no call
    of its own, and exists exactly when the change does (``events.publish(..., recorded=True)``)."""
    return store.put_op(str(detail["workspace_id"]), _of_event(kind, detail), expires_at=_expires_at())


def describe(kind: str, detail: Mapping[str, Any]) -> str:
    """One line for an event, e.g. ``turn.completed in conversation conv_… (turn turn_…)``."""
    subject = next((f" in {noun} {detail[name]}" for name, noun in _SUBJECTS if detail.get(name)), "")
    turn = f" (turn {detail['turn_id']})" if detail.get("turn_id") else ""
    error = f": {detail['error']}" if isinstance(detail.get("error"), str) else ""
    return f"{kind}{subject}{turn}{error}"[:500]


def list_notifications(principal: Principal, query: NotificationsQuery) -> Page[Notification]:
    items, cursor = store.newest(
        principal.workspace_id,
        query.limit,
        query.cursor,
        before=clock.iso(query.before) if query.before else None,
        now=int(time.time()),
    )
    return Page[Notification](
        data=[Notification.model_validate(item) for item in items],
        next_cursor=cursor,
        has_more=cursor is not None,
    )


def list_for(workspace_id: str, limit: int, before: str | None, at_or_before: bool) -> list[dict[str, Any]]:
    """Up to ``limit`` notifications, newest first, before (or at or before) an RFC 3339 time in the
    stored format (a compat route normalises its own)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < limit:
        items, cursor = store.newest(
            workspace_id,
            min(limit - len(found), 100),
            cursor,
            before=before,
            inclusive=at_or_before,
            now=int(time.time()),
        )
        found.extend(items)
        if cursor is None:
            break
    return found[:limit]


def _put(workspace_id: str, notification: dict[str, Any]) -> None:
    try:
        store.put(workspace_id, notification, expires_at=_expires_at())
    except Exception:
        logger.exception("notification not recorded", extra={"type": notification["type"]})


def _of_event(kind: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    return _notification(kind, describe(kind, detail), dict(detail), str(detail["occurred_at"]))


def _notification(kind: str, message: str, data: dict[str, Any], at: str) -> dict[str, Any]:
    return {"id": ids.new_id("ntf"), "type": kind, "message": message, "data": data, "created_at": at}


def _expires_at() -> int:
    return int(time.time()) + _RETENTION_SECONDS
