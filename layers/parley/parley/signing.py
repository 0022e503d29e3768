"""Standard Webhooks signatures (webhooks, job callbacks and HTTP tools sign their requests alike)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the marker of a secret, not one


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value (Standard Webhooks, ``v1`` = HMAC-SHA256)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, as Standard Webhooks' libraries make them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
