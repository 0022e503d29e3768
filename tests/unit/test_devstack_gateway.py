"""The devstack's gateway logic without sockets: route selection, response mapping, batch responses."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from devstack.gateway import Router, lambda_response
from devstack.pollers import batch_item_failures
from devstack.runtime import LambdaFunction
from devstack.template import FunctionSpec, HttpRoute


def function(logical_id: str) -> LambdaFunction:
    spec = FunctionSpec(logical_id, f"{logical_id}.handler", ".", 3, 128, {})
    return LambdaFunction(spec, f"parley-{logical_id}", "/aws/lambda/test")


def router(*route_keys: str) -> Router:
    routes = []
    for key in route_keys:
        method, path = key.split(" ", 1)
        routes.append((HttpRoute(method, path, None), function(key)))
    return Router(routes)


def matched(router: Router, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    match = router.match(method, path)
    return (match.route.route_key, match.path_parameters) if match else None


def test_literal_segment_beats_a_path_parameter() -> None:
    routes = router("GET /items/{id}", "GET /items/special")

    assert matched(routes, "GET", "/items/special") == ("GET /items/special", {})
    assert matched(routes, "GET", "/items/other") == ("GET /items/{id}", {"id": "other"})


def test_path_parameter_beats_a_greedy_one_and_greedy_takes_the_rest() -> None:
    routes = router("GET /files/{proxy+}", "GET /files/{id}")

    assert matched(routes, "GET", "/files/a") == ("GET /files/{id}", {"id": "a"})
    assert matched(routes, "GET", "/files/a/b%2Fc") == ("GET /files/{proxy+}", {"proxy": "a/b/c"})


def test_greedy_parameter_needs_at_least_one_segment() -> None:
    assert matched(router("GET /files/{proxy+}"), "GET", "/files") is None


def test_leftmost_literal_wins_between_two_parameterised_routes() -> None:
    routes = router("GET /{a}/b/{c}", "GET /a/{b}/c")

    assert matched(routes, "GET", "/a/b/c") == ("GET /a/{b}/c", {"b": "b"})


def test_exact_method_beats_any_and_any_takes_the_others() -> None:
    routes = router("ANY /things", "POST /things")

    assert matched(routes, "POST", "/things") == ("POST /things", {})
    assert matched(routes, "PATCH", "/things") == ("ANY /things", {})


def test_wrong_method_or_unknown_path_matches_nothing() -> None:
    routes = router("GET /things")

    assert matched(routes, "POST", "/things") is None
    assert matched(routes, "GET", "/things/1") is None
    assert matched(routes, "GET", "/things/") is None


def test_default_route_catches_what_nothing_else_matches() -> None:
    routes = router("GET /things", "ANY $default")

    assert matched(routes, "GET", "/things") == ("GET /things", {})
    assert matched(routes, "DELETE", "/elsewhere") == ("ANY $default", {})


def test_value_without_status_code_is_a_200_json_body() -> None:
    response = lambda_response({"answer": 42})

    assert (response.status, response.body) == (200, b'{"answer": 42}')
    assert response.headers == {"content-type": "application/json"}


def test_status_code_response_maps_headers_cookies_and_base64_body() -> None:
    response = lambda_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png", "X-Count": 3},
            "cookies": ["a=1"],
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )

    assert (response.status, response.body, response.cookies) == (201, b"\x89PNG", ["a=1"])
    assert response.headers == {"content-type": "image/png", "x-count": "3"}


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "teapot"},
        {"statusCode": 99},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
    ],
)
def test_malformed_response_is_rejected(result: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        lambda_response(result)


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": "m2"}, None),
        ("m2", None),
    ],
)
def test_partial_batch_response_is_read_as_lambda_reads_it(result: Any, failed: set[str] | None) -> None:
    assert batch_item_failures(result, {"m1", "m2"}) == failed
