"""``Idempotency-Key`` on the API's writes: a retried request returns the first response, once.

Used by ``parley.http`` for every POST/PUT/PATCH/DELETE route that sends the header (the compat
routes too, since they share the resolver); GETs ignore it. For each (scope, key):

1. claim it with a conditional put of an in-progress record carrying the request's fingerprint
   (SHA-256 of method, path, query and body). If a record is already there: same fingerprint and
   completed → replay its status, headers and body (``idempotent-replayed: true``); same fingerprint
   still in progress → 409; another fingerprint → 422.
2. run the handler;
3. keep the response (2xx, and 4xx other than 409/429: the answer will not change on a retry) or
   drop the record (5xx, 409, 429: a retry should run again).

Records live ``TTL_SECONDS`` (24 h) through the table's TTL (``expires_at``); an expired record that
DynamoDB has not yet deleted counts as absent. An in-progress record whose function died is free
again after ``LEASE_SECONDS`` (beyond API Gateway's 30 s integration timeout).

A replay never reveals a secret again: fields named ``secret`` / ``callback_secret`` are stored as
null (``idempotent-redacted: true``), so neither the table nor a replay holds what was shown once.

Written here rather than with Powertools' idempotency utility: that one wraps a whole handler and
imports its persistence layer, JMESPath and more on every cold start (see the issue's numbers);
this is one conditional put and one update per write.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from parley import errors
from parley.observability import logger
from parley.store import idempotency as records

HEADER = "idempotency-key"
MAX_KEY_CHARS = 255
TTL_SECONDS = 24 * 60 * 60
LEASE_SECONDS = 60
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A stored response must fit a DynamoDB item (400 KB); a larger one is not kept (a retry runs again).
MAX_STORED_BODY_CHARS = 300_000
SECRET_FIELDS = frozenset({"secret", "callback_secret"})
PUBLIC_SCOPE = "public"  # unauthenticated routes (no workspace id can be "public")


@dataclass(frozen=True)
class Claim:
    """This request holds the key until ``finish``."""

    scope: str
    key: str
    fingerprint: str


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method}\n{path}\n{query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def begin(scope: str, key: str, request_fingerprint: str) -> Claim | dict[str, Any]:
    """Claim the key for this request, or the stored response to replay. Raises 400 / 409 / 422."""
    if not key or len(key) > MAX_KEY_CHARS:
        raise errors.BadRequest(f"The Idempotency-Key header must be 1 to {MAX_KEY_CHARS} characters long.")
    now = int(time.time())
    held = records.claim(
        scope,
        key,
        request_fingerprint,
        now=now,
        lease_until=now + LEASE_SECONDS,
        expires_at=now + TTL_SECONDS,
    )
    if held is None:
        return Claim(scope, key, request_fingerprint)
    if held.get("fingerprint") != request_fingerprint:
        raise errors.ValidationFailed(
            "Idempotency-Key was used with a different request body (or method, path or query);"
            " use a new key for a new request."
        )
    if held.get("status") != records.COMPLETED or not isinstance(held.get("response"), Mapping):
        raise errors.Conflict("A request with this Idempotency-Key is still in progress; retry later.")
    return _replay(held["response"])


def finish(claim: Claim, response: Mapping[str, Any]) -> None:
    """Keep the response for replays, or release the key so that a retry runs again."""
    status = int(response.get("statusCode", 500))
    keep = 200 <= status < 300 or (400 <= status < 500 and status not in (409, 429))
    stored = _storable(response) if keep else None
    if stored is None:
        records.release(claim.scope, claim.key, claim.fingerprint)
    else:
        records.complete(claim.scope, claim.key, claim.fingerprint, stored)


def _storable(response: Mapping[str, Any]) -> dict[str, Any] | None:
    headers = {k: v for k, v in (response.get("headers") or {}).items() if k != "x-request-id"}
    body = response.get("body")
    if (
        isinstance(body, str)
        and not response.get("isBase64Encoded")
        and any(f'"{name}"' in body for name in SECRET_FIELDS)
    ):
        body, redacted = _redact(body)
        if redacted:
            headers["idempotent-redacted"] = "true"
    if isinstance(body, str) and len(body) > MAX_STORED_BODY_CHARS:
        logger.warning("idempotent response too large to keep", extra={"chars": len(body)})
        return None
    stored: dict[str, Any] = {"status": int(response["statusCode"]), "headers": headers}
    if body is not None:
        stored["body"] = body
    if response.get("isBase64Encoded"):
        stored["base64"] = True
    return stored


def _redact(body: str) -> tuple[str, bool]:
    try:
        document = json.loads(body)
    except ValueError:
        return body, False
    found = False

    def walk(value: Any) -> Any:
        nonlocal found
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for name, item in value.items():
                if name in SECRET_FIELDS and isinstance(item, str) and item:
                    found = True
                    out[name] = None
                else:
                    out[name] = walk(item)
            return out
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    cleaned = walk(document)
    return (json.dumps(cleaned), True) if found else (body, False)


def _replay(stored: Mapping[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "statusCode": int(stored["status"]),
        "headers": {**dict(stored.get("headers") or {}), "idempotent-replayed": "true"},
    }
    if "body" in stored:
        response["body"] = stored["body"]
    if stored.get("base64"):
        response["isBase64Encoded"] = True
    return response
