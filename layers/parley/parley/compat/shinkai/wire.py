"""Shinkai's wire conventions shared by every /v2 handler: the resolver and its error shape.

Success bodies are raw JSON (no envelope). Errors are ``{"code", "error", "message"}`` with the HTTP
status equal to ``code``; a body that does not deserialize is 400 "Invalid Body", as warp answers.
"""

from __future__ import annotations

import json
from typing import Any

from parley import errors
from parley.http import JSON_HEADERS, Api, api

# The node's name until a deployment admin changes it; agents' full identity names start with it.
DEFAULT_NODE_NAME = "@@localhost.sep-shinkai"

_ERROR_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def error_body(status: int, error: str, message: str) -> dict[str, Any]:
    return {"code": status, "error": error, "message": message}


def shinkai_error(exc: errors.ParleyError, request_id: str) -> dict[str, Any]:
    status, error, message = exc.status, _ERROR_NAMES.get(exc.status, "Internal Server Error"), exc.message
    if isinstance(exc, errors.ValidationFailed) or (isinstance(exc, errors.BadRequest) and "JSON" in message):
        status, error, message = 400, "Invalid Body", f"Deserialization error: {message}"
    elif isinstance(exc, errors.Unauthorized):
        message = "Invalid bearer token"
    elif isinstance(exc, errors.InvalidState):
        status, error = 400, "Bad Request"
    elif status >= 500:
        status, error, message = 500, _ERROR_NAMES[500], "An unexpected error occurred. Please try again."
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, "x-request-id": request_id},
        "body": json.dumps(error_body(status, error, message)),
    }


def shinkai_api() -> Api:
    return api(error_format=shinkai_error)
