"""Notifications: the workspace's recent events (those webhooks carry, and sharing's), newest first."""

from typing import Any

from pydantic import AwareDatetime, Field

from parley.models.base import ListQuery, ResponseModel

# How long a notification stays listed.
RETENTION_DAYS = 30


class NotificationsQuery(ListQuery):
    before: AwareDatetime | None = Field(
        None, description="Only notifications older than this RFC 3339 time (with its offset, e.g. Z)"
    )


class Notification(ResponseModel):
    id: str
    type: str = Field(description="turn.completed, job.archived, subscription.created, share.ended, …")
    message: str = Field(description="One line for people")
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: str
