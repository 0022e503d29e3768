"""API Gateway (HTTP API), locally: every HttpApi route of the template, through its Lambda authorizer.

``Gateway`` is the protocol-free part (route selection, authorizer, payload-2.0 event, response
mapping); ``GatewayServer`` puts it on a threaded HTTP/1.1 server with keep-alive.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from devstack.events import authorizer_event, http_event, merge_headers, new_request_id, query_parameters
from devstack.runtime import LambdaFunction
from devstack.template import HttpRoute, Intrinsic, Template

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
PROXY_SUFFIX = "+}"


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str
    raw_query_string: str
    headers: Sequence[tuple[str, str]]
    body: bytes | None
    source_ip: str
    request_id: str = field(default_factory=new_request_id)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    cookies: list[str] = field(default_factory=list)


def message_response(status: int, message: str) -> Response:
    """API Gateway's own error answers: ``{"message": "..."}``."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return Response(status, {"content-type": "application/json"}, body)


NOT_FOUND = (404, "Not Found")
UNAUTHORIZED = (401, "Unauthorized")
FORBIDDEN = (403, "Forbidden")
INTERNAL_ERROR = (500, "Internal Server Error")
TOO_LARGE = (413, "Request Entity Too Large")
BAD_REQUEST = (400, "Bad Request")


# ------------------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    function: LambdaFunction
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    function: LambdaFunction
    segments: tuple[str, ...]

    def match(self, parts: Sequence[str]) -> dict[str, str] | None:
        parameters: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.endswith(PROXY_SUFFIX):  # greedy: one or more remaining segments
                rest = parts[index:]
                if not rest or not "".join(rest):
                    return None
                parameters[segment[1:-2]] = unquote("/".join(rest))
                return parameters
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if not parts[index]:
                    return None
                parameters[segment[1:-1]] = unquote(parts[index])
            elif unquote(parts[index]) != segment:
                return None
        return parameters if len(parts) == len(self.segments) else None

    def specificity(self) -> tuple[tuple[int, ...], int]:
        """Lower is more specific: literal < {param} < {proxy+}, leftmost first; then method < ANY."""
        ranks = tuple(
            2 if segment.endswith(PROXY_SUFFIX) else 1 if segment.startswith("{") else 0
            for segment in self.segments
        )
        return ranks, 1 if self.route.method == "ANY" else 0


class Router:
    """Picks the route API Gateway would: the most specific path, then an exact method over ANY."""

    def __init__(self, routes: Iterable[tuple[HttpRoute, LambdaFunction]]) -> None:
        self._routes: list[_CompiledRoute] = []
        self._default: RouteMatch | None = None
        for route, function in routes:
            if route.path == "$default":
                self._default = RouteMatch(route, function, {})
                continue
            compiled = _CompiledRoute(route, function, tuple(route.path.split("/")[1:]))
            self._routes.append(compiled)
        # Sorted once, so the first match is the most specific.
        self._routes.sort(key=_CompiledRoute.specificity)

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        parts = raw_path.split("/")[1:]
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            parameters = compiled.match(parts)
            if parameters is not None:
                return RouteMatch(compiled.route, compiled.function, parameters)
        return self._default


# ---------------------------------------------------------------------------------- authorizer


class AuthorizerError(Exception):
    """The authorizer answered something API Gateway cannot use (it then answers 500)."""


@dataclass
class Authorizer:
    """An HTTP API Lambda authorizer (payload format 2.0, simple or IAM-policy responses)."""

    name: str
    function: LambdaFunction
    simple_responses: bool
    identity_sources: tuple[str, ...] = ()  # "$request.header.Authorization", "$request.querystring.k"
    ttl_seconds: int = 0
    _cache: dict[tuple[str, ...], tuple[float, dict[str, Any] | None]] = field(default_factory=dict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)

    def authorize(self, request: Request, match: RouteMatch) -> dict[str, Any] | Response:
        """The authorizer's context for the handler, or the response API Gateway answers instead."""
        headers, _ = merge_headers(request.headers)
        identity = self._identity(headers, query_parameters(request.raw_query_string))
        if identity is None:
            return message_response(*UNAUTHORIZED)  # a configured identity source is missing
        cached = self._cached(identity)
        if cached is not None:
            return cached[1] if cached[1] is not None else message_response(*FORBIDDEN)
        event = authorizer_event(
            match.route,
            request.method,
            request.raw_path,
            match.path_parameters,
            request.raw_query_string,
            request.headers,
            identity_source=identity,
            source_ip=request.source_ip,
            request_id=request.request_id,
        )
        try:
            context = self._decide(self.function.invoke(event))
        except AuthorizerError:
            traceback.print_exc(file=sys.stderr)
            return message_response(*INTERNAL_ERROR)
        except Exception as exc:
            if str(exc) == "Unauthorized":  # API Gateway's contract for "no or bad credentials"
                return message_response(*UNAUTHORIZED)
            traceback.print_exc(file=sys.stderr)
            return message_response(*INTERNAL_ERROR)
        self._remember(identity, context)
        return context if context is not None else message_response(*FORBIDDEN)

    def _decide(self, result: Any) -> dict[str, Any] | None:
        """The context when the request is allowed, None when it is denied."""
        if not isinstance(result, dict):
            raise AuthorizerError(f"{self.name} returned {type(result).__name__}, not an object")
        context = result.get("context") or {}
        if not isinstance(context, dict):
            raise AuthorizerError(f"{self.name} returned a context that is not an object")
        if self.simple_responses:
            allowed = result.get("isAuthorized")
            if not isinstance(allowed, bool):
                raise AuthorizerError(f"{self.name} returned no boolean isAuthorized")
        else:
            allowed = _policy_allows(result.get("policyDocument"))
        return context if allowed else None

    def _identity(self, headers: Mapping[str, str], query: Mapping[str, str]) -> list[str] | None:
        values = []
        for source in self.identity_sources:
            kind, _, name = source.removeprefix("$request.").partition(".")
            value = headers.get(name.lower()) if kind == "header" else query.get(name)
            if not value:
                return None
            values.append(value)
        return values

    def _cached(self, identity: list[str]) -> tuple[float, dict[str, Any] | None] | None:
        if not (self.ttl_seconds and identity):
            return None
        with self._cache_lock:
            entry = self._cache.get(tuple(identity))
        return entry if entry and entry[0] > time.monotonic() else None

    def _remember(self, identity: list[str], context: dict[str, Any] | None) -> None:
        if self.ttl_seconds and identity:
            with self._cache_lock:
                self._cache[tuple(identity)] = (time.monotonic() + self.ttl_seconds, context)


def _policy_allows(policy: Any) -> bool:
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        raise AuthorizerError("the authorizer returned no policyDocument.Statement")
    effects = {str(statement.get("Effect", "")).lower() for statement in policy["Statement"]}
    return "allow" in effects and "deny" not in effects


def authorizers_from_template(
    template: Template, functions: Mapping[str, LambdaFunction]
) -> dict[str, Authorizer]:
    """The HttpApi's Lambda authorizers, each bound to the function its FunctionArn names."""
    authorizers: dict[str, Authorizer] = {}
    for name, config in (template.http_api_auth().get("Authorizers") or {}).items():
        function_arn = config.get("FunctionArn")
        if not isinstance(function_arn, Intrinsic) or function_arn.name != "Fn::GetAtt":
            raise ValueError(f"authorizer {name}: the devstack needs FunctionArn: !GetAtt <Function>.Arn")
        if str(config.get("AuthorizerPayloadFormatVersion", "2.0")) != "2.0":
            raise ValueError(f"authorizer {name}: the devstack supports payload format 2.0 only")
        identity = config.get("Identity") or {}
        sources = [f"$request.header.{header}" for header in identity.get("Headers") or []]
        sources += [f"$request.querystring.{key}" for key in identity.get("QueryStrings") or []]
        authorizers[name] = Authorizer(
            name,
            functions[str(function_arn.value[0])],
            simple_responses=bool(config.get("EnableSimpleResponses", False)),
            identity_sources=tuple(sources),
            ttl_seconds=int(identity.get("ReauthorizeEvery", 0) or 0),
        )
    return authorizers


# ------------------------------------------------------------------------------------- gateway


class Gateway:
    """Request in, response out, as API Gateway maps them to and from a Lambda proxy integration."""

    def __init__(self, template: Template, functions: Mapping[str, LambdaFunction]) -> None:
        self.router = Router(
            (route, function) for function in functions.values() for route in function.spec.routes
        )
        self.authorizers = authorizers_from_template(template, functions)
        for function in functions.values():
            for route in function.spec.routes:
                if route.authorizer is not None and route.authorizer not in self.authorizers:
                    raise ValueError(f"{route.route_key} names an unknown authorizer {route.authorizer}")

    def handle(self, request: Request) -> Response:
        match = self.router.match(request.method, request.raw_path)
        if match is None:
            return message_response(*NOT_FOUND)
        context = None
        if match.route.authorizer is not None:
            decision = self.authorizers[match.route.authorizer].authorize(request, match)
            if isinstance(decision, Response):
                return decision
            context = decision
        event = http_event(
            match.route,
            request.method,
            request.raw_path,
            match.path_parameters,
            request.raw_query_string,
            request.headers,
            request.body,
            authorizer_context=context,
            source_ip=request.source_ip,
            request_id=request.request_id,
        )
        try:
            return lambda_response(match.function.invoke(event))
        except Exception:
            print(f"devstack: {match.function.spec.logical_id} failed:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return message_response(*INTERNAL_ERROR)


def lambda_response(result: Any) -> Response:
    """Map a handler's return value as payload format 2.0 does (raises ValueError when malformed)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Anything else is taken as the JSON body of a 200.
        return Response(200, {"content-type": "application/json"}, json.dumps(result).encode())
    status = int(result["statusCode"])
    if not 100 <= status <= 599:
        raise ValueError(f"statusCode {status} is not an HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body must be a string")
    try:
        payload = base64.b64decode(body or "", validate=True) if result.get("isBase64Encoded") else None
    except binascii.Error as exc:
        raise ValueError("isBase64Encoded but the body is not base64") from exc
    headers = {str(name).lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    cookies = [str(cookie) for cookie in result.get("cookies") or []]
    return Response(status, headers, payload if payload is not None else (body or "").encode(), cookies)


# --------------------------------------------------------------------------------- HTTP server


class _TooLarge(Exception):
    pass


class _Malformed(Exception):
    """The request's framing (Content-Length, chunk sizes) cannot be read."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway
    # Headers and body go out in two writes; with Nagle the body waits for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: GatewayServer

    def do_any(self) -> None:
        started = time.perf_counter()
        raw_path, _, raw_query = self.path.partition("?")
        try:
            body = self._read_body()
        except (_TooLarge, _Malformed) as exc:
            self.close_connection = True  # the body was not read: the connection cannot be reused
            refusal = TOO_LARGE if isinstance(exc, _TooLarge) else BAD_REQUEST
            response, request_id = message_response(*refusal), new_request_id()
        else:
            request = Request(
                self.command, raw_path, raw_query, self._forwarded_headers(), body, self.client_address[0]
            )
            request_id = request.request_id
            try:
                response = self.server.gateway.handle(request)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                response = message_response(*INTERNAL_ERROR)
        self._send(response, request_id)
        if self.server.access_log:
            elapsed = (time.perf_counter() - started) * 1000
            sys.stderr.write(f"{self.command} {self.path} {response.status} {elapsed:.1f} ms\n")

    def __getattr__(self, name: str) -> Any:
        """Every method is routed (the base class answers one it has no ``do_<METHOD>`` for with an
        HTML 501): API Gateway answers a method no route takes with its JSON 404, as for a path."""
        if name.startswith("do_"):
            return self.do_any
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own refusals (an unreadable request line, too many headers) as API Gateway
        words its errors: JSON ``{"message": ...}``, not the base class's HTML page."""
        self.close_connection = True  # what was not parsed cannot be skipped: the connection is done
        if not self.request_version.startswith("HTTP/1."):
            # An unreadable request line leaves HTTP/0.9, which has no status line: answer in 1.1.
            self.request_version = "HTTP/1.1"
        phrase = self.responses.get(code, ("Error", ""))[0]
        self._send(message_response(code, phrase), new_request_id())

    def _forwarded_headers(self) -> list[tuple[str, str]]:
        """The request's headers plus those API Gateway adds before invoking the integration."""
        headers = [(name, value) for name, value in self.headers.items() if name.lower() != "x-forwarded-for"]
        forwarded_for = ",".join([*self.headers.get_all("x-forwarded-for", []), self.client_address[0]])
        trace = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        return [
            *headers,
            ("x-forwarded-for", forwarded_for),
            ("x-forwarded-port", str(self.server.port)),
            ("x-forwarded-proto", "http"),
            ("x-amzn-trace-id", trace),
        ]

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        declared = (self.headers.get("content-length") or "0").strip()
        if not (declared.isascii() and declared.isdigit()):  # RFC 9110: 1*DIGIT, nothing else
            raise _Malformed
        length = int(declared)
        if length > MAX_BODY_BYTES:
            raise _TooLarge
        return self.rfile.read(length) if length else None

    def _read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        while size := self._chunk_size():
            total += size
            if total > MAX_BODY_BYTES:
                raise _TooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline().strip():  # trailers
            pass
        return b"".join(chunks) or None

    def _chunk_size(self) -> int:
        declared = self.rfile.readline().split(b";", 1)[0].strip() or b"0"
        if not all(char in b"0123456789abcdefABCDEF" for char in declared):  # RFC 9112: 1*HEXDIG
            raise _Malformed
        return int(declared, 16)

    def _send(self, response: Response, request_id: str) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        for cookie in response.cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("apigw-requestid", request_id)
        self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_response(self, code: int, message: str | None = None) -> None:
        """Like the base class, minus its Server header (API Gateway sends none)."""
        self.send_response_only(code, message)
        self.send_header("date", self.date_time_string())

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the access log above is one line per request, and optional."""


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True  # an idle keep-alive connection must not hold up shutdown
    request_queue_size = 128

    def __init__(self, port: int, gateway: Gateway, access_log: bool = False) -> None:
        self.gateway = gateway
        self.access_log = access_log
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        thread.start()
        return thread
