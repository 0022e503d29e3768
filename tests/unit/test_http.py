"""parley.http: routing, binding, validation and the error model, on hand-built resolvers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from parley import errors
from parley.config import settings
from parley.http import Request, Response, api
from parley.models.base import ListQuery, Name, RequestModel

AUTH = {"workspace_id": "ws_1", "key_id": "key_1", "role": "member", "deployment_admin": "false"}


class Greeting(RequestModel):
    name: Name
    times: int = 1


@pytest.fixture(autouse=True)
def _settings(unit_settings: pytest.MonkeyPatch) -> None:
    unit_settings.setenv("PARLEY_MAX_BODY_BYTES", "64")
    settings.cache_clear()


def event(
    method: str,
    route: str,
    raw_path: str,
    *,
    body: Any = None,
    auth: dict | None = AUTH,
    path: dict | None = None,
    query: dict | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {"requestId": "req-123", "http": {"method": method}}
    if auth is not None:
        context["authorizer"] = {"lambda": auth}
    return {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": raw_path,
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "pathParameters": path,
        "queryStringParameters": query,
        "body": raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
        "isBase64Encoded": False,
    }


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def greeter():
    app = api()

    @app.post("/v1/greetings/<greeting_id>", status=201)
    def greet(greeting_id: str, body: Greeting) -> dict[str, Any]:
        return {
            "id": greeting_id,
            "text": f"hello {body.name}" * body.times,
            "by": app.principal.workspace_id,
        }

    @app.get("/v1/greetings")
    def list_greetings(query: ListQuery) -> dict[str, Any]:
        return {"limit": query.limit}

    @app.get("/v1/fail/<kind>")
    def fail(kind: str) -> None:
        if kind == "conflict":
            raise errors.Conflict("already there")
        if kind == "throttled":
            raise errors.TooManyRequests("slow down", retry_after=7)
        raise RuntimeError("secret internals")

    @app.get("/v1/raw")
    def raw(request: Request) -> Response:
        return Response(202, {"path": request.event["rawPath"]}, {"location": "/v1/raw/1"})

    return app


def test_a_valid_request_binds_path_and_body_and_answers_with_the_route_status():
    response = greeter().resolve(
        event(
            "POST",
            "/v1/greetings/{greeting_id}",
            "/v1/greetings/g1",
            body={"name": "Ada"},
            path={"greeting_id": "g1"},
        )
    )
    assert response["statusCode"] == 201
    assert body_of(response) == {"id": "g1", "text": "hello Ada", "by": "ws_1"}
    assert response["headers"]["x-request-id"] == "req-123"


def test_malformed_json_is_a_400_that_says_so():
    response = greeter().resolve(
        event(
            "POST",
            "/v1/greetings/{greeting_id}",
            "/v1/greetings/g1",
            raw_body="{not json",
            path={"greeting_id": "g1"},
        )
    )
    assert response["statusCode"] == 400
    error = body_of(response)["error"]
    assert error["type"] == "bad_request"
    assert "not valid JSON" in error["message"]
    assert error["request_id"] == "req-123"


def test_schema_violations_are_a_422_with_one_detail_per_field():
    response = greeter().resolve(
        event(
            "POST",
            "/v1/greetings/{greeting_id}",
            "/v1/greetings/g1",
            body={"name": "", "times": "x", "extra": 1},
            path={"greeting_id": "g1"},
        )
    )
    assert response["statusCode"] == 422
    details = body_of(response)["error"]["details"]
    assert {tuple(d["loc"]) for d in details} == {("body", "name"), ("body", "times"), ("body", "extra")}
    assert all(d["msg"] and d["type"] for d in details)


def test_a_body_over_the_limit_is_a_413_naming_the_limit():
    response = greeter().resolve(
        event(
            "POST",
            "/v1/greetings/{greeting_id}",
            "/v1/greetings/g1",
            body={"name": "x" * 100},
            path={"greeting_id": "g1"},
        )
    )
    assert response["statusCode"] == 413
    assert "64 bytes" in body_of(response)["error"]["message"]


def test_a_base64_body_is_decoded():
    payload = base64.b64encode(json.dumps({"name": "Bo"}).encode()).decode()
    request = event(
        "POST",
        "/v1/greetings/{greeting_id}",
        "/v1/greetings/g1",
        raw_body=payload,
        path={"greeting_id": "g1"},
    )
    request["isBase64Encoded"] = True
    assert body_of(greeter().resolve(request))["text"] == "hello Bo"


def test_query_parameters_are_validated_and_coerced():
    assert body_of(
        greeter().resolve(event("GET", "/v1/greetings", "/v1/greetings", query={"limit": "5"}))
    ) == {"limit": 5}
    response = greeter().resolve(event("GET", "/v1/greetings", "/v1/greetings", query={"limit": "1000"}))
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["details"][0]["loc"] == ["query", "limit"]


def test_domain_errors_map_to_their_status():
    app = greeter()
    conflict = app.resolve(event("GET", "/v1/fail/{kind}", "/v1/fail/conflict", path={"kind": "conflict"}))
    assert conflict["statusCode"] == 409
    assert body_of(conflict)["error"] == {
        "type": "conflict",
        "message": "already there",
        "request_id": "req-123",
    }
    throttled = app.resolve(event("GET", "/v1/fail/{kind}", "/v1/fail/throttled", path={"kind": "throttled"}))
    assert throttled["statusCode"] == 429
    assert throttled["headers"]["retry-after"] == "7"


def test_an_unexpected_exception_is_a_500_that_reveals_nothing():
    response = greeter().resolve(event("GET", "/v1/fail/{kind}", "/v1/fail/boom", path={"kind": "boom"}))
    assert response["statusCode"] == 500
    assert "secret internals" not in response["body"]
    assert body_of(response)["error"]["type"] == "internal_error"


def test_a_route_without_authorizer_context_is_refused_with_401():
    response = greeter().resolve(event("GET", "/v1/greetings", "/v1/greetings", auth=None))
    assert response["statusCode"] == 401
    assert body_of(response)["error"]["type"] == "unauthorized"


def test_a_hand_made_event_without_route_key_is_matched_by_path():
    request = event("POST", "/v1/greetings/{greeting_id}", "/v1/greetings/g9", body={"name": "Cy"})
    request["routeKey"] = "$default"
    assert body_of(greeter().resolve(request))["id"] == "g9"


def test_an_unknown_route_is_a_404():
    response = greeter().resolve(event("GET", "/v1/nothing", "/v1/nothing"))
    assert response["statusCode"] == 404


def test_an_explicit_response_keeps_its_status_and_headers():
    response = greeter().resolve(event("GET", "/v1/raw", "/v1/raw"))
    assert response["statusCode"] == 202
    assert response["headers"]["location"] == "/v1/raw/1"
    assert body_of(response) == {"path": "/v1/raw"}


def binary_app(content_type: str | None):
    app = api()

    @app.get("/v1/blob")
    def blob() -> Response:
        headers = {"content-type": content_type} if content_type else {}
        return Response(200, b"\x00\xff\xfe binary \r\n\x80", headers)

    return app


def test_a_bytes_body_is_sent_base64_encoded_with_its_content_type():
    response = binary_app("image/png").resolve(event("GET", "/v1/blob", "/v1/blob"))

    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == b"\x00\xff\xfe binary \r\n\x80"
    assert response["headers"]["content-type"] == "image/png"
    assert response["headers"]["x-request-id"] == "req-123"


def test_a_bytes_body_without_a_content_type_is_an_octet_stream():
    response = binary_app(None).resolve(event("GET", "/v1/blob", "/v1/blob"))

    assert response["headers"]["content-type"] == "application/octet-stream"
    assert base64.b64decode(response["body"]) == b"\x00\xff\xfe binary \r\n\x80"


def text_app(content_type: str | None):
    app = api()

    @app.get("/v1/page")
    def page() -> Response:
        headers = {"content-type": content_type} if content_type else {}
        return Response(200, "<p>héllo</p>", headers)

    return app


def test_a_str_body_is_sent_as_is_with_its_content_type():
    response = text_app("text/html; charset=utf-8").resolve(event("GET", "/v1/page", "/v1/page"))

    assert response["statusCode"] == 200
    assert response["body"] == "<p>héllo</p>"
    assert "isBase64Encoded" not in response
    assert response["headers"]["content-type"] == "text/html; charset=utf-8"
    assert response["headers"]["x-request-id"] == "req-123"


def test_a_str_body_without_a_content_type_is_plain_text():
    response = text_app(None).resolve(event("GET", "/v1/page", "/v1/page"))

    assert response["headers"]["content-type"] == "text/plain; charset=utf-8"


def parsed(raw_body: str) -> Any:
    return Request(event={"body": raw_body}, path_params={}, query={}, headers={}, request_id="r").json()


def test_a_body_nested_deeper_than_dynamodb_allows_is_a_bad_request_not_a_crash():
    with pytest.raises(errors.BadRequest, match="nested deeper than 24 levels"):
        parsed('{"meta": ' + '{"k": ' * 2_000 + "1" + "}" * 2_000 + "}")


def test_a_body_nested_24_deep_is_accepted():
    assert parsed("[" * 24 + "]" * 24) == json.loads("[" * 24 + "]" * 24)


def test_a_lone_surrogate_escape_is_a_bad_request():
    with pytest.raises(errors.BadRequest, match="surrogate"):
        parsed('{"meta": {"k": "a\\ud800"}}')


def test_a_surrogate_pair_escape_is_text():
    assert parsed('{"name": "\\ud83d\\ude00"}') == {"name": "😀"}


@pytest.mark.parametrize(
    "number", ["4.8280616233583805e-231", "1e200", "-1e126", "1" * 39, "NaN", "-Infinity"]
)
def test_a_number_dynamodb_cannot_store_is_a_bad_request(number: str):
    with pytest.raises(errors.BadRequest):
        parsed(f'{{"config": {{"temperature": {number}}}}}')


def test_numbers_in_dynamodb_range_are_parsed():
    assert parsed('{"a": 0.0, "b": 1e-130, "c": -9.9e125, "d": %s}' % ("9" * 38)) == {
        "a": 0.0,
        "b": 1e-130,
        "c": -9.9e125,
        "d": int("9" * 38),
    }
