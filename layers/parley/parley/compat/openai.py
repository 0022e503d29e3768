"""OpenAI's wire, shared by ``/v1/chat/completions`` and ``/v1/models``: the error shape the ``openai``
SDK reads, and the workspace's agents listed as models. Light on purpose: listing models imports only
this (the completion's use case is ``parley.services.chat_completions``).

Errors keep Parley's body (``type``, ``message``, ``request_id``, ``details``) and add OpenAI's ``code``
and ``param``; every one but a 429 says ``x-should-retry: false``, because the SDK retries 5xx and 409
by itself, and a retried completion would post its message again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from parley import errors
from parley.http import JSON_HEADERS, Principal
from parley.models.chat import ModelCard, ModelList
from parley.store import agents as agent_store


def refusal(
    exc_type: type[errors.ParleyError], message: str, *, param: str | None, code: str
) -> errors.ParleyError:
    """A domain error that tells OpenAI clients which parameter (``param``) and why (``code``)."""
    return exc_type(message, details=[{"param": param, "code": code}])


def openai_error(exc: errors.ParleyError, request_id: str) -> dict[str, Any]:
    first = exc.details[0] if exc.details else {}
    param = first.get("param")
    if param is None and isinstance(first.get("loc"), list):
        param = ".".join(str(part) for part in first["loc"] if part != "body") or None
    error: dict[str, Any] = {
        "type": exc.type,
        "message": exc.message,
        "request_id": request_id,
        "code": first.get("code") or exc.type,
        "param": param,
    }
    if exc.details:
        error["details"] = exc.details
    headers = {**JSON_HEADERS, "x-request-id": request_id}
    if isinstance(exc, errors.TooManyRequests):
        headers["retry-after"] = str(exc.retry_after)
    else:
        headers["x-should-retry"] = "false"
    return {"statusCode": exc.status, "headers": headers, "body": json.dumps({"error": error})}


def list_models(principal: Principal) -> ModelList:
    """The workspace's agents, as OpenAI models (a completion's ``model`` names one by id or name)."""
    return ModelList(
        data=[
            ModelCard(id=agent["id"], created=unix(agent["created_at"]), name=agent["name"])
            for agent in agent_store.all_for_workspace(principal.workspace_id)
        ]
    )


def unix(timestamp: str) -> int:
    """A stored RFC 3339 timestamp as OpenAI's Unix seconds."""
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())
