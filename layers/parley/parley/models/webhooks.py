"""Webhooks: endpoints that receive a workspace's turn.* and job.* events, signed (Standard Webhooks).

A callback is the same record bound to one conversation or job (``conversation_id``): it is made by
the job (or conversation) that carries a ``callback_url``, and receives only that one's events.
"""

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from parley.models.base import RequestModel, ResponseModel

# The event types Parley publishes (parley.services.events); a pattern names one, a family, or all.
EVENT_TYPES = (
    "turn.completed",
    "turn.failed",
    "turn.cancelled",
    "turn.requires_action",
    "turn.expired",
    "job.completed",
    "job.failed",
    "job.archived",
)
EVENT_FAMILIES = ("turn", "job")
DEFAULT_EVENTS = ("turn.*", "job.*")
MAX_URL_LENGTH = 2048
_PATTERN = re.compile(r"^(\*|[a-z_]+\.(\*|[a-z_]+))$")


def check_url(value: str) -> str:
    """An absolute http(s) URL without credentials or a fragment."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL such as https://example.com/hooks/parley")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials (every delivery is signed instead)")
    if parts.fragment:
        raise ValueError("must not contain a fragment")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain whitespace")
    try:
        parts.port  # noqa: B018 - raises on an invalid port
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return value


def check_event_patterns(patterns: list[str]) -> list[str]:
    """``*``, a family (``turn.*``) or one event type (``job.completed``); duplicates dropped, order kept."""
    checked: list[str] = []
    for pattern in patterns:
        pattern = pattern.strip()
        family = pattern.split(".", 1)[0]
        known = (
            pattern == "*"
            or pattern in EVENT_TYPES
            or (_PATTERN.match(pattern) is not None and pattern.endswith(".*") and family in EVENT_FAMILIES)
        )
        if not known:
            raise ValueError(
                f"{pattern!r} is not an event pattern; use '*', 'turn.*', 'job.*' or one of "
                + ", ".join(EVENT_TYPES)
            )
        if pattern not in checked:
            checked.append(pattern)
    return checked


def matches(patterns: list[str], event_type: str) -> bool:
    """Whether an event type is selected by any of the patterns."""
    return any(
        pattern == "*"
        or pattern == event_type
        or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))
        for pattern in patterns
    )


class CreateWebhook(RequestModel):
    url: str = Field(max_length=MAX_URL_LENGTH, description="Where deliveries are POSTed")
    events: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS),
        min_length=1,
        max_length=20,
        description="Event patterns: '*', 'turn.*', 'job.*' or an event type such as 'turn.completed'",
    )
    description: str | None = Field(None, max_length=1000)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        return check_event_patterns(value)


class UpdateWebhook(RequestModel):
    """A partial update: absent fields are kept; ``rotate_secret: true`` returns a new secret, once."""

    url: str | None = Field(None, max_length=MAX_URL_LENGTH)
    events: list[str] | None = Field(None, min_length=1, max_length=20)
    description: str | None = Field(None, max_length=1000)
    enabled: bool | None = None
    rotate_secret: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("may not be null")
        return check_url(value)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str]:
        if value is None:
            raise ValueError("may not be null")
        return check_event_patterns(value)

    @field_validator("enabled")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class DeliveryStats(ResponseModel):
    """POSTs made, messages delivered (2xx), and messages given up on after their last attempt."""

    attempts: int = 0
    succeeded: int = 0
    failed: int = 0


class Webhook(ResponseModel):
    id: str
    kind: Literal["endpoint", "callback"] = "endpoint"
    url: str
    events: list[str]
    description: str | None = None
    enabled: bool = True
    conversation_id: str | None = Field(None, description="Set for callbacks: the conversation or job")
    last_status_code: int | None = None
    last_error: str | None = None
    last_delivery_at: str | None = None
    last_success_at: str | None = None
    deliveries: DeliveryStats = Field(default_factory=DeliveryStats)
    created_at: str
    updated_at: str


class WebhookWithSecret(Webhook):
    """The create (and rotate) response: the only time the signing secret is shown."""

    secret: str = Field(description="whsec_…: verify each delivery's webhook-signature with it")


class Delivery(ResponseModel):
    """One delivery attempt's message on the deliveries queue (the same message id on every attempt)."""

    webhook_id: str
    workspace_id: str
    message_id: str
    type: str
    payload: dict[str, Any]
    attempt: int = Field(1, ge=1)
