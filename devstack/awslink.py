"""The devstack's own AWS calls to its local AWS over a Unix socket, without HTTP in between.

Every function the devstack hosts, and its pollers, call DynamoDB, SQS and EventBridge through
botocore, and each call was an HTTP request on loopback. Profiled under 8 clients, that transport
cost more than moto's own work on some calls: botocore's urllib3 and http.client (header parsing
through the email package) were about a third of the devstack process's CPU, and werkzeug's request
parsing and response writing about a sixth of the local AWS's.

These calls (JSON-protocol services: the ``X-Amz-Target`` header names the operation) now go as one
frame each way over a kept Unix socket, one per thread. botocore still validates, serialises, signs,
retries and parses exactly as it would, and moto's handler gets the request it would have got over
HTTP (``answer_directly`` in motoserver): only the transport differs. A client's read timeout holds
as it does over HTTP: an answer later than that is botocore's ``ReadTimeoutError``. The HTTP endpoint
stays for everything else: S3, the AWS CLI, tests' and benchmarks' own clients.

Frames: a request is ``>II`` (head and body lengths), the head (JSON ``[method, path, headers]``) and
the body; a response is ``>III`` (status, head and body lengths), the head (JSON headers) and the body.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

# The X-Amz-Target prefixes of the services that go over the link (and that motoserver dispatches
# straight to moto's handlers).
TARGETS = ("DynamoDB_", "AmazonSQS.", "AWSEvents.")
REQUEST_HEAD = struct.Struct(">II")
RESPONSE_HEAD = struct.Struct(">III")

# (method, path with query, headers, body) -> (status, headers, body)
Answer = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


# ----------------------------------------------------------------------------- the local AWS's side
class LinkServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers frames on ``path``, a thread per connection (a connection is one client thread's)."""

    daemon_threads = True

    def __init__(self, path: str, answer: Answer) -> None:
        self.answer = answer
        super().__init__(path, _FrameHandler)


class _FrameHandler(socketserver.StreamRequestHandler):
    server: LinkServer

    def handle(self) -> None:
        while True:
            lengths = self.rfile.read(REQUEST_HEAD.size)
            if len(lengths) < REQUEST_HEAD.size:
                return  # the client closed its connection
            head_length, body_length = REQUEST_HEAD.unpack(lengths)
            method, path, headers = json.loads(self.rfile.read(head_length))
            body = self.rfile.read(body_length)
            status, answer_headers, content = self.server.answer(method, path, headers, body)
            head = json.dumps(answer_headers).encode()
            try:
                self.wfile.write(RESPONSE_HEAD.pack(status, len(head), len(content)) + head + content)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client stopped waiting (its read timeout) and closed its connection


# ------------------------------------------------------------------------------ the devstack's side
class Link:
    """While installed, botocore sends this process's calls to ``endpoint`` of the services in TARGETS
    over the socket at ``path``; every other request still goes over HTTP."""

    def __init__(self, endpoint: str, path: str) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.path = path
        self.calls = 0  # answered over the link (tests check the link really carried the calls)
        self._local = threading.local()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        """From now on, every botocore client of this process (made before or after) uses the link."""
        from botocore.httpsession import URLLib3Session

        global _installed, _send_over_http
        with _install_lock:
            if _installed is not None:
                raise RuntimeError("another Link is installed in this process")
            if URLLib3Session.send is not _send:
                _send_over_http = URLLib3Session.send
                URLLib3Session.send = _send
            _installed = self

    def uninstall(self) -> None:
        from botocore.httpsession import URLLib3Session

        global _installed
        with _install_lock:
            if _installed is self:
                URLLib3Session.send = _send_over_http
                _installed = None
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            # shutdown, not only close: a call still waiting on one (an SQS long poll) fails and ends.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def carries(self, request: Any) -> bool:
        target = request.headers.get("X-Amz-Target") or ""
        if isinstance(target, bytes):
            target = target.decode()
        return bool(request.url.startswith(self.endpoint) and target.startswith(TARGETS))

    def send(self, request: Any, read_timeout: float | None = None) -> Any:
        from botocore.awsrequest import AWSResponse, HeadersDict
        from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

        url = urlsplit(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        headers = {
            name: value.decode() if isinstance(value, bytes) else value
            for name, value in request.headers.items()
        }
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, (bytes, bytearray)):
            body = body.read()
        head = json.dumps([request.method, path, headers]).encode()
        try:
            stream = self._stream()
            self._local.connection.settimeout(read_timeout)
            stream.write(REQUEST_HEAD.pack(len(head), len(body)) + head + body)
            stream.flush()
            lengths = stream.read(RESPONSE_HEAD.size)
            if len(lengths) < RESPONSE_HEAD.size:
                raise ConnectionError("the local AWS closed the link")
            status, head_length, body_length = RESPONSE_HEAD.unpack(lengths)
            answer_headers = json.loads(stream.read(head_length))
            content = stream.read(body_length)
            if len(content) < body_length:
                raise ConnectionError("the local AWS closed the link mid-answer")
        except TimeoutError as exc:
            self._forget_stream()  # its answer may still come: the next call takes a new connection
            raise ReadTimeoutError(endpoint_url=request.url, error=exc) from exc
        except (OSError, ValueError) as exc:
            self._forget_stream()
            raise EndpointConnectionError(endpoint_url=request.url, error=exc) from exc
        self.calls += 1
        return AWSResponse(request.url, status, HeadersDict(answer_headers), _Body(content))

    def _stream(self) -> Any:
        stream = getattr(self._local, "stream", None)
        if stream is None:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(self.path)
            with self._lock:
                self._connections.append(connection)
            stream = self._local.stream = connection.makefile("rwb")
            self._local.connection = connection
        return stream

    def _forget_stream(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.stream = self._local.connection = None
        if connection is not None:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            connection.close()


class _Body:
    """What botocore reads a response's content from (``AWSResponse.raw``)."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


_installed: Link | None = None
_send_over_http: Any = None  # botocore's own URLLib3Session.send, once a Link has been installed
_install_lock = threading.Lock()


def _send(session: Any, request: Any) -> Any:
    link = _installed
    if link is not None and link.carries(request):
        return link.send(request, _read_timeout(session, request))
    return _send_over_http(session, request)


def _read_timeout(session: Any, request: Any) -> float | None:
    """The read timeout botocore gives urllib3: the request's own (``context``), else the client's
    (``Config.read_timeout``, which the session holds as a urllib3 ``Timeout``)."""
    override = (getattr(request, "context", None) or {}).get("read_timeout")
    if override is not None:
        return float(override)
    read = getattr(getattr(session, "_timeout", None), "read_timeout", None)
    return float(read) if isinstance(read, int | float) else None
