"""Mielto's wire, shared by its conversation and memory endpoints: FastAPI's errors and request models.

Errors are FastAPI's: ``{"detail": "…"}``, and 422 ``{"detail": [{"loc", "msg", "type"}]}``. A module
of its own so that the memory endpoints' handlers do not import the conversation endpoints' models.
"""

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from parley import errors
from parley.http import JSON_HEADERS, Api, api


# -- errors ---------------------------------------------------------------------------------------
def mielto_error(exc: errors.ParleyError, request_id: str) -> dict[str, Any]:
    status = exc.status
    headers = {**JSON_HEADERS, "x-request-id": request_id}
    detail: Any = exc.message
    if isinstance(exc, errors.ValidationFailed):
        detail = [_fastapi_detail(item) for item in exc.details] or [
            {"loc": ["body"], "msg": exc.message, "type": "value_error"}
        ]
    elif isinstance(exc, errors.BadRequest) and "JSON" in exc.message:
        # FastAPI answers a body that is not JSON with 422 json_invalid at the failing position.
        position = re.search(r"\(char (\d+)\)", exc.message)
        status = 422
        detail = [
            {
                "loc": ["body", int(position.group(1)) if position else 0],
                "msg": "JSON decode error",
                "type": "json_invalid",
                "ctx": {"error": exc.message.partition(": ")[2] or exc.message},
            }
        ]
    elif isinstance(exc, errors.Unauthorized):
        headers["www-authenticate"] = "Bearer"
    elif isinstance(exc, errors.InvalidState):
        status = 400
    elif isinstance(exc, errors.TooManyRequests):
        headers["retry-after"] = str(exc.retry_after)
    elif status >= 500:
        status, detail = 500, "Internal Server Error"
    return {"statusCode": status, "headers": headers, "body": json.dumps({"detail": detail})}


def _fastapi_detail(item: dict[str, Any]) -> dict[str, Any]:
    loc = [int(part) if isinstance(part, str) and part.isdigit() else part for part in item.get("loc", [])]
    return {"loc": loc, "msg": item.get("msg", ""), "type": item.get("type", "value_error")}


def mielto_api() -> Api:
    return api(error_format=mielto_error)


class MieltoRequest(BaseModel):
    """FastAPI's default: unknown fields are ignored, not refused."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
