"""Parley's own schemathesis checks, beside the built-in ones. ``schemathesis run`` loads this module as
its hooks (``SCHEMATHESIS_HOOKS=tests.fuzz.schemathesis_checks``); importing it registers them."""

from __future__ import annotations

import json
from typing import Any

import schemathesis

# The parts of a request a 422 can name first in a detail's ``loc`` (parley.http for the body and the
# query, services/validation.py for rules that need stored state).
REQUEST_PARTS = frozenset({"body", "query", "path"})
GATEWAY_NOT_FOUND = {"message": "Not Found"}  # API Gateway's answer to a request no route takes


def _error(response: schemathesis.Response) -> Any:
    try:
        return json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.check
def client_errors_carry_the_error_body(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every 4xx is ``{"error": {"type", "message", "request_id"}}``, whatever the input was; a method
    the path has no route for never reaches Parley, and gets API Gateway's own JSON 404."""
    if not 400 <= response.status_code < 500:
        return None
    if case.method.upper() != case.operation.method.upper():  # the coverage phase's unexpected methods
        assert response.status_code == 404, f"{case.method} answered {response.status_code}, not 404"
        assert json.loads(response.content) == GATEWAY_NOT_FOUND, response.content[:300]
        return None
    error = _error(response)
    if not isinstance(error, dict):
        raise AssertionError(f"{response.status_code} without the error body: {response.content[:300]!r}")
    missing = {"type", "message", "request_id"} - set(error)
    assert not missing, f"{response.status_code} error body lacks {sorted(missing)}: {error}"
    assert all(isinstance(error[name], str) for name in ("type", "message", "request_id")), error
    return None


@schemathesis.check
def refusals_name_what_they_refuse(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A 422's details name a part of the request. One that names none is a stored record failing its
    response model (Parley's own fault, not the client's), as a message saved with ``tags: null`` did."""
    if response.status_code != 422:
        return None
    error = _error(response)
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details or []:
        loc = detail.get("loc") if isinstance(detail, dict) else None
        assert loc and loc[0] in REQUEST_PARTS, f"a 422 that blames no part of the request: {error}"
    return None


@schemathesis.check
def the_key_is_accepted(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """Every call carries the admin key: a 401 would mean the fuzzing never got past the authorizer."""
    assert response.status_code != 401, f"the admin key was refused: {response.content[:300]!r}"
    return None
