"""The devstack itself, against a toy template (tests/data/devstack): gateway, authorizer, pollers, schedules.

Every behaviour here is one the devstack emulates from AWS; the toy functions echo what they receive
or record it in the toy table, which the tests read back through the toy stack's own HTTP routes.
"""

from __future__ import annotations

import base64
import hashlib
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.devstack_process import ApiClient, RunningDevstack, start_devstack

pytestmark = pytest.mark.e2e

TOY_TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "devstack" / "template.yaml"
TOY_ENV = {"PARLEY_DEVSTACK_SCHEDULE_SCALE": "0.005"}  # rate(1 minute) -> every 0.3 s
READY_PATH = "/items/special"
ALLOW = {"authorization": "allow ws-1"}
WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevstack]:
    log = tmp_path_factory.mktemp("toy-devstack") / "devstack.log"
    stack = start_devstack(log, TOY_TEMPLATE, TOY_ENV, ready_path=READY_PATH)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def client(toy: RunningDevstack) -> ApiClient:
    return ApiClient(toy.url)


def echoed(client: ApiClient, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    status, _, body = client.request(method, path, **kwargs)
    assert status == 200, body
    return body["event"]


def eventually(probe: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"nothing after {timeout} s")


def records(client: ApiClient, kind: str) -> list[dict[str, Any]]:
    status, _, body = client.get(f"/tools/records/{kind}")
    assert status == 200, body
    return body


# ------------------------------------------------------------------------------------ routing


def test_path_parameter_is_matched_and_url_decoded(client: ApiClient) -> None:
    event = echoed(client, "GET", "/items/a%20b", headers=ALLOW)

    assert event["routeKey"] == "GET /items/{item_id}"
    assert event["rawPath"] == "/items/a%20b"
    assert event["pathParameters"] == {"item_id": "a b"}


def test_literal_route_beats_a_path_parameter(client: ApiClient) -> None:
    event = echoed(client, "GET", "/items/special")

    assert event["routeKey"] == "GET /items/special"
    assert "pathParameters" not in event
    assert "authorizer" not in event["requestContext"]  # Auth: {Authorizer: NONE}


def test_greedy_any_route_takes_every_method_and_depth(client: ApiClient) -> None:
    event = echoed(client, "DELETE", "/public/a/b/c")

    assert event["routeKey"] == "ANY /public/{path+}"
    assert event["pathParameters"] == {"path": "a/b/c"}
    assert event["requestContext"]["http"]["method"] == "DELETE"


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("PUT", "/items"), ("GET", "/public")])
def test_unknown_route_answers_404_like_api_gateway(client: ApiClient, method: str, path: str) -> None:
    status, headers, body = client.request(method, path, headers=ALLOW)

    assert (status, body) == (404, {"message": "Not Found"})
    assert headers["content-type"] == "application/json"


# Found by schemathesis' coverage phase (issue 21): Python's HTTP server answered a method it has no
# do_<METHOD> for with an HTML 501, a 5xx API Gateway never gives.
@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND", "CONNECT"])
def test_a_method_no_route_takes_answers_api_gateways_json_404(client: ApiClient, method: str) -> None:
    status, headers, body = client.request(method, "/items/special")

    assert (status, body) == (404, {"message": "Not Found"})
    assert headers["content-type"] == "application/json"


def test_head_on_a_get_route_answers_the_404_without_a_body(client: ApiClient) -> None:
    status, headers, raw = client.raw("HEAD", "/items/special")

    assert (status, raw) == (404, b"")
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(b'{"message":"Not Found"}'))  # what a GET would carry


def test_cors_preflight_reaches_an_any_route(client: ApiClient) -> None:
    # With no CorsConfiguration, API Gateway routes OPTIONS as any other method: an ANY route answers
    # the preflight itself.
    preflight = {"origin": "https://app.example", "access-control-request-method": "POST"}

    event = echoed(client, "OPTIONS", "/public/items", headers=preflight)

    assert event["requestContext"]["http"]["method"] == "OPTIONS"
    assert event["headers"]["access-control-request-method"] == "POST"


def test_cors_preflight_without_a_route_answers_the_json_404(client: ApiClient) -> None:
    preflight = {"origin": "https://app.example", "access-control-request-method": "GET"}

    status, _, body = client.request("OPTIONS", "/items/special", headers=preflight)

    assert (status, body) == (404, {"message": "Not Found"})


@pytest.mark.parametrize(
    "framing",
    [
        b"content-length: ten\r\n\r\n",
        b"content-length: -1\r\n\r\n",
        b"transfer-encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["length-not-a-number", "negative-length", "chunk-size-not-hex"],
)
def test_unreadable_body_framing_answers_400_as_json(toy: RunningDevstack, framing: bytes) -> None:
    port = int(toy.url.rsplit(":", 1)[1])
    request = b"POST /items HTTP/1.1\r\nhost: x\r\n" + framing

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        response = b"".join(iter(lambda: sock.recv(65536), b"")).decode()  # until it closes

    assert response.startswith("HTTP/1.1 400")
    assert response.endswith('{"message":"Bad Request"}')


def test_an_unreadable_request_line_answers_400_as_json(toy: RunningDevstack) -> None:
    port = int(toy.url.rsplit(":", 1)[1])

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        response = b"".join(iter(lambda: sock.recv(65536), b"")).decode()

    assert response.startswith("HTTP/1.1 400")
    assert response.endswith('{"message":"Bad Request"}')


# --------------------------------------------------------------------------------- event shape


def test_event_is_payload_format_2_as_api_gateway_sends_it(client: ApiClient) -> None:
    headers = [
        ("Authorization", "allow ws-1"),
        ("X-Custom", "one"),
        ("x-custom", "two"),
        ("Cookie", "c1=v1; c2=v2"),
        ("User-Agent", "toy-test/1.0"),
        ("Content-Type", "application/json"),
    ]

    status, response_headers, body = client.request(
        "POST", "/items?b=2&a=1&a=3&empty", body=b'{"name": "x"}', headers=headers
    )

    assert status == 200
    event, context = body["event"], body["context"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items"
    assert event["rawPath"] == "/items"
    assert event["rawQueryString"] == "b=2&a=1&a=3&empty"
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2", "empty": ""}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"]["x-custom"] == "one,two"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["headers"]["x-amzn-trace-id"].startswith("Root=1-")
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["body"] == '{"name": "x"}'
    assert event["isBase64Encoded"] is False
    request_context = event["requestContext"]
    assert request_context["http"] == {
        "method": "POST",
        "path": "/items",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "toy-test/1.0",
    }
    assert request_context["stage"] == "$default"
    assert request_context["routeKey"] == "POST /items"
    assert request_context["accountId"] == "123456789012"
    assert isinstance(request_context["timeEpoch"], int)
    assert request_context["requestId"] == response_headers["apigw-requestid"]
    assert request_context["authorizer"] == {"lambda": {"workspace_id": "ws-1", "tier": 2, "admin": False}}
    assert context["function_name"] == "parley-EchoFunction"
    assert context["memory_limit_in_mb"] == "256"
    assert 0 < context["remaining_ms"] <= 7000


def test_binary_body_arrives_base64_encoded(client: ApiClient) -> None:
    payload = bytes(range(256))

    event = echoed(
        client, "POST", "/items", body=payload, headers={**ALLOW, "content-type": "application/octet-stream"}
    )

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_request_without_body_has_no_body_key(client: ApiClient) -> None:
    event = echoed(client, "GET", "/items/1", headers=ALLOW)

    assert "body" not in event
    assert "cookies" not in event
    assert "queryStringParameters" not in event
    assert event["isBase64Encoded"] is False


def test_handlers_are_loaded_by_file_under_unique_module_names(client: ApiClient) -> None:
    status, _, body = client.get("/items/special")

    assert status == 200
    assert body["module"].startswith("parley_fn.EchoFunction")  # _<n> in further environments


# ---------------------------------------------------------------------------------- authorizer


@pytest.mark.parametrize(
    ("authorization", "status", "message"),
    [
        (None, 401, "Unauthorized"),
        ("nonsense", 401, "Unauthorized"),
        ("deny", 403, "Forbidden"),
        ("crash", 500, "Internal Server Error"),
        ("malformed", 500, "Internal Server Error"),
    ],
)
def test_authorizer_decides_before_the_handler_runs(
    client: ApiClient, authorization: str | None, status: int, message: str
) -> None:
    headers = {"authorization": authorization} if authorization else {}

    result = client.get("/items/1", headers=headers)

    assert (result.status, result.json) == (status, {"message": message})


# ----------------------------------------------------------------------------------- responses


def test_handler_exception_answers_500_internal_server_error(client: ApiClient) -> None:
    assert client.get("/responses/raise")[::2] == (500, {"message": "Internal Server Error"})


def test_malformed_handler_response_answers_500(client: ApiClient) -> None:
    assert client.get("/responses/malformed")[::2] == (500, {"message": "Internal Server Error"})


def test_return_value_without_status_code_becomes_a_200_json_body(client: ApiClient) -> None:
    status, headers, body = client.get("/responses/plain")

    assert (status, body) == (200, {"answer": 42})
    assert headers["content-type"] == "application/json"


def test_status_headers_and_body_come_from_the_handler(client: ApiClient) -> None:
    status, headers, body = client.get("/responses/teapot")

    assert (status, body) == (418, "short and stout")
    assert headers["content-type"] == "text/plain"
    assert headers["apigw-requestid"]


def test_base64_response_is_decoded_to_bytes(client: ApiClient) -> None:
    status, _, raw = client.raw("GET", "/responses/binary")

    assert (status, raw) == (200, b"\x00\x01\xff")


def test_response_cookies_become_set_cookie_headers(client: ApiClient) -> None:
    status, headers, _ = client.raw("GET", "/responses/cookies")

    assert status == 204
    assert headers["set-cookie"].split("\n") == ["a=1; Path=/", "b=2; HttpOnly"]


def test_body_over_10_mb_answers_413(toy: RunningDevstack) -> None:
    port = int(toy.url.rsplit(":", 1)[1])
    request = b"POST /items HTTP/1.1\r\nhost: x\r\ncontent-length: 10485761\r\n\r\n"

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)  # the body never comes: the gateway must answer from the length alone
        response = b"".join(iter(lambda: sock.recv(65536), b"")).decode()  # until it closes

    assert response.startswith("HTTP/1.1 413")
    assert response.endswith('{"message":"Request Entity Too Large"}')


def test_connections_are_kept_alive(client: ApiClient, toy: RunningDevstack) -> None:
    import http.client

    connection = http.client.HTTPConnection(client.host, client.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", READY_PATH)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert not response.will_close
    finally:
        connection.close()


# --------------------------------------------------------------------------------- environment


def test_environment_is_resolved_from_the_template_to_local_resources(
    client: ApiClient, toy: RunningDevstack
) -> None:
    status, _, env = client.get("/tools/environment")

    assert status == 200
    assert env["TOY_TABLE"] == "parley-toy-records"  # TableName: !Sub "${AWS::StackName}-toy-records"
    assert env["TOY_WORK_QUEUE_URL"] == f"{toy.aws_endpoint}/123456789012/parley-WorkQueue"
    assert env["TOY_ORDERED_QUEUE_URL"].endswith("/parley-OrderedQueue.fifo")
    assert env["TOY_BUCKET"] == "parley-bucket"
    assert env["TOY_BUS_ARN"] == "arn:aws:events:us-east-1:123456789012:event-bus/toy-bus"
    assert env["TOY_GREETING"] == "hello from parley in us-east-1"
    assert env["AWS_ENDPOINT_URL"] == toy.aws_endpoint
    assert env["AWS_REGION"] == "us-east-1"


@pytest.mark.parametrize(("fail", "written"), [(False, True), (True, False)])
def test_dynamodb_transaction_is_all_or_nothing(client: ApiClient, fail: bool, written: bool) -> None:
    key = uuid.uuid4().hex

    status, _, result = client.post("/tools/transactions", json={"fail": fail, "key": key})

    assert status == 200
    assert result == {"cancelled": fail, "written": written}


# ----------------------------------------------------------------------------------------- SQS


def test_only_failed_records_are_redelivered_and_an_always_failing_one_reaches_the_dlq(
    client: ApiClient,
) -> None:
    run = uuid.uuid4().hex[:8]
    good, bad = [f"ok-{run}-1", f"ok-{run}-2"], f"fail-{run}"

    assert client.post("/tools/queues/work", json={"bodies": [good[0], bad, good[1]]}).status == 202

    eventually(lambda: [m for m in client.get("/tools/dead-letters").json if m["body"] == bad])
    attempts = [r["body"] for r in records(client, "attempt") if run in r["body"]]
    assert sorted(attempts) == sorted([*good, bad, bad, bad])
    done = [r["body"] for r in records(client, "work") if run in r["body"]]
    assert sorted(done) == good


def test_a_batch_whose_function_raises_is_redelivered_whole(client: ApiClient) -> None:
    assert client.post("/tools/queues/work", json={"bodies": ["crash-once"]}).status == 202

    done = eventually(lambda: [r for r in records(client, "work") if r["body"] == "crash-once"])

    assert done[0]["record"]["attributes"]["ApproximateReceiveCount"] == "2"


def test_sqs_record_has_lambdas_shape(client: ApiClient) -> None:
    body = f"ok-shape-{uuid.uuid4().hex[:8]}"
    client.post("/tools/queues/work", json={"bodies": [body]})

    record = eventually(lambda: [r["record"] for r in records(client, "work") if r["body"] == body])[0]

    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:parley-WorkQueue"
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
    assert record["messageAttributes"] == {
        "origin": {
            "stringValue": "tools",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    assert {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    } <= set(record["attributes"])
    assert set(record) >= {"messageId", "receiptHandle", "body", "md5OfMessageAttributes"}


def test_fifo_group_is_processed_in_order(client: ApiClient) -> None:
    group = f"group-{uuid.uuid4().hex[:8]}"
    bodies = [f"{group}-{n}" for n in range(7)]

    client.post("/tools/queues/ordered", json={"bodies": bodies, "group": group})

    def processed() -> list[str]:
        seen = [r["body"] for r in records(client, "ordered") if r["group"] == group]
        return seen if len(seen) == len(bodies) else []

    assert eventually(processed) == bodies


# ------------------------------------------------------------------------------------ schedules


def test_schedule_runs_at_its_scaled_rate_with_a_scheduled_event(client: ApiClient) -> None:
    def two_ticks() -> list[dict[str, Any]]:
        ticks = records(client, "tick")
        return ticks if len(ticks) >= 2 else []

    ticks = eventually(two_ticks)

    assert ticks[0]["detail-type"] == "Scheduled Event"
    assert ticks[0]["source"] == "aws.events"
    assert ticks[0]["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/parley-TickFunctionTick"]


# -------------------------------------------------------------------------------------- lifecycle


def test_sigterm_to_the_process_group_stops_everything_quickly(tmp_path: Path) -> None:
    stack = start_devstack(tmp_path / "devstack.log", TOY_TEMPLATE, ready_path=READY_PATH)
    ports = [int(url.rsplit(":", 1)[1]) for url in (stack.url, stack.aws_endpoint)]

    started = time.monotonic()
    exit_code = stack.stop(signal.SIGTERM)

    assert exit_code == 0, stack.log()
    assert time.monotonic() - started < 2
    for port in ports:
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
