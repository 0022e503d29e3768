"""API Gateway's WebSocket API, locally: the template's routes on a real WebSocket server, and the
``@connections`` management endpoint the functions post frames to.

The WebSocket API is plain CloudFormation (``AWS::ApiGatewayV2::*``): its routes, integrations,
route responses and REQUEST authorizer are read from the template, so nothing here repeats them.

* A connection's upgrade request goes through the ``$connect`` route's authorizer (IAM-policy
  answer; raising "Unauthorized" refuses with 401, a Deny with 403) and then ``$connect`` (a non-2xx
  status refuses the connection with it; a ``Sec-WebSocket-Protocol`` header picks the subprotocol).
* Each frame is routed by the API's RouteSelectionExpression (``$request.body.action``): a frame
  that is not JSON, or names no route, goes to ``$default``. A two-way route's answer (its ``body``)
  is sent back as a frame. The authorizer's context reaches every route of the connection.
* Closing the connection invokes ``$disconnect``.
* ``POST|GET|DELETE /@connections/{id}`` (moto has no such server: its in-process backend only keeps
  what was posted) sends a frame to a live connection, describes it, or closes it; an unknown or
  closed one answers 410 GoneException, as API Gateway does.

Frames a function posts are queued per connection and written by that connection's own thread, so a
slow client never holds up a worker; a client that falls too far behind is disconnected (1008).
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from devstack.events import new_request_id, query_parameters
from devstack.resources import ACCOUNT_ID, REGION
from devstack.runtime import LambdaFunction
from devstack.template import Intrinsic, Template

STAGE = "live"
API_ID = "local"
# API Gateway's limits: 128 KB per message (32 KB per frame), 2 hours per connection.
MAX_MESSAGE_BYTES = 128 * 1024
MAX_CONNECTION_SECONDS = 2 * 60 * 60
# Frames queued for a connection that does not read them; one more and it is disconnected.
MAX_QUEUED_FRAMES = 1000
_FUNCTION_IN_URI = re.compile(r"\$\{(\w+)\.Arn\}")
_STOP = object()


@dataclass
class StreamRoutes:
    """The WebSocket API of a template: route key -> function, which routes answer, the authorizer."""

    selection_key: str | None  # "action" for "$request.body.action"
    functions: dict[str, LambdaFunction]
    two_way: set[str]
    authorizer: LambdaFunction | None

    @classmethod
    def of(cls, template: Template, functions: Mapping[str, LambdaFunction]) -> StreamRoutes | None:
        apis = [
            name
            for name, props in template.resources_of_type("AWS::ApiGatewayV2::Api").items()
            if props.get("ProtocolType") == "WEBSOCKET"
        ]
        if not apis:
            return None
        if len(apis) > 1:
            raise ValueError(f"the devstack serves one WebSocket API; the template has {', '.join(apis)}")
        expression = str(template.resources[apis[0]]["Properties"].get("RouteSelectionExpression", ""))
        match = re.fullmatch(r"\$request\.body\.(\w+)", expression)
        integrations = template.resources_of_type("AWS::ApiGatewayV2::Integration")
        authorizers = template.resources_of_type("AWS::ApiGatewayV2::Authorizer")
        routes: dict[str, LambdaFunction] = {}
        two_way: set[str] = set()
        authorizer: LambdaFunction | None = None
        for props in template.resources_of_type("AWS::ApiGatewayV2::Route").values():
            key = str(props["RouteKey"])
            target = _sub_text(props.get("Target"))
            integration = integrations[target.removeprefix("integrations/${").removesuffix("}")]
            routes[key] = functions[_function_in(integration.get("IntegrationUri"))]
            if props.get("RouteResponseSelectionExpression"):
                two_way.add(key)
            if props.get("AuthorizationType") == "CUSTOM":
                if key != "$connect":
                    raise ValueError("API Gateway authorizes a WebSocket connection on $connect only")
                authorizer_id = props["AuthorizerId"]
                name = authorizer_id.value if isinstance(authorizer_id, Intrinsic) else str(authorizer_id)
                authorizer = functions[_function_in(authorizers[name].get("AuthorizerUri"))]
        return cls(match.group(1) if match else None, routes, two_way, authorizer)

    def route_for(self, body: str) -> str:
        if self.selection_key:
            try:
                frame = json.loads(body)
            except ValueError:
                frame = None
            if isinstance(frame, dict):
                key = frame.get(self.selection_key)
                if isinstance(key, str) and key in self.functions and not key.startswith("$"):
                    return key
        return "$default"


def _sub_text(value: Any) -> str:
    return str(value.value if isinstance(value, Intrinsic) else value)


def _function_in(uri: Any) -> str:
    found = _FUNCTION_IN_URI.search(_sub_text(uri))
    if not found:
        raise ValueError(
            f"the devstack needs an IntegrationUri/AuthorizerUri naming ${{Function.Arn}}: {uri!r}"
        )
    return found.group(1)


@dataclass
class _Client:
    connection: ServerConnection
    connection_id: str
    authorizer: dict[str, Any]
    connected_at: int
    source_ip: str
    user_agent: str
    last_active_at: float = field(default_factory=time.time)
    outbox: queue.Queue[Any] = field(default_factory=lambda: queue.Queue(MAX_QUEUED_FRAMES))


class StreamServer:
    """The WebSocket API on ``port`` and its management endpoint on ``management_port`` (0: any free)."""

    def __init__(self, port: int, management_port: int = 0) -> None:
        self._routes: StreamRoutes | None = None
        self._clients: dict[str, _Client] = {}
        # What $connect decided, from the upgrade request until the connection is served.
        self._admitted: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: Server = serve(
            self._serve_connection,
            "127.0.0.1",
            port,
            process_request=self._admit,
            select_subprotocol=self._subprotocol,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            server_header=None,
        )
        self.port = int(self._server.socket.getsockname()[1])
        self._management = _ManagementServer(management_port, self)
        self.management_port = int(self._management.server_address[1])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/{STAGE}"

    def environment(self) -> dict[str, str]:
        """Where the functions' settings point: clients connect here, workers post there."""
        return {
            "PARLEY_STREAM_URL": self.url,
            "PARLEY_STREAM_CALLBACK_URL": f"http://127.0.0.1:{self.management_port}/{STAGE}",
        }

    def start(self, routes: StreamRoutes) -> list[threading.Thread]:
        self._routes = routes
        threads = [
            threading.Thread(target=self._server.serve_forever, name="devstack-websocket", daemon=True),
            threading.Thread(target=self._management.serve_forever, name="devstack-connections", daemon=True),
        ]
        for thread in threads:
            thread.start()
        return threads

    def stop(self) -> None:
        self._server.shutdown()
        self._management.shutdown()
        self._management.server_close()
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            client.connection.close(1001, "going away")

    # -- connecting -----------------------------------------------------------------------------
    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """$connect's authorizer and $connect itself; a Response refuses the upgrade."""
        assert self._routes is not None
        parts = urlsplit(request.path)
        if parts.path.rstrip("/") not in (f"/{STAGE}", ""):
            return connection.respond(404, f"No WebSocket API at {parts.path}; connect to /{STAGE}.\n")
        connection_id = new_request_id()
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        query = query_parameters(parts.query)
        source_ip = str(connection.remote_address[0])
        context = self._request_context("$connect", "CONNECT", connection_id, source_ip, headers)
        authorizer: dict[str, Any] = {}
        if self._routes.authorizer is not None:
            decided = self._authorize(headers, query, context)
            if isinstance(decided, int):
                return connection.respond(decided, "Unauthorized\n" if decided == 401 else "Forbidden\n")
            authorizer = decided
        context["authorizer"] = authorizer
        event: dict[str, Any] = {
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "requestContext": context,
            "isBase64Encoded": False,
        }
        if query:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
        function = self._routes.functions.get("$connect")
        result: Any = {"statusCode": 200}
        if function is not None:
            try:
                result = function.invoke(event)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                return connection.respond(500, "Internal server error\n")
        status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
        if not 200 <= status < 300:
            return connection.respond(status, f"$connect refused the connection ({status}).\n")
        chosen = {k.lower(): v for k, v in ((result or {}).get("headers") or {}).items()}.get(
            "sec-websocket-protocol"
        )
        self._admitted[id(connection)] = {
            "connection_id": connection_id,
            "authorizer": authorizer,
            "subprotocol": chosen,
            "user_agent": headers.get("user-agent", ""),
        }
        return None

    def _authorize(
        self, headers: dict[str, str], query: dict[str, str], context: dict[str, Any]
    ) -> dict[str, Any] | int:
        """The authorizer's context (with principalId), or the status API Gateway refuses with."""
        assert self._routes is not None
        assert self._routes.authorizer is not None
        event = {
            "type": "REQUEST",
            "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/$connect",
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
            "stageVariables": {},
            "requestContext": context,
        }
        try:
            result = self._routes.authorizer.invoke(event)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return 401
            traceback.print_exc(file=sys.stderr)
            return 500
        policy = (result or {}).get("policyDocument") or {}
        effects = {str(s.get("Effect", "")).lower() for s in policy.get("Statement") or []}
        if "allow" not in effects or "deny" in effects:
            return 403
        return {**((result or {}).get("context") or {}), "principalId": result.get("principalId")}

    def _subprotocol(self, connection: ServerConnection, offered: Any) -> Any:
        chosen = self._admitted.get(id(connection), {}).get("subprotocol")
        return chosen if chosen in offered else None

    # -- a connection's life --------------------------------------------------------------------
    def _serve_connection(self, connection: ServerConnection) -> None:
        admitted = self._admitted.pop(id(connection))
        client = _Client(
            connection,
            admitted["connection_id"],
            admitted["authorizer"],
            int(time.time() * 1000),
            str(connection.remote_address[0]),
            admitted["user_agent"],
        )
        with self._lock:
            self._clients[client.connection_id] = client
        writer = threading.Thread(target=self._write_frames, args=(client,), daemon=True)
        writer.start()
        deadline = time.monotonic() + MAX_CONNECTION_SECONDS
        code, reason = 1000, ""
        try:
            while True:
                message = connection.recv(timeout=max(0.0, deadline - time.monotonic()))
                client.last_active_at = time.time()
                body = message if isinstance(message, str) else message.decode("utf-8", "replace")
                self._on_message(client, body)
        except TimeoutError:
            connection.close(1001, "Going away")  # API Gateway's two-hour limit
        except ConnectionClosed as closed:
            received = closed.rcvd
            code, reason = (received.code, received.reason) if received else (1006, "")
        finally:
            with self._lock:
                self._clients.pop(client.connection_id, None)
            client.outbox.put(_STOP)
            self._on_disconnect(client, code, reason)

    def _on_message(self, client: _Client, body: str) -> None:
        assert self._routes is not None
        key = self._routes.route_for(body)
        function = self._routes.functions.get(key)
        if function is None:
            self.post(
                client.connection_id,
                json.dumps({"message": "Forbidden", "connectionId": client.connection_id}),
            )
            return
        event = {
            "requestContext": {
                **self._request_context(key, "MESSAGE", client.connection_id, client.source_ip, {}),
                "messageId": new_request_id(),
                "authorizer": client.authorizer,
                "connectedAt": client.connected_at,
            },
            "body": body,
            "isBase64Encoded": False,
        }
        try:
            result = function.invoke(event)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.post(client.connection_id, json.dumps({"message": "Internal server error"}))
            return
        if key in self._routes.two_way and isinstance(result, dict) and result.get("body") is not None:
            self.post(client.connection_id, str(result["body"]))

    def _on_disconnect(self, client: _Client, code: int, reason: str) -> None:
        assert self._routes is not None
        function = self._routes.functions.get("$disconnect")
        if function is None:
            return
        context = self._request_context(
            "$disconnect", "DISCONNECT", client.connection_id, client.source_ip, {}
        )
        context.update(
            authorizer=client.authorizer,
            connectedAt=client.connected_at,
            disconnectStatusCode=code,
            disconnectReason=reason,
        )
        try:
            function.invoke({"headers": {}, "requestContext": context, "isBase64Encoded": False})
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def _request_context(
        self, route_key: str, event_type: str, connection_id: str, source_ip: str, headers: Mapping[str, str]
    ) -> dict[str, Any]:
        now = time.time()
        return {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "stage": STAGE,
            "apiId": API_ID,
            "domainName": f"127.0.0.1:{self.port}",
            "connectionId": connection_id,
            "requestId": new_request_id(),
            "extendedRequestId": new_request_id(),
            "requestTimeEpoch": int(now * 1000),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "connectedAt": int(now * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent", "")},
        }

    # -- frames out -----------------------------------------------------------------------------
    def post(self, connection_id: str, data: str | bytes) -> bool:
        """Queue a frame for a connection; False if it is gone (the management API's 410)."""
        with self._lock:
            client = self._clients.get(connection_id)
        if client is None:
            return False
        try:
            client.outbox.put_nowait(data)
        except queue.Full:
            client.connection.close(1008, "Too slow: frames were not read")
            return False
        return True

    def describe(self, connection_id: str) -> dict[str, Any] | None:
        with self._lock:
            client = self._clients.get(connection_id)
        if client is None:
            return None
        return {
            "connectedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(client.connected_at / 1000)),
            "lastActiveAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(client.last_active_at)),
            "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent},
        }

    def close(self, connection_id: str) -> bool:
        with self._lock:
            client = self._clients.get(connection_id)
        if client is None:
            return False
        client.connection.close(1000, "Closed by the server")
        return True

    def _write_frames(self, client: _Client) -> None:
        while (data := client.outbox.get()) is not _STOP:
            if isinstance(data, bytes):
                # UTF-8 goes out as a text frame, anything else as binary
                with contextlib.suppress(UnicodeDecodeError):
                    data = data.decode()
            try:
                client.connection.send(data)
            except ConnectionClosed:
                return


class _ManagementServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, stream: StreamServer) -> None:
        self.stream = stream
        super().__init__(("127.0.0.1", port), _ManagementHandler)


class _ManagementHandler(BaseHTTPRequestHandler):
    """``/{stage}/@connections/{id}`` (or without the stage), as apigatewaymanagementapi calls it."""

    server: _ManagementServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        connection_id = self._connection_id()
        data = self.rfile.read(int(self.headers.get("content-length") or 0))
        if connection_id is None:
            return
        if len(data) > MAX_MESSAGE_BYTES:
            self._answer(413, {"message": "Message too long"}, "PayloadTooLargeException")
        elif self.server.stream.post(connection_id, data):
            self._answer(200, None)
        else:
            self._gone()

    def do_GET(self) -> None:
        connection_id = self._connection_id()
        if connection_id is None:
            return
        described = self.server.stream.describe(connection_id)
        if described is None:
            self._gone()
        else:
            self._answer(200, described)

    def do_DELETE(self) -> None:
        connection_id = self._connection_id()
        if connection_id is None:
            return
        if self.server.stream.close(connection_id):
            self._answer(204, None)
        else:
            self._gone()

    def _connection_id(self) -> str | None:
        found = re.fullmatch(rf"(?:/{STAGE})?/@connections/([^/?]+)", urlsplit(self.path).path)
        if not found:
            self._answer(404, {"message": f"No route for {self.path}"}, "NotFoundException")
            return None
        return unquote(found.group(1))

    def _gone(self) -> None:
        self._answer(410, {"message": "The connection is gone."}, "GoneException")

    def _answer(self, status: int, body: Any, error_type: str | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # frames are too many to log one line each
