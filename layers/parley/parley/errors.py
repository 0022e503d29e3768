"""Domain exceptions. Services raise these; parley.http (and each compat translator) maps them to the wire."""

from __future__ import annotations

from typing import Any


class ParleyError(Exception):
    """Base of every error a client is meant to see. ``status`` is the HTTP status it maps to."""

    status = 500
    type = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadRequest(ParleyError):
    status, type = 400, "bad_request"


class Unauthorized(ParleyError):
    status, type = 401, "unauthorized"


class Forbidden(ParleyError):
    status, type = 403, "forbidden"


class NotFound(ParleyError):
    status, type = 404, "not_found"


class Conflict(ParleyError):
    status, type = 409, "conflict"


class InvalidState(Conflict):
    """A state transition that the resource's current state does not allow (e.g. message to a closed job)."""

    type = "invalid_state"


class PayloadTooLarge(ParleyError):
    status, type = 413, "payload_too_large"


class ValidationFailed(ParleyError):
    status, type = 422, "validation_error"


class BadGateway(ParleyError):
    """A server Parley depends on (e.g. a provider's endpoint) could not be reached or answered badly."""

    status, type = 502, "bad_gateway"


class TooManyRequests(ParleyError):
    status, type = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
