"""Every function answers its own sample event (events/<LogicalId>.json) against the template's resources.

The in-process twin of `make test-built`: the same events and the same acceptance rules, with the
handler loaded from source (fast, debuggable) instead of from `sam build`'s output.
"""

from __future__ import annotations

import pytest

from devstack.events import LambdaContext
from devstack.resources import LocalResources
from devstack.template import load_template
from tests.built.sample_events import (
    authorizer_functions,
    is_documented_server_error,
    websocket_authorizer_functions,
    websocket_route_of,
)
from tests.conftest import load_handler, sample_event

TEMPLATE = load_template()
AUTHORIZERS = authorizer_functions(TEMPLATE) | websocket_authorizer_functions(TEMPLATE)
# Compat APIs whose reference answers a missing resource with a 500 (the sample ids exist nowhere).


# A Lambda Web Adapter function's handler is a start script, not a module: tests/built runs its server
# on its sample event, and tests/e2e/test_chat_stream.py drives it on the devstack.
@pytest.mark.parametrize(
    "logical_id", [function.logical_id for function in TEMPLATE.functions() if not function.web_adapter]
)
def test_function_handles_its_sample_event(aws: LocalResources, logical_id: str) -> None:
    # Given the function's handler, loaded as a cold start, and its sample event
    function = TEMPLATE.function(logical_id)
    handler = load_handler(function)
    event = sample_event(function)
    context = LambdaContext(aws.physical_name(logical_id), function.timeout, function.memory_size)

    if logical_id in AUTHORIZERS:
        # When the authorizer is asked about the sample request
        refusal: Exception | None = None
        try:
            result = handler(event, context)
        except Exception as exc:
            refusal = exc
        # Then it either decides, or refuses with the one message API Gateway maps to 401
        if refusal is not None:
            assert str(refusal) == "Unauthorized", f"{logical_id} raised {refusal!r}"
        else:
            assert isinstance(result, dict), result
        return

    # When it is invoked
    result = handler(event, context)

    # Then an HTTP function (or a WebSocket route's) answers without a server error; any other
    # function just completes
    if function.routes or websocket_route_of(TEMPLATE, logical_id):
        assert isinstance(result, dict), result
        assert isinstance(result.get("statusCode"), int), result
        if is_documented_server_error(logical_id, result["statusCode"], result.get("body")):
            return
        assert result["statusCode"] < 500, result.get("body")
