"""The HTTP tool: the model's arguments sent to the tool's URL, the response body handed back as output.

Why it looks the way it does:

* **SSRF.** The URL is the workspace's, the request leaves from inside Parley. Every URL - the first
  and each redirect's ``Location`` - passes ``network.check_target`` before anything is sent, and a
  refusal is an error output for the model, not an exception for the turn.
* **Pinning.** The connection is made to the address the guard checked, never to the hostname again:
  a second DNS lookup could answer with 169.254.169.254 (rebinding). TLS still verifies the certificate
  against the hostname (SNI and ``check_hostname``), and plain HTTP sends it as ``Host``.
* **Signature.** Requests are signed as Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``, with the agent's tool signing secret), so a tool's server can tell that a call
  comes from Parley and was not replayed late. For GET and DELETE, whose arguments travel as query
  parameters, the signed body is empty.
* **Idempotency.** ``webhook-id`` is the caller's ``message_id``, the same on every retry here and on
  every redelivery of the turn, so a server can drop a call it already ran.
* **Bounded.** At most ``max_attempts`` attempts (5xx, 429, timeouts, connection errors), short
  backoff, each attempt within ``timeout_s``; at most 3 redirects; a bounded read of the body.
* **Secrets.** Header values are API keys: no output, error or detail carries them (an error body that
  echoes one has it masked).

Standard library only (``http.client``, ``ssl``): the layer carries no HTTP client, and cold start counts.
"""

from __future__ import annotations

import functools
import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from socket import create_connection
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from parley import signing
from parley.tools import network
from parley.tools.base import MAX_OUTPUT_CHARS, ToolOutput, ToolRefused

USER_AGENT = "Parley-Tools/1"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
MAX_TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 3
# Characters of an error response shown to the model: enough for a message, not a page of HTML.
ERROR_SNIPPET_CHARS = 500
# UTF-8 takes at most 4 bytes a character: this many bytes always hold MAX_OUTPUT_CHARS characters.
MAX_READ_BYTES = MAX_OUTPUT_CHARS * 4
_BACKOFF_SECONDS = 0.2
_MAX_BACKOFF_SECONDS = 2.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Set by Parley; a target's own headers never replace them.
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "webhook-id", "webhook-timestamp"}
    | {"webhook-signature"}
)
# Shorter values are not masked in error text: "1" or "no" would blot out half a message.
_MIN_MASKED_LENGTH = 4


@dataclass(frozen=True)
class HttpTarget:
    url: str
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0


def call(
    target: HttpTarget,
    arguments: dict[str, Any],
    *,
    message_id: str,
    signing_secret: str,
    allow_private: bool | None = None,
    max_attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> ToolOutput:
    """Call an HTTP tool with the model's arguments; every failure becomes an error output."""
    started = time.monotonic()
    method = target.method.upper()
    timeout = min(max(target.timeout_s, 0.001), MAX_TIMEOUT_SECONDS)
    attempts_allowed = max(1, max_attempts)
    secrets = _secrets_of(target.headers)

    def output(text: str, *, error: bool, status: int | None, attempts: int, **extra: Any) -> ToolOutput:
        detail: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "duration_ms": round((time.monotonic() - started) * 1000),
            **extra,
        }
        return ToolOutput(_mask(text, secrets) if error else text, is_error=error, detail=detail)

    if method not in METHODS:
        return output(f"The tool's method {method!r} is not supported.", error=True, status=None, attempts=0)
    try:
        url, body = _request_of(target.url, method, arguments)
        first = network.check_target(url, allow_private=allow_private)
    except ToolRefused as exc:
        return output(exc.message, error=True, status=None, attempts=0)

    attempt = 0
    last: _Answer | _Failure | None = None
    while attempt < attempts_allowed:
        if attempt:
            sleep(_backoff(attempt, last))
        attempt += 1
        try:
            last = _follow(
                first, method, body, target.headers, message_id, signing_secret, timeout, allow_private
            )
        except ToolRefused as exc:
            return output(exc.message, error=True, status=None, attempts=attempt)
        if isinstance(last, _Answer) and not _retryable(last.status):
            break
        if isinstance(last, _Failure) and not last.retryable:
            break

    assert last is not None
    if isinstance(last, _Failure):
        if last.timed_out:
            text = f"HTTP tool timed out after {timeout:g} s ({_attempts(attempt)})."
        else:
            text = f"HTTP tool could not be reached ({_attempts(attempt)}): {last.reason}."
        return output(text, error=True, status=None, attempts=attempt)
    answer = last
    extra: dict[str, Any] = {"redirects": answer.redirects} if answer.redirects else {}
    if 200 <= answer.status < 300:
        text, truncated = _text(answer.body, MAX_OUTPUT_CHARS, answer.overflow)
        if truncated:
            extra["truncated"] = True
        if not text:
            text = f"The tool answered {answer.status} with an empty body."
        return output(text, error=False, status=answer.status, attempts=attempt, **extra)
    snippet, _ = _text(answer.body, ERROR_SNIPPET_CHARS, answer.overflow)
    snippet = " ".join(snippet.split())
    after = f" after {_attempts(attempt)}" if attempt > 1 else ""
    text = f"HTTP tool answered {answer.status}{after}" + (f": {snippet}" if snippet else ".")
    return output(text, error=True, status=answer.status, attempts=attempt, **extra)


# -- one attempt: a request and the redirects it leads to -----------------------------------------
@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    overflow: bool  # the body went on past what was read
    redirects: int = 0
    retry_after: float | None = None


@dataclass(frozen=True)
class _Failure:
    reason: str
    timed_out: bool = False
    retryable: bool = True


def _follow(
    checked: network.CheckedUrl,
    method: str,
    body: bytes,
    own_headers: Mapping[str, str],
    message_id: str,
    secret: str,
    timeout: float,
    allow_private: bool | None,
) -> _Answer | _Failure:
    """One attempt, redirects included, within ``timeout``; raises ToolRefused for a refused redirect."""
    deadline = time.monotonic() + timeout
    origin = _origin(checked)
    headers_to_send = own_headers
    for redirects in range(MAX_REDIRECTS + 1):
        result = _exchange(checked, method, body, headers_to_send, message_id, secret, deadline)
        if isinstance(result, _Failure):
            return result
        if result.status not in _REDIRECTS or not result.location:
            return _Answer(result.status, result.body, result.overflow, redirects, result.retry_after)
        if redirects == MAX_REDIRECTS:
            raise ToolRefused(f"HTTP tool redirected more than {MAX_REDIRECTS} times; not followed.")
        try:
            checked = network.check_target(urljoin(checked.url, result.location), allow_private=allow_private)
        except ToolRefused as exc:
            raise ToolRefused(f"The tool's redirect was refused: {exc.message}") from None
        if result.status in (301, 302, 303) and method != "GET":
            # What browsers do, and what RFC 9110 allows: the redirected request is a GET, bodiless.
            method, body = "GET", b""
        if _origin(checked) != origin:
            # The target's headers are its API keys for its own server: they do not follow elsewhere.
            headers_to_send = {}
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class _Response(_Answer):
    location: str | None = None


def _exchange(
    checked: network.CheckedUrl,
    method: str,
    body: bytes,
    own_headers: Mapping[str, str],
    message_id: str,
    secret: str,
    deadline: float,
) -> _Response | _Failure:
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **{name: value for name, value in own_headers.items() if name.lower() not in _RESERVED_HEADERS},
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.sign(secret, message_id, timestamp, body),
    }
    if not body:
        del headers["content-type"]
    last_error: OSError | None = None
    for address in checked.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _Failure("timed out", timed_out=True)
        connection = _connection(checked, address, remaining)
        try:
            connection.connect()
        except TimeoutError:
            connection.close()
            return _Failure("timed out", timed_out=True)
        except ssl.SSLCertVerificationError as exc:
            connection.close()
            return _Failure(f"its TLS certificate was refused ({exc.verify_message})", retryable=False)
        except OSError as exc:
            # A host with an IPv6 and an IPv4 address may be unreachable on one: try the next.
            connection.close()
            last_error = exc
            continue
        try:
            return _send(connection, checked, method, body, headers, deadline)
        finally:
            connection.close()
    return _Failure(_reason(last_error))


def _send(
    connection: http.client.HTTPConnection,
    checked: network.CheckedUrl,
    method: str,
    body: bytes,
    headers: Mapping[str, str],
    deadline: float,
) -> _Response | _Failure:
    try:
        _limit(connection, deadline)
        connection.request(method, checked.target, body=body if body else None, headers=dict(headers))
        _limit(connection, deadline)
        response = connection.getresponse()
        raw = bytearray()
        while len(raw) <= MAX_READ_BYTES:
            _limit(connection, deadline)
            chunk = response.read(min(65536, MAX_READ_BYTES + 1 - len(raw)))
            if not chunk:
                break
            raw += chunk
        overflow = len(raw) > MAX_READ_BYTES
        return _Response(
            status=response.status,
            body=bytes(raw[:MAX_READ_BYTES]),
            overflow=overflow,
            retry_after=_seconds(response.getheader("retry-after")),
            location=response.getheader("location"),
        )
    except TimeoutError:
        return _Failure("timed out", timed_out=True)
    except ValueError:
        # http.client refuses a header value with a line break; the value itself is a secret.
        return _Failure("one of the tool's headers is not a valid HTTP header", retryable=False)
    except http.client.HTTPException as exc:
        return _Failure(f"bad response ({type(exc).__name__})")
    except OSError as exc:
        return _Failure(_reason(exc))


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP to a checked address; ``host`` (the Host header) stays the URL's hostname."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        # Called as a plain function: tests/unit/test_aws.py reads any method call named like an AWS
        # operation (EventBridge has a CreateConnection) as one the trimmed models must keep.
        self.sock = create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTlsConnection(_PinnedConnection):
    """HTTPS to a checked address; the certificate is verified against the hostname."""

    default_port = 443  # so that Host carries no ":443"

    def connect(self) -> None:
        super().connect()
        self.sock = _tls_context().wrap_socket(self.sock, server_hostname=self.host)


def _connection(checked: network.CheckedUrl, address: str, timeout: float) -> http.client.HTTPConnection:
    kind = _PinnedTlsConnection if checked.scheme == "https" else _PinnedConnection
    return kind(checked.host, checked.port, address, timeout)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs milliseconds: once per container, and only if a tool uses https.
    return ssl.create_default_context()


def _limit(connection: http.client.HTTPConnection, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


# -- helpers --------------------------------------------------------------------------------------
def _request_of(url: str, method: str, arguments: Mapping[str, Any]) -> tuple[str, bytes]:
    """The URL and body of a call: arguments as a JSON body, or as query parameters for GET/DELETE."""
    if method in ("GET", "DELETE"):
        if not arguments:
            return url, b""
        parts = urlsplit(url)
        extra = urlencode([(str(name), _query_value(value)) for name, value in arguments.items()])
        query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit(parts._replace(query=query)), b""
    return url, json.dumps(arguments, separators=(",", ":"), ensure_ascii=False).encode()


def _query_value(value: Any) -> str:
    # A string goes as itself (?city=Paris); anything else as its JSON (?days=3, ?tags=["a","b"]).
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _origin(checked: network.CheckedUrl) -> tuple[str, str, int]:
    return checked.scheme, checked.host.lower(), checked.port


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _backoff(attempt: int, last: _Answer | _Failure | None) -> float:
    delay = min(_MAX_BACKOFF_SECONDS, _BACKOFF_SECONDS * 2 ** (attempt - 1))
    if isinstance(last, _Answer) and last.retry_after is not None:
        # A server's Retry-After is honoured as far as the bound: a turn does not wait minutes.
        delay = min(_MAX_BACKOFF_SECONDS, max(delay, last.retry_after))
    return delay


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _text(body: bytes, limit: int, overflow: bool) -> tuple[str, bool]:
    text = body.decode("utf-8", "replace")
    if len(text) > limit:
        return text[:limit], True
    return text, overflow


def _secrets_of(headers: Mapping[str, str]) -> list[str]:
    # "Bearer <key>" is masked whole, and the key alone too: a server may echo either.
    found = {value.strip() for value in headers.values()}
    found |= {part for value in headers.values() for part in value.split() if len(part) >= 8}
    return [value for value in found if len(value) >= _MIN_MASKED_LENGTH]


def _mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def _reason(exc: OSError | None) -> str:
    if exc is None:
        return "no address to connect to"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or type(exc).__name__})"
    return (exc.strerror or type(exc).__name__).lower().rstrip(".")
