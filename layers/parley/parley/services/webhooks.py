"""Webhooks and callbacks: Parley's turn.* and job.* events, POSTed to the user's URLs, signed.

Deliveries follow Standard Webhooks (https://www.standardwebhooks.com): headers ``webhook-id`` (the
same on every attempt, so a receiver can deduplicate), ``webhook-timestamp`` (unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the secret's
bytes (the base64 after ``whsec_``). The secret lives in Secrets Manager; it is shown once, at
creation (or rotation), and never stored in the table, returned again or logged.

The path: a turn (or job) publishes its event on the bus and is done; a rule puts the event on the
webhook events queue; ``dispatch`` fans it out, one message per matching webhook, onto the deliveries
queue; ``deliver`` POSTs one and records the outcome on the webhook. A failed attempt is sent to the
queue again with an exponential delay, so a receiver that is down never blocks a turn nor a worker.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from parley import clock, errors, ids
from parley.cache import ttl_cache
from parley.config import settings
from parley.http import Principal
from parley.models.base import ListQuery, Page
from parley.models.webhooks import (
    DEFAULT_EVENTS,
    CreateWebhook,
    Delivery,
    DeliveryStats,
    UpdateWebhook,
    Webhook,
    WebhookWithSecret,
    check_url,
    matches,
)
from parley.observability import logger
from parley.services import queues
from parley.services.validation import invalid
from parley.signing import new_secret, sign
from parley.store import webhooks as store

# The dispatcher reads a workspace's webhooks on every event; a warm container keeps them this long.
CACHE_SECONDS = 30
# Attempts per delivery, the first included. With the default 5 s base the delays are 5 s, 10 s, 20 s …
# capped at SQS's maximum of 15 minutes: about 36 minutes of retries in all.
MAX_ATTEMPTS = 10
MAX_DELAY_SECONDS = 900
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
USER_AGENT = "Parley-Webhooks/1"
_MAX_ERROR_LENGTH = 500


# -- the API --------------------------------------------------------------------------------------
def create(principal: Principal, body: CreateWebhook) -> WebhookWithSecret:
    principal.require_admin()
    record = _new_webhook(body.url, body.events, description=body.description, enabled=body.enabled)
    secret = _save_new(principal.workspace_id, record)
    return WebhookWithSecret(**_fields(record), secret=secret)


def get(principal: Principal, webhook_id: str) -> Webhook:
    return _model(_existing(principal.workspace_id, webhook_id))


def list_webhooks(principal: Principal, query: ListQuery) -> Page[Webhook]:
    items, cursor = store.list_for_workspace(principal.workspace_id, query.limit, query.cursor)
    return Page[Webhook](
        data=[_model(item) for item in items], next_cursor=cursor, has_more=cursor is not None
    )


def update(principal: Principal, webhook_id: str, body: UpdateWebhook) -> Webhook:
    principal.require_admin()
    workspace_id = principal.workspace_id
    _existing(workspace_id, webhook_id, consistent=True)
    given = body.model_fields_set
    changes: dict[str, Any] = {
        field: getattr(body, field) for field in ("url", "events", "description", "enabled") if field in given
    }
    changes["updated_at"] = clock.iso()
    secret = new_secret() if body.rotate_secret else None
    if secret is not None:
        store.put_secret(workspace_id, webhook_id, secret)
    updated = store.update(workspace_id, webhook_id, changes)
    _forget(workspace_id, webhook_id)
    if updated is None:  # deleted meanwhile: do not leave a secret behind for it
        if secret is not None:
            store.delete_secret(workspace_id, webhook_id)
        raise errors.NotFound(f"Webhook {webhook_id} not found.")
    if secret is not None:
        return WebhookWithSecret(**_fields(updated), secret=secret)
    return _model(updated)


def delete(principal: Principal, webhook_id: str) -> None:
    principal.require_admin()
    if not _remove(principal.workspace_id, webhook_id):
        raise errors.NotFound(f"Webhook {webhook_id} not found.")


# -- callbacks (a job's or conversation's callback_url) -------------------------------------------
# A conversation has at most one callback, under an id derived from it: the dispatcher reads it with
# one consistent GetItem per event (a callback made a moment before its first turn is never missed,
# whatever the endpoints' cache holds), and a new callback_url replaces the old one in place.
def callback_id(conversation_id: str) -> str:
    return f"wh_{conversation_id}"


def register_callback(workspace_id: str, conversation_id: str, url: str) -> str:
    """Bind a webhook to one conversation (or job), replacing an earlier one; returns its new secret.

    The callback gets that conversation's ``turn.*`` and ``job.*`` events only. Raises
    ValidationFailed (on ``callback_url``) if the URL is not an http(s) URL.
    """
    try:
        checked = check_url(url)
    except ValueError as exc:
        raise invalid("callback_url", str(exc)) from exc
    record = _new_webhook(
        checked,
        list(DEFAULT_EVENTS),
        description=f"Callback of {conversation_id}",
        conversation_id=conversation_id,
        webhook_id=callback_id(conversation_id),
    )
    secret = new_secret()
    store.put_secret(workspace_id, record["id"], secret)
    store.put(workspace_id, record)
    _forget(workspace_id, record["id"])
    return secret


def callbacks_for(workspace_id: str, conversation_id: str) -> list[Webhook]:
    """The callback bound to one conversation or job (none or one)."""
    record = store.get(workspace_id, callback_id(conversation_id), consistent=True)
    return [_model(record)] if record else []


def remove_callbacks(workspace_id: str, conversation_id: str) -> int:
    """Delete a conversation's (or job's) callback and its secret; how many there were (0 or 1)."""
    return int(_remove(workspace_id, callback_id(conversation_id)))


# -- dispatch: one event -> one delivery per matching webhook -------------------------------------
def dispatch(event: Mapping[str, Any]) -> int:
    """Queue a delivery of an EventBridge event to each of its workspace's webhooks that want it."""
    event_type = str(event.get("detail-type") or "")
    detail = event.get("detail") or {}
    workspace_id = detail.get("workspace_id") if isinstance(detail, Mapping) else None
    if not event_type or not workspace_id or not event.get("id"):
        logger.warning(
            "event without a type, workspace or id: not delivered", extra={"event_type": event_type}
        )
        return 0
    subjects = sorted({str(detail[name]) for name in ("conversation_id", "job_id") if detail.get(name)})
    endpoints = [
        webhook for webhook in workspace_webhooks(workspace_id) if not webhook.get("conversation_id")
    ]
    callbacks = [
        found
        for subject in subjects
        if (found := store.get(workspace_id, callback_id(subject), consistent=True)) is not None
    ]
    targets = [
        webhook
        for webhook in endpoints + callbacks
        if webhook.get("enabled", True) and matches(webhook.get("events") or [], event_type)
    ]
    payload = {"type": event_type, "timestamp": event.get("time") or clock.iso(), "data": dict(detail)}
    deliveries = [
        Delivery(
            webhook_id=webhook["id"],
            workspace_id=workspace_id,
            message_id=f"msg_{event['id']}_{webhook['id']}",
            type=event_type,
            payload=payload,
            attempt=1,
        )
        for webhook in targets
    ]
    _send(deliveries)
    return len(deliveries)


@ttl_cache(CACHE_SECONDS)
def workspace_webhooks(workspace_id: str) -> list[dict[str, Any]]:
    """A workspace's webhooks (one Query), cached per warm container for a short while.

    Only its endpoints are used from here: callbacks are read fresh, by key, for each event.
    """
    return store.all_for_workspace(workspace_id)


# -- delivery: one POST, its outcome recorded, a retry scheduled ----------------------------------
@dataclass(frozen=True)
class Attempt:
    """What happened to one POST: the receiver's status (None if none answered) and the error, if any."""

    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver(delivery: Delivery) -> str:
    """POST one delivery and record its outcome; on failure schedule the next attempt.

    Returns ``delivered``, ``retrying``, ``failed`` (attempts exhausted) or ``dropped`` (the webhook
    is gone or disabled). Never raises for the receiver's sake: only our own storage or queue can.
    """
    workspace_id, webhook_id = delivery.workspace_id, delivery.webhook_id
    log = {"webhook_id": webhook_id, "message_id": delivery.message_id, "attempt": delivery.attempt}
    webhook = store.get(workspace_id, webhook_id)
    secret = signing_secret(workspace_id, webhook_id) if webhook else None
    if webhook is None or not webhook.get("enabled", True) or secret is None:
        logger.info("webhook gone or disabled: delivery dropped", extra=log)
        return "dropped"
    attempt = post(webhook["url"], delivery.message_id, delivery.payload, secret)
    now = clock.iso()
    last_attempt = attempt.succeeded or delivery.attempt >= MAX_ATTEMPTS
    fields: dict[str, Any] = {
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
        "last_delivery_at": now,
    }
    counters = {"attempts": 1}
    if attempt.succeeded:
        fields["last_success_at"] = now
        counters["succeeded"] = 1
    elif last_attempt:
        fields["last_error"] = f"gave up after {delivery.attempt} attempts: {attempt.error}"
        counters["failed"] = 1
    if not store.record_outcome(workspace_id, webhook_id, fields, counters):
        logger.info("webhook deleted during delivery", extra=log)
        return "dropped"
    if attempt.succeeded:
        logger.info("webhook delivered", extra={**log, "status_code": attempt.status_code})
        return "delivered"
    if last_attempt:
        logger.warning("webhook delivery failed for good", extra={**log, "error": attempt.error})
        return "failed"
    delay = retry_delay(delivery.attempt)
    _send([delivery.model_copy(update={"attempt": delivery.attempt + 1})], delay_seconds=delay)
    logger.info("webhook delivery failed, retrying", extra={**log, "error": attempt.error, "delay_s": delay})
    return "retrying"


def defer(delivery: Delivery) -> None:
    """Put a delivery back on the queue as it is (its worker is out of time for another POST)."""
    _send([delivery])


def retry_delay(attempt: int) -> int:
    """Seconds before the attempt after ``attempt``: exponential, with jitter, at most 15 minutes."""
    base = settings().webhook_backoff_base_seconds * 2 ** (attempt - 1)
    # Up to 10% jitter spreads the retries of many deliveries that failed together.
    return min(MAX_DELAY_SECONDS, math.ceil(base * (1 + random.random() / 10)))


def post(url: str, message_id: str, payload: Mapping[str, Any], secret: str) -> Attempt:
    """One signed POST with short timeouts; any answer or failure becomes an Attempt."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "",
            parts.port,
            timeout=CONNECT_TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        connection = http.client.HTTPConnection(
            parts.hostname or "", parts.port, timeout=CONNECT_TIMEOUT_SECONDS
        )
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(READ_TIMEOUT_SECONDS)
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        status = response.status
        if 200 <= status < 300:
            return Attempt(status, None)
        snippet = response.read(200).decode("utf-8", "replace").strip()
        return Attempt(status, _short(f"HTTP {status}" + (f": {snippet}" if snippet else "")))
    except TimeoutError:
        return Attempt(None, "timed out")
    except ssl.SSLError as exc:
        return Attempt(None, _short(f"TLS error: {exc}"))
    except OSError as exc:
        return Attempt(None, _short(f"connection failed: {exc.strerror or exc}"))
    except http.client.HTTPException as exc:
        return Attempt(None, _short(f"bad response: {type(exc).__name__}: {exc}"))
    finally:
        connection.close()


@ttl_cache(CACHE_SECONDS)
def signing_secret(workspace_id: str, webhook_id: str) -> str | None:
    """A webhook's secret from Secrets Manager (None if it has none); cached per container."""
    return store.get_secret(workspace_id, webhook_id)


# -- helpers --------------------------------------------------------------------------------------
def _new_webhook(
    url: str,
    events: list[str],
    *,
    description: str | None = None,
    enabled: bool = True,
    conversation_id: str | None = None,
    webhook_id: str | None = None,
) -> dict[str, Any]:
    now = clock.iso()
    record: dict[str, Any] = {
        "id": webhook_id or ids.new_id("wh"),
        "kind": "callback" if conversation_id else "endpoint",
        "url": url,
        "events": list(events),
        "description": description,
        "enabled": enabled,
        "conversation_id": conversation_id,
        "created_at": now,
        "updated_at": now,
    }
    return {k: v for k, v in record.items() if v is not None}


def _save_new(workspace_id: str, record: dict[str, Any]) -> str:
    """Store a new webhook and its fresh secret; returns the secret."""
    secret = new_secret()
    store.put_secret(workspace_id, record["id"], secret)
    try:
        store.create(workspace_id, record)
    except Exception:
        store.delete_secret(workspace_id, record["id"])
        raise
    _forget(workspace_id, record["id"])
    return secret


def _send(deliveries: Iterable[Delivery], *, delay_seconds: int = 0) -> None:
    pending = list(deliveries)
    for start in range(0, len(pending), 10):  # SQS takes at most 10 messages per batch
        batch = pending[start : start + 10]
        response = queues.client().send_message_batch(
            QueueUrl=settings().webhook_deliveries_queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": delivery.model_dump_json(), "DelaySeconds": delay_seconds}
                for i, delivery in enumerate(batch)
            ],
        )
        if response.get("Failed"):
            # The whole record is retried; deliveries already queued repeat their webhook-id.
            raise RuntimeError(f"could not queue {len(response['Failed'])} webhook deliveries")


def _remove(workspace_id: str, webhook_id: str) -> bool:
    """Delete a webhook, then its secret; False if there was no such webhook."""
    if not store.delete(workspace_id, webhook_id):
        return False
    _forget(workspace_id, webhook_id)
    try:
        store.delete_secret(workspace_id, webhook_id)
    except Exception:
        # The webhook is gone either way (its deliveries are dropped); an orphan is found by its tags.
        logger.exception("could not delete a deleted webhook's secret", extra={"webhook_id": webhook_id})
    return True


def _existing(workspace_id: str, webhook_id: str, *, consistent: bool = False) -> dict[str, Any]:
    record = store.get(workspace_id, webhook_id, consistent=consistent)
    if record is None:
        # Another workspace's webhook is as missing as one that never existed.
        raise errors.NotFound(f"Webhook {webhook_id} not found.")
    return record


def _forget(workspace_id: str, webhook_id: str) -> None:
    """Drop this container's cached copies after a write (the devstack hosts API and workers together)."""
    workspace_webhooks.invalidate(workspace_id)
    signing_secret.invalidate(workspace_id, webhook_id)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_LENGTH else text[: _MAX_ERROR_LENGTH - 1] + "…"


def _fields(record: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: record[k] for k in Webhook.model_fields if k in record}
    fields["deliveries"] = DeliveryStats(
        **{name: int(record.get(attribute) or 0) for name, attribute in store.COUNTERS.items()}
    )
    return fields


def _model(record: Mapping[str, Any]) -> Webhook:
    return Webhook(**_fields(record))
