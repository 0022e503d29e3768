"""schemathesis against the OpenAPI document the devstack serves: no input, valid or not, is a 5xx,
and every 4xx answers with Parley's error body.

One test per operation and generation mode (so xdist spreads them and a failure names its route),
each driving schemathesis' case strategy with hypothesis directly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.fuzz.conftest import EXAMPLES_PER_OPERATION, documented_operations

pytestmark = pytest.mark.e2e

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # a fixed seed: CI fuzzes the same inputs on every run
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def client_errors_carry_the_error_body(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """Every 4xx is ``{"error": {"type", "message", "request_id"}}``, whatever the input was."""
    if not 400 <= response.status_code < 500:
        return
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(
            f"{response.status_code} without the error body: {response.content[:300]!r}"
        ) from None
    missing = {"type", "message", "request_id"} - set(error)
    assert not missing, f"{response.status_code} error body lacks {sorted(missing)}: {error}"
    assert all(isinstance(error[name], str) for name in ("type", "message", "request_id")), error
    return


CASES = [
    *(
        pytest.param(method, path, GenerationMode.POSITIVE, id=f"{method} {path} valid")
        for method, path in documented_operations()
    ),
    *(
        pytest.param(method, path, GenerationMode.NEGATIVE, id=f"{method} {path} invalid")
        for method, path in documented_operations(with_typed_input=True)
    ),
]


def the_key_is_accepted(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every call carries the admin key: a 401 would mean the fuzzing never got past the authorizer."""
    assert response.status_code != 401, f"the admin key was refused: {response.content[:300]!r}"
    return


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_input_is_a_server_error_and_every_refusal_says_why(
    served_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    # Given the operation as the served document describes it, and inputs that fit it (or, in the
    # negative mode, that break its body or query schema)
    operation = served_schema[path][method]

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case) -> None:
        # When each is sent to the devstack with the admin key
        # Then none is a 5xx, and every 4xx carries the error body
        case.call_and_validate(
            checks=[not_a_server_error, client_errors_carry_the_error_body, the_key_is_accepted]
        )

    fuzz()
