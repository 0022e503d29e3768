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

from devstack.events import (
    WEBSOCKET_STAGE,
    new_request_id,
    query_parameters,
    websocket_authorizer_event,
    websocket_connect_event,
    websocket_context,
    websocket_disconnect_event,
    websocket_message_event,
)
from devstack.runtime import LambdaFunction
from devstack.template import Template, WebSocketApi, websocket_api

STAGE = WEBSOCKET_STAGE
# API Gateway's limits: 128 KB per message (32 KB per frame), 2 hours per connection.
MAX_MESSAGE_BYTES = 128 * 1024
MAX_CONNECTION_SECONDS = 2 * 60 * 60
# Frames queued for a connection that does not read them; one more and it is disconnected.
MAX_QUEUED_FRAMES = 1000
_STOP = object()


@dataclass
class StreamRoutes:
    """The template's WebSocket API bound to the loaded functions."""

    api: WebSocketApi
    functions: Mapping[str, LambdaFunction]

    @classmethod
    def of(cls, template: Template, functions: Mapping[str, LambdaFunction]) -> StreamRoutes | None:
        api = websocket_api(template)
        return cls(api, functions) if api is not None else None

    def function(self, route_key: str) -> LambdaFunction | None:
        route = self.api.routes.get(route_key)
        return self.functions[route.function] if route else None

    @property
    def authorizer(self) -> LambdaFunction | None:
        route = self.api.routes.get("$connect")
        return self.functions[route.authorizer] if route and route.authorizer else None

    def two_way(self, route_key: str) -> bool:
        route = self.api.routes.get(route_key)
        return bool(route and route.two_way)

    def route_for(self, body: str) -> str:
        """The route a frame selects ($request.body.<key>); $default if it is not JSON or names none."""
        key = self.api.selection_key
        if key:
            try:
                frame = json.loads(body)
            except ValueError:
                frame = None
            if isinstance(frame, dict):
                chosen = frame.get(key)
                if isinstance(chosen, str) and chosen in self.api.routes and not chosen.startswith("$"):
                    return chosen
        return "$default"


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
        context = self._context(
            "$connect", "CONNECT", connection_id, str(connection.remote_address[0]), headers
        )
        authorizer: dict[str, Any] = {}
        if self._routes.authorizer is not None:
            decided = self._authorize(self._routes.authorizer, headers, query, context)
            if isinstance(decided, int):
                return connection.respond(decided, "Unauthorized\n" if decided == 401 else "Forbidden\n")
            authorizer = decided
        result: Any = {"statusCode": 200}
        function = self._routes.function("$connect")
        if function is not None:
            try:
                result = function.invoke(
                    websocket_connect_event(headers, query, {**context, "authorizer": authorizer})
                )
            except Exception:
                traceback.print_exc(file=sys.stderr)
                return connection.respond(500, "Internal server error\n")
        status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
        if not 200 <= status < 300:
            return connection.respond(status, f"$connect refused the connection ({status}).\n")
        answered = {k.lower(): v for k, v in ((result or {}).get("headers") or {}).items()}
        self._admitted[id(connection)] = {
            "connection_id": connection_id,
            "authorizer": authorizer,
            "subprotocol": answered.get("sec-websocket-protocol"),
            "user_agent": headers.get("user-agent", ""),
            "source_ip": context["identity"]["sourceIp"],
            "connected_at": context["connectedAt"],
        }
        return None

    def _authorize(
        self,
        function: LambdaFunction,
        headers: dict[str, str],
        query: dict[str, str],
        context: dict[str, Any],
    ) -> dict[str, Any] | int:
        """The authorizer's context (with principalId), or the status API Gateway refuses with."""
        try:
            result = function.invoke(websocket_authorizer_event(headers, query, context))
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
            admitted["connected_at"],
            admitted["source_ip"],
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
        function = self._routes.function(key)
        if function is None:
            # what API Gateway answers a frame no route takes
            self.post(
                client.connection_id,
                json.dumps({"message": "Forbidden", "connectionId": client.connection_id}),
            )
            return
        context = self._context(key, "MESSAGE", client.connection_id, client.source_ip, {}, client)
        try:
            result = function.invoke(websocket_message_event(body, context))
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.post(client.connection_id, json.dumps({"message": "Internal server error"}))
            return
        if self._routes.two_way(key) and isinstance(result, dict) and result.get("body") is not None:
            self.post(client.connection_id, str(result["body"]))

    def _on_disconnect(self, client: _Client, code: int, reason: str) -> None:
        assert self._routes is not None
        function = self._routes.function("$disconnect")
        if function is None:
            return
        context = self._context(
            "$disconnect", "DISCONNECT", client.connection_id, client.source_ip, {}, client
        )
        try:
            function.invoke(websocket_disconnect_event(context, code, reason))
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def _context(
        self,
        route_key: str,
        event_type: str,
        connection_id: str,
        source_ip: str,
        headers: Mapping[str, str],
        client: _Client | None = None,
    ) -> dict[str, Any]:
        return websocket_context(
            route_key,
            event_type,
            connection_id,
            domain_name=f"127.0.0.1:{self.port}",
            source_ip=source_ip,
            user_agent=client.user_agent if client else headers.get("user-agent", ""),
            connected_at_ms=client.connected_at if client else None,
            authorizer=client.authorizer if client else None,
        )

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
