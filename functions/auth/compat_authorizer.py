"""HTTP API Lambda REQUEST authorizer of the compatibility routes: it never refuses by itself.

The seed APIs answer a bad key in their own shapes (Shinkai 401 `{code, error, message}`, Odyssey
403 `{error: {message}}`, Mielto `{detail}` …), which API Gateway cannot produce for an authorizer's
refusal. So this one lets the request through with the reason (`auth_error`) instead of a
workspace, and the compat handler refuses it in its API's shape (parley.http never grants a
principal without a workspace).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.auth import authenticate


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    grant, refusal = authenticate(event)
    return {"isAuthorized": True, "context": grant if grant is not None else {"auth_error": refusal}}
