"""``POST /v1/chat/completions`` that streams: the web app a Lambda Function URL runs under the AWS Lambda
Web Adapter (docs/reference/lambda-response-streaming.md).

The HTTP API buffers a function's whole answer, and the managed Python runtime cannot stream a handler's
return value. So the streaming endpoint is a Function URL (``InvokeMode: RESPONSE_STREAM``) whose function
starts this server (``stream.sh``); the adapter hands it each request as plain HTTP and streams its chunked
response back. ``stream: true`` is answered ``text/event-stream``, each event written and flushed as the
turn makes it; ``stream: false`` is the JSON completion, as the HTTP API's route answers it. Both are
``api.chat.completions.respond``.

No authorizer stands in front of a Function URL (``AuthType: NONE``: the ``openai`` SDK sends a bearer key,
not a SigV4 signature), so the key is checked here as the compat authorizer checks it (``parley.auth``,
which also counts the workspace's quota) and refused as ``parley.http`` refuses: 401, 403 or 429 in
OpenAI's error shape. ``Idempotency-Key`` is not honoured here (a stream cannot be replayed).

A stream lasts as long as the invocation may: the adapter passes the invocation's context in the
``x-amzn-lambda-context`` header, whose ``deadline`` (epoch milliseconds) less ``DEADLINE_MARGIN_SECONDS``
is the turn's deadline. A client that goes away does not stop its turn: the rest of the events are made
unseen, so that the turn finishes here (or is handed over to the queue at the deadline).

Only the standard library is imported up front, so that the adapter's readiness check (``GET /``) is
answered as soon as the port is open; the first request pays for parley's imports.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.http import Principal, Request
    from parley.services.chat_completions import StreamedAnswer

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
READINESS_PATH = "/"
LAMBDA_CONTEXT_HEADER = "x-amzn-lambda-context"
REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
# Kept back from the invocation's time: to hand the turn over and send the error event before Lambda stops.
DEADLINE_MARGIN_SECONDS = 5.0
# Without the adapter (a laptop, tests) no invocation bounds a turn: Lambda's longest timeout stands in.
LOCAL_DEADLINE_SECONDS = 900.0
JSON_CONTENT_TYPE = "application/json"


@dataclass
class Reply:
    """An answer sent whole (with its Content-Length)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class ChatCompletionsHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 for the chunked stream (and connections the adapter keeps open between invocations).
    protocol_version = "HTTP/1.1"
    server_version = "parley"

    def do_GET(self) -> None:
        if self._path() == READINESS_PATH:
            self._send(Reply(200, b"ok", {"content-type": "text/plain; charset=utf-8"}))
        else:
            self._send(_no_such_route(_request_id(self._headers())))

    def do_POST(self) -> None:
        headers = self._headers()
        request_id = _request_id(headers)
        if self._path() != CHAT_COMPLETIONS_PATH:
            self.close_connection = True  # its body is left unread
            self._send(_no_such_route(request_id))
            return
        try:
            answered = self._answer(headers, request_id)
        except Exception as exc:
            answered = _error_reply(exc, request_id)
        if isinstance(answered, Reply):
            self._send(answered)
        else:
            self._stream(answered, request_id)

    # -- the completion ---------------------------------------------------------------------------
    def _answer(self, headers: dict[str, str], request_id: str) -> Reply | StreamedAnswer:
        from pydantic import ValidationError

        from parley.http import validation_failed
        from parley.models.chat import ChatCompletionRequest
        from parley.observability import bind_request

        from . import completions

        bind_request(
            request_id=request_id,
            route=f"POST {CHAT_COMPLETIONS_PATH}",
            function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        )
        request = _request(headers, self._body(headers), request_id)
        principal = _principal(request)
        try:
            body = ChatCompletionRequest.model_validate(request.json())
        except ValidationError as exc:
            raise validation_failed(exc, "body") from exc
        answered = completions.respond(
            principal, body, headers, request_id=request_id, deadline_seconds=_deadline_seconds(headers)
        )
        if isinstance(answered, completions.StreamedAnswer):
            return answered
        return Reply(
            200,
            answered.completion.model_dump_json().encode(),
            {"content-type": JSON_CONTENT_TYPE, "x-request-id": request_id, **answered.headers},
        )

    def _body(self, headers: dict[str, str]) -> bytes:
        """The request's body, if it is no longer than the settings allow (413 unread, if it is)."""
        from parley import errors
        from parley.config import settings

        limit = settings().max_body_bytes
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.close_connection = True
            raise errors.BadRequest("Send the request body with a Content-Length, not chunked.")
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            self.close_connection = True
            raise errors.BadRequest("The Content-Length header is not a number.") from None
        if length > limit:
            self.close_connection = True
            raise errors.PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
        return self.rfile.read(length) if length > 0 else b""

    # -- writing ----------------------------------------------------------------------------------
    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _stream(self, answer: StreamedAnswer, request_id: str) -> None:
        """The events in chunks (chunked transfer encoding), each flushed as it is made."""
        from . import completions

        self.send_response(200)
        headers = {**completions.EVENT_STREAM_HEADERS, "x-request-id": request_id, **answer.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        listening = True
        for event in answer.chunks:
            if not listening:
                continue  # the turn goes on to its end here: its events are made, unseen
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            except OSError:
                listening = False
                self.close_connection = True
        if listening:
            self.wfile.write(b"0\r\n\r\n")

    # -- reading ----------------------------------------------------------------------------------
    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def log_message(self, format: str, *args: Any) -> None:
        from parley.observability import logger

        logger.debug(format % args)


class ChatCompletionsServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops its connection (reset while the next request is awaited) is not an error.
        if isinstance(sys.exception(), ConnectionError):
            return
        from parley.observability import logger

        logger.exception("the request could not be served")


def make_server(port: int) -> ChatCompletionsServer:
    """The server on 127.0.0.1 (``port`` 0: any free port, ``server.server_port`` says which)."""
    return ChatCompletionsServer(("127.0.0.1", port), ChatCompletionsHandler)


def main() -> None:
    port = int(os.environ.get("AWS_LWA_PORT") or os.environ.get("PORT") or 8080)
    with make_server(port) as server:
        server.serve_forever()


# -- the request, as API Gateway would have handed it to a function -----------------------------------
def _request(headers: dict[str, str], body: bytes, request_id: str) -> Request:
    """The request as ``parley.http`` reads it, with what the compat authorizer would have put in its
    context: the key's grant (and quota count), or why it has none."""
    from parley.auth import authenticate
    from parley.http import Request

    grant, refused = authenticate({"headers": headers})
    event = {
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
        "requestContext": {
            "requestId": request_id,
            "authorizer": {"lambda": grant if grant is not None else {"auth_error": refused}},
        },
    }
    return Request(event=event, path_params={}, query={}, headers=headers, request_id=request_id)


def _principal(request: Request) -> Principal:
    """Who calls, or the refusal ``parley.http`` answers: 401/403 for a missing or bad key, 429 past the
    workspace's quota."""
    from parley.http import auth_refusal, enforce_quota

    principal = request.principal()
    if principal is None:
        raise auth_refusal(request.auth_error)
    enforce_quota(request)
    return principal


def _request_id(headers: dict[str, str]) -> str:
    """The Function URL's request id (the adapter's ``x-amzn-request-context``), or a new one."""
    try:
        return str(json.loads(headers[REQUEST_CONTEXT_HEADER])["requestId"])
    except (KeyError, TypeError, ValueError):
        return uuid.uuid4().hex


def _deadline_seconds(headers: dict[str, str]) -> float:
    """The time the turn has: what the invocation has left, less the margin."""
    try:
        deadline_ms = float(json.loads(headers[LAMBDA_CONTEXT_HEADER])["deadline"])
    except (KeyError, TypeError, ValueError):
        return LOCAL_DEADLINE_SECONDS
    return max(0.0, deadline_ms / 1000 - time.time() - DEADLINE_MARGIN_SECONDS)


def _no_such_route(request_id: str) -> Reply:
    from parley import errors

    return _error_reply(errors.NotFound("No such route."), request_id)


def _error_reply(exc: Exception, request_id: str) -> Reply:
    """An error in OpenAI's shape (``parley.compat.openai``), as the HTTP API's route answers it."""
    from parley import errors
    from parley.compat.openai import openai_error
    from parley.observability import logger

    if not isinstance(exc, errors.ParleyError):
        logger.exception("unhandled error", exc_info=exc)
        exc = errors.ParleyError("An internal error occurred.")
    response = openai_error(exc, request_id)
    return Reply(response["statusCode"], response["body"].encode(), dict(response["headers"]))


if __name__ == "__main__":
    main()
