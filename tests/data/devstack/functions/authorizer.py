"""Toy authorizer: ``authorization: allow <workspace>`` / ``deny`` / ``crash`` / ``malformed``."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> Any:
    verdict, _, workspace = (event.get("headers") or {}).get("authorization", "").partition(" ")
    if verdict == "allow":
        return {"isAuthorized": True, "context": {"workspace_id": workspace, "tier": 2, "admin": False}}
    if verdict == "deny":
        return {"isAuthorized": False}
    if verdict == "crash":
        raise RuntimeError("the key store is down")
    if verdict == "malformed":
        return "yes please"
    raise Exception("Unauthorized")  # the exact message API Gateway maps to 401
