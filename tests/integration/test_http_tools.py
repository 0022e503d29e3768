"""The HTTP tool executor (parley.tools.http) against a real HTTP server on 127.0.0.1.

Private networks are allowed in these tests (the server is on loopback), except where the guard is
what is tested. Retries are told to sleep through a recorder, so no test waits on backoff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from parley.signing import new_secret
from parley.tools.base import MAX_OUTPUT_CHARS, ToolOutput
from parley.tools.http import HttpTarget, call

MESSAGE_ID = "call_01J9ZX4TOOLCALL"
API_KEY = "sk-live-tool-server-key-9f8e7d"


@dataclass
class Seen:
    """What the tool's server received, request by request."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def record(self, request: Request) -> None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "args": dict(request.args),
                "headers": {name.lower(): value for name, value in request.headers.items()},
                "body": request.get_data(),
            }
        )


@pytest.fixture(scope="module")
def running_server() -> Iterator[HTTPServer]:
    # One server for the module: stopping one waits for werkzeug's half-second poll.
    tool_server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    tool_server.start()
    try:
        yield tool_server
    finally:
        tool_server.stop()


@pytest.fixture
def server(running_server: HTTPServer) -> Iterator[HTTPServer]:
    """The tool's server, with no handlers yet: each test says how it answers."""
    running_server.clear()
    yield running_server
    running_server.clear()


@pytest.fixture
def secret() -> str:
    return new_secret()


def answering(seen: Seen, *responses: Response) -> Any:
    """A handler that records each request and gives the next response (the last one repeats)."""

    def handler(request: Request) -> Response:
        seen.record(request)
        return responses[min(len(seen.requests), len(responses)) - 1]

    return handler


def invoke(
    server: HTTPServer, secret: str, path: str = "/tool", **options: Any
) -> tuple[ToolOutput, list[float]]:
    sleeps: list[float] = []
    target = HttpTarget(
        url=options.pop("url", server.url_for(path)),
        method=options.pop("method", "POST"),
        headers=options.pop("headers", {"authorization": f"Bearer {API_KEY}"}),
        timeout_s=options.pop("timeout_s", 5.0),
    )
    arguments = options.pop("arguments", {"city": "Paris", "days": 3})
    output = call(
        target,
        arguments,
        message_id=MESSAGE_ID,
        signing_secret=secret,
        allow_private=options.pop("allow_private", True),
        sleep=sleeps.append,
        **options,
    )
    return output, sleeps


def expected_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    # Standard Webhooks, recomputed here rather than through parley.signing: the receiver's view.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


# -- a successful call ----------------------------------------------------------------------------
def test_a_call_posts_the_arguments_as_json_signed_as_standard_webhooks(
    server: HTTPServer, secret: str
) -> None:
    seen = Seen()
    server.expect_request("/tool", method="POST").respond_with_handler(
        answering(seen, json_response({"temperature_c": 21}))
    )

    output, _ = invoke(server, secret)

    assert output.is_error is False
    assert json.loads(output.output) == {"temperature_c": 21}
    assert output.detail["status"] == 200
    assert output.detail["attempts"] == 1
    assert isinstance(output.detail["duration_ms"], int)
    [request] = seen.requests
    assert json.loads(request["body"]) == {"city": "Paris", "days": 3}
    headers = request["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "Parley-Tools/1"
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["webhook-id"] == MESSAGE_ID
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"] == expected_signature(secret, headers, request["body"])
    assert headers["host"] == f"127.0.0.1:{server.port}"


def test_a_get_sends_the_arguments_as_query_parameters_and_no_body(server: HTTPServer, secret: str) -> None:
    seen = Seen()
    server.expect_request("/weather", method="GET").respond_with_handler(answering(seen, Response("sunny")))

    output, _ = invoke(
        server,
        secret,
        url=server.url_for("/weather") + "?units=metric",
        method="GET",
        arguments={"city": "São Paulo", "days": 3, "hourly": True, "tags": ["a", "b"]},
    )

    assert output.output == "sunny"
    [request] = seen.requests
    assert request["args"] == {
        "units": "metric",
        "city": "São Paulo",
        "days": "3",
        "hourly": "true",
        "tags": '["a","b"]',
    }
    assert request["body"] == b""
    assert "content-type" not in request["headers"]
    assert request["headers"]["webhook-signature"] == expected_signature(secret, request["headers"], b"")


def test_the_targets_headers_cannot_replace_the_signature_headers(server: HTTPServer, secret: str) -> None:
    seen = Seen()
    server.expect_request("/tool").respond_with_handler(answering(seen, Response("ok")))

    invoke(
        server,
        secret,
        headers={"webhook-id": "forged", "Webhook-Signature": "v1,forged", "x-api-key": "k123"},
    )

    headers = seen.requests[0]["headers"]
    assert headers["webhook-id"] == MESSAGE_ID
    assert headers["webhook-signature"] == expected_signature(secret, headers, seen.requests[0]["body"])
    assert headers["x-api-key"] == "k123"


def test_an_empty_success_body_is_described_to_the_model(server: HTTPServer, secret: str) -> None:
    server.expect_request("/tool").respond_with_data("", status=204)

    output, _ = invoke(server, secret)

    assert output.is_error is False
    assert output.output == "The tool answered 204 with an empty body."


# -- retries --------------------------------------------------------------------------------------
def test_a_503_is_retried_with_the_same_webhook_id_and_a_fresh_signature(
    server: HTTPServer, secret: str
) -> None:
    seen = Seen()
    server.expect_request("/tool").respond_with_handler(
        answering(seen, Response("busy", status=503), json_response({"ok": True}))
    )

    output, sleeps = invoke(server, secret)

    assert output.is_error is False
    assert json.loads(output.output) == {"ok": True}
    assert output.detail["attempts"] == 2
    assert len(seen.requests) == 2
    assert {request["headers"]["webhook-id"] for request in seen.requests} == {MESSAGE_ID}
    for request in seen.requests:
        assert request["headers"]["webhook-signature"] == expected_signature(
            secret, request["headers"], request["body"]
        )
    assert sleeps == [0.2]


def test_a_500_on_every_attempt_is_an_error_output_after_three_attempts(
    server: HTTPServer, secret: str
) -> None:
    seen = Seen()
    server.expect_request("/tool").respond_with_handler(
        answering(seen, Response("database down", status=500))
    )

    output, sleeps = invoke(server, secret)

    assert output.is_error is True
    assert output.output == "HTTP tool answered 500 after 3 attempts: database down"
    assert output.detail["status"] == 500
    assert output.detail["attempts"] == 3
    assert len(seen.requests) == 3
    assert sleeps == [0.2, 0.4]


def test_a_429_is_retried(server: HTTPServer, secret: str) -> None:
    seen = Seen()
    server.expect_request("/tool").respond_with_handler(
        answering(seen, Response("slow down", status=429, headers={"retry-after": "1"}), Response("done"))
    )

    output, sleeps = invoke(server, secret)

    assert output.output == "done"
    assert len(seen.requests) == 2
    assert sleeps == [1.0]  # Retry-After honoured, within the bound


def test_a_400_is_not_retried(server: HTTPServer, secret: str) -> None:
    seen = Seen()
    server.expect_request("/tool").respond_with_handler(
        answering(seen, json_response({"error": "city is required"}, status=400))
    )

    output, sleeps = invoke(server, secret)

    assert output.is_error is True
    assert output.output == 'HTTP tool answered 400: {"error": "city is required"}'
    assert output.detail["attempts"] == 1
    assert len(seen.requests) == 1
    assert sleeps == []


def test_a_server_slower_than_the_timeout_is_an_error_output(server: HTTPServer, secret: str) -> None:
    seen = Seen()

    def slow(request: Request) -> Response:
        seen.record(request)
        time.sleep(1.0)
        return Response("too late")

    server.expect_request("/tool").respond_with_handler(slow)
    started = time.monotonic()

    output, _ = invoke(server, secret, timeout_s=0.5, max_attempts=2)

    assert output.is_error is True
    assert output.output == "HTTP tool timed out after 0.5 s (2 attempts)."
    assert output.detail["status"] is None
    assert output.detail["attempts"] == 2
    assert len(seen.requests) == 2
    assert time.monotonic() - started < 2.0


def test_a_port_nobody_listens_on_is_an_error_output_after_the_attempts(secret: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Closed again: nothing listens there now.
    target = HttpTarget(url=f"http://127.0.0.1:{port}/tool", headers={"authorization": API_KEY})
    sleeps: list[float] = []

    output = call(
        target, {}, message_id=MESSAGE_ID, signing_secret=secret, allow_private=True, sleep=sleeps.append
    )

    assert output.is_error is True
    assert output.output.startswith("HTTP tool could not be reached (3 attempts): ")
    assert output.detail["attempts"] == 3
    assert API_KEY not in output.output


# -- redirects ------------------------------------------------------------------------------------
def test_a_redirect_to_the_metadata_address_is_refused(server: HTTPServer, secret: str) -> None:
    server.expect_request("/tool").respond_with_data(
        "", status=302, headers={"location": "http://169.254.169.254/latest/meta-data/iam/"}
    )

    output, _ = invoke(server, secret)

    assert output.is_error is True
    assert output.output.startswith(
        "The tool's redirect was refused: The tool's URL is refused: 169.254.169.254"
    )
    assert "link-local or metadata" in output.output


def test_a_307_redirect_is_followed_with_the_same_method_and_body(server: HTTPServer, secret: str) -> None:
    seen = Seen()
    server.expect_request("/old").respond_with_handler(
        answering(seen, Response("", status=307, headers={"location": "/new"}))
    )
    server.expect_request("/new", method="POST").respond_with_handler(answering(seen, Response("moved fine")))

    output, _ = invoke(server, secret, path="/old")

    assert output.output == "moved fine"
    assert output.detail["redirects"] == 1
    assert [(r["method"], r["path"]) for r in seen.requests] == [("POST", "/old"), ("POST", "/new")]
    assert json.loads(seen.requests[1]["body"]) == {"city": "Paris", "days": 3}
    assert seen.requests[1]["headers"]["authorization"] == f"Bearer {API_KEY}"  # same origin


def test_a_303_redirect_becomes_a_get_without_a_body(server: HTTPServer, secret: str) -> None:
    seen = Seen()
    server.expect_request("/submit").respond_with_handler(
        answering(seen, Response("", status=303, headers={"location": "/result?id=7"}))
    )
    server.expect_request("/result", method="GET").respond_with_handler(answering(seen, Response("result 7")))

    output, _ = invoke(server, secret, path="/submit")

    assert output.output == "result 7"
    assert [(r["method"], r["path"]) for r in seen.requests] == [("POST", "/submit"), ("GET", "/result")]
    assert seen.requests[1]["body"] == b""
    assert seen.requests[1]["args"] == {"id": "7"}


def test_a_redirect_to_another_origin_does_not_carry_the_targets_headers(
    server: HTTPServer, secret: str
) -> None:
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    try:
        seen = Seen()
        other.expect_request("/elsewhere").respond_with_handler(answering(seen, Response("other origin")))
        server.expect_request("/tool").respond_with_data(
            "", status=308, headers={"location": other.url_for("/elsewhere")}
        )

        output, _ = invoke(server, secret)
    finally:
        other.clear()
        other.stop()

    assert output.output == "other origin"
    [request] = seen.requests
    assert "authorization" not in request["headers"]
    assert request["headers"]["webhook-id"] == MESSAGE_ID


def test_more_than_three_redirects_are_not_followed(server: HTTPServer, secret: str) -> None:
    seen = Seen()
    server.expect_request("/loop").respond_with_handler(
        answering(seen, Response("", status=302, headers={"location": "/loop"}))
    )

    output, _ = invoke(server, secret, path="/loop")

    assert output.is_error is True
    assert output.output == "HTTP tool redirected more than 3 times; not followed."
    assert len(seen.requests) == 4  # the call and three redirects


# -- the response ---------------------------------------------------------------------------------
def test_a_response_over_the_limit_is_truncated(server: HTTPServer, secret: str) -> None:
    server.expect_request("/tool").respond_with_data("é" * (MAX_OUTPUT_CHARS + 50), content_type="text/plain")

    output, _ = invoke(server, secret)

    assert output.is_error is False
    assert output.output == "é" * MAX_OUTPUT_CHARS
    assert output.detail["truncated"] is True


def test_a_response_within_the_limit_is_not_marked_truncated(server: HTTPServer, secret: str) -> None:
    server.expect_request("/tool").respond_with_data("short")

    output, _ = invoke(server, secret)

    assert "truncated" not in output.detail


# -- secrets and the guard ------------------------------------------------------------------------
def test_header_values_never_appear_in_an_error_output(server: HTTPServer, secret: str) -> None:
    def echo(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        return Response(f"bad credentials: {header} (key {header.removeprefix('Bearer ')})", status=401)

    server.expect_request("/tool").respond_with_handler(echo)

    output, _ = invoke(server, secret)

    assert output.is_error is True
    assert output.output == "HTTP tool answered 401: bad credentials: *** (key ***)"
    assert API_KEY not in json.dumps(output.detail)


def test_header_values_never_appear_in_a_timeout_or_refusal(server: HTTPServer, secret: str) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(0.6)
        return Response("")

    server.expect_request("/tool").respond_with_handler(slow)

    outputs = [
        invoke(server, secret, timeout_s=0.3, max_attempts=1)[0],
        invoke(server, secret, allow_private=False)[0],
        invoke(server, secret, url=f"http://user:{API_KEY}@127.0.0.1:{server.port}/tool")[0],
    ]

    for output in outputs:
        assert output.is_error is True
        assert API_KEY not in output.output
        assert API_KEY not in json.dumps(output.detail)


def test_loopback_is_refused_when_private_networks_are_not_allowed(server: HTTPServer, secret: str) -> None:
    seen = Seen()
    server.expect_request("/tool").respond_with_handler(answering(seen, Response("should not be reached")))

    output, _ = invoke(server, secret, allow_private=False)

    assert output.is_error is True
    assert output.output == "The tool's URL is refused: 127.0.0.1 is a loopback address."
    assert output.detail["attempts"] == 0
    assert seen.requests == []


# -- https: pinned to the checked address, verified against the hostname ---------------------------
def certificate_for(name: str, directory: Any) -> tuple[str, str]:
    """A self-signed certificate for ``name`` and its key, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_server(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    """An https server for ``tools.test`` on 127.0.0.1; the name resolves there only through the guard."""
    import ssl

    import parley.tools.http as http_tool

    cert, key = certificate_for("tools.test", tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=cert)
    monkeypatch.setattr(http_tool, "_tls_context", lambda: client_context)
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        # "tools.test" is in no DNS: a connection that reaches the server went to the pinned address.
        return real_getaddrinfo("127.0.0.1" if host == "tools.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    tls = HTTPServer(host="127.0.0.1", port=0, ssl_context=server_context)
    tls.start()
    try:
        yield tls
    finally:
        tls.clear()
        tls.stop()


def test_https_connects_to_the_checked_address_and_verifies_the_hostname(
    tls_server: HTTPServer, secret: str
) -> None:
    seen = Seen()
    tls_server.expect_request("/tool").respond_with_handler(answering(seen, Response("over tls")))

    output, _ = invoke(tls_server, secret, url=f"https://tools.test:{tls_server.port}/tool")

    assert output.is_error is False
    assert output.output == "over tls"
    assert seen.requests[0]["headers"]["host"] == f"tools.test:{tls_server.port}"


def test_https_with_a_certificate_for_another_name_is_refused_and_not_retried(
    tls_server: HTTPServer, secret: str
) -> None:
    seen = Seen()
    tls_server.expect_request("/tool").respond_with_handler(answering(seen, Response("should not be read")))

    output, _ = invoke(tls_server, secret, url=f"https://127.0.0.1:{tls_server.port}/tool")

    assert output.is_error is True
    assert output.output.startswith(
        "HTTP tool could not be reached (1 attempt): its TLS certificate was refused"
    )
    assert seen.requests == []
