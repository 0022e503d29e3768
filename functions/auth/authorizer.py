"""HTTP API Lambda REQUEST authorizer (simple responses) of the native routes: API key -> workspace.

Missing, unknown or revoked key -> "Unauthorized" (API Gateway answers 401); an X-Workspace-Id
header naming another workspace -> isAuthorized false (403).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.auth import WORKSPACE_MISMATCH, authenticate
from parley.observability import logger


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    grant, refusal = authenticate(event)
    if grant is None:
        logger.info("request refused", extra={"reason": refusal, "route": event.get("routeKey")})
        if refusal == WORKSPACE_MISMATCH:
            return {"isAuthorized": False}
        raise Exception("Unauthorized")  # the exact message API Gateway maps to 401
    return {"isAuthorized": True, "context": grant}
