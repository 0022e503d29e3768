"""Lambda events exactly as AWS sends them: HTTP API (payload 2.0), its authorizer, the WebSocket
API and its authorizer, SQS, schedules.

The devstack's gateway, pollers and schedules build their events here, and so do the tests and the
sample events in ``events/``, so a handler sees one shape everywhere. References:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
docs/reference/apigateway-websocket.md (the WebSocket events, with their sources)
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import struct
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from devstack.resources import ACCOUNT_ID, REGION
from devstack.template import HttpRoute

API_ID = "local"
STAGE = "$default"
DEFAULT_SOURCE_IP = "127.0.0.1"

# Content types API Gateway passes as text; every other body arrives base64-encoded.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_TEXT_SUFFIXES = ("+json", "+xml")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


# ------------------------------------------------------------------------------------- HTTP API


def http_event(
    route: HttpRoute,
    method: str,
    raw_path: str,
    path_parameters: Mapping[str, str] | None = None,
    raw_query_string: str = "",
    headers: Headers = (),
    body: bytes | None = None,
    cookies: Sequence[str] | None = None,
    authorizer_context: Mapping[str, Any] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    *,
    request_id: str | None = None,
    domain_name: str | None = None,
) -> dict[str, Any]:
    """An HTTP API payload-2.0 event for ``route`` (``authorizer_context`` on authorized routes)."""
    request = _request_parts(
        route, method, raw_path, raw_query_string, headers, cookies, source_ip, request_id, domain_name
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
        **request.optional,
        "headers": request.headers,
        **_optional("queryStringParameters", request.query),
        "requestContext": request.context,
        **_optional("pathParameters", dict(path_parameters or {})),
        "isBase64Encoded": False,
    }
    if route.authorizer is not None and authorizer_context is not None:
        request.context["authorizer"] = {"lambda": dict(authorizer_context)}
    if body:
        text = _as_text(body, request.headers.get("content-type"))
        event["isBase64Encoded"] = text is None
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
    return event


def authorizer_event(
    route: HttpRoute,
    method: str,
    raw_path: str,
    path_parameters: Mapping[str, str] | None = None,
    raw_query_string: str = "",
    headers: Headers = (),
    cookies: Sequence[str] | None = None,
    identity_source: Sequence[str] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    *,
    request_id: str | None = None,
    domain_name: str | None = None,
) -> dict[str, Any]:
    """An HTTP API Lambda REQUEST authorizer event, payload format 2.0."""
    request = _request_parts(
        route, method, raw_path, raw_query_string, headers, cookies, source_ip, request_id, domain_name
    )
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{method.upper()}{raw_path}",
        "identitySource": list(identity_source) if identity_source else None,
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
        **request.optional,
        "headers": request.headers,
        **_optional("queryStringParameters", request.query),
        "requestContext": request.context,
        **_optional("pathParameters", dict(path_parameters or {})),
    }


class _RequestParts:
    """What the HTTP event and the authorizer event share."""

    def __init__(self, headers: dict[str, str], query: dict[str, str], context: dict[str, Any]):
        self.headers = headers
        self.query = query
        self.context = context
        self.optional: dict[str, Any] = {}


def _request_parts(
    route: HttpRoute,
    method: str,
    raw_path: str,
    raw_query_string: str,
    headers: Headers,
    cookies: Sequence[str] | None,
    source_ip: str,
    request_id: str | None,
    domain_name: str | None,
) -> _RequestParts:
    merged, header_cookies = merge_headers(headers)
    all_cookies = [*(cookies or ()), *header_cookies]
    domain = domain_name or merged.get("host") or f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    now = time.time()
    context = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": request_id or new_request_id(),
        "routeKey": route.route_key,
        "stage": STAGE,
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    parts = _RequestParts(merged, query_parameters(raw_query_string), context)
    if all_cookies:
        parts.optional["cookies"] = all_cookies
    return parts


def merge_headers(headers: Headers) -> tuple[dict[str, str], list[str]]:
    """Lower-case names, join repeated values with commas; ``cookie`` headers become the cookie list."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in items:
        key = name.lower()
        if key == "cookie":
            # Payload 2.0 moves cookies out of the headers into their own list.
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged, cookies


def query_parameters(raw_query_string: str) -> dict[str, str]:
    """Decoded query parameters, repeated keys comma-joined (payload 2.0 has no multi-value form)."""
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query_string, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def new_request_id() -> str:
    """An id shaped like API Gateway's (``JKJaXmPLvHcESHA=``)."""
    return base64.b64encode(secrets.token_bytes(10)).decode("ascii")


def _as_text(body: bytes, content_type: str | None) -> str | None:
    if not content_type:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not (media_type.startswith(_TEXT_TYPES) or media_type.endswith(_TEXT_SUFFIXES)):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _optional(key: str, value: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value} if value else {}


# ------------------------------------------------------------------------------- WebSocket API

WEBSOCKET_STAGE = "live"


def websocket_context(
    route_key: str,
    event_type: str,
    connection_id: str,
    *,
    domain_name: str,
    source_ip: str = DEFAULT_SOURCE_IP,
    user_agent: str = "",
    connected_at_ms: int | None = None,
    authorizer: Mapping[str, Any] | None = None,
    stage: str = WEBSOCKET_STAGE,
) -> dict[str, Any]:
    """``requestContext`` of a WebSocket API event (eventType CONNECT, MESSAGE or DISCONNECT)."""
    now = time.time()
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "messageDirection": "IN",
        "stage": stage,
        "apiId": API_ID,
        "domainName": domain_name,
        "connectionId": connection_id,
        "requestId": new_request_id(),
        "extendedRequestId": new_request_id(),
        "requestTimeEpoch": int(now * 1000),
        "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "connectedAt": connected_at_ms if connected_at_ms is not None else int(now * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
    }
    if event_type == "MESSAGE":
        context["messageId"] = new_request_id()
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return context


def websocket_connect_event(
    headers: Mapping[str, str], query: Mapping[str, str], context: Mapping[str, Any]
) -> dict[str, Any]:
    """``$connect``: the upgrade request's headers and query string (later events carry neither)."""
    event: dict[str, Any] = {
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": dict(context),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


def websocket_message_event(body: str, context: Mapping[str, Any]) -> dict[str, Any]:
    return {"requestContext": dict(context), "body": body, "isBase64Encoded": False}


def websocket_disconnect_event(context: Mapping[str, Any], status_code: int, reason: str) -> dict[str, Any]:
    return {
        "headers": {},
        "multiValueHeaders": {},
        "requestContext": {**context, "disconnectStatusCode": status_code, "disconnectReason": reason},
        "isBase64Encoded": False,
    }


def websocket_authorizer_event(
    headers: Mapping[str, str], query: Mapping[str, str], context: Mapping[str, Any]
) -> dict[str, Any]:
    """A WebSocket ``$connect`` REQUEST authorizer event (its answer is an IAM policy)."""
    stage = context.get("stage", WEBSOCKET_STAGE)
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{stage}/$connect",
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": dict(query),
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "stageVariables": {},
        "requestContext": dict(context),
    }


# ------------------------------------------------------------------------------------------ SQS


def sqs_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping passes to a function."""
    return {"Records": list(records)}


def sqs_record(
    body: str,
    queue_arn: str,
    *,
    message_id: str | None = None,
    receipt_handle: str | None = None,
    message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
    attributes: Mapping[str, str] | None = None,
    receive_count: int = 1,
    sent_timestamp: int | None = None,
    message_group_id: str | None = None,
    message_deduplication_id: str | None = None,
    sequence_number: str | None = None,
) -> dict[str, Any]:
    """One SQS record as Lambda delivers it.

    ``message_attributes`` may be in SQS API form (``StringValue``/``DataType``, as ReceiveMessage
    returns them) or already in Lambda's camelCase form. ``attributes`` (the system attributes from
    ReceiveMessage) win over the keyword defaults.
    """
    now = int(time.time() * 1000)
    system = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent_timestamp or now),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(now),
    }
    if message_group_id is not None:
        system["SequenceNumber"] = sequence_number or str(now * 1_000_000)
        system["MessageGroupId"] = message_group_id
        if message_deduplication_id is not None:
            system["MessageDeduplicationId"] = message_deduplication_id
    system.update(_lambda_system_attributes(attributes or {}))
    converted = {name: lambda_message_attribute(value) for name, value in (message_attributes or {}).items()}
    record: dict[str, Any] = {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle or base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        "body": body,
        "attributes": system,
        "messageAttributes": converted,
        "md5OfBody": hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    if converted:
        record["md5OfMessageAttributes"] = md5_of_message_attributes(converted)
    return record


def sqs_record_from_message(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """Turn a ReceiveMessage result (with all system attributes) into Lambda's record."""
    return sqs_record(
        message["Body"],
        queue_arn,
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        message_attributes=message.get("MessageAttributes"),
        attributes=message.get("Attributes"),
    )


_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


def _lambda_system_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    return {key: str(attributes[key]) for key in _SYSTEM_ATTRIBUTES if key in attributes}


def lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A message attribute in Lambda's camelCase form (from SQS API form or already converted)."""
    if "dataType" in value:
        return dict(value)
    converted: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        converted["binaryValue"] = base64.b64encode(raw).decode("ascii") if isinstance(raw, bytes) else raw
    return converted


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5 over message attributes (names sorted; length-prefixed name, type, value)."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value["dataType"])
        for part in (name.encode(), data_type.encode()):
            digest.update(struct.pack("!I", len(part)) + part)
        if "stringValue" in value:
            encoded = str(value["stringValue"]).encode()
            digest.update(b"\x01" + struct.pack("!I", len(encoded)) + encoded)
        else:
            raw = base64.b64decode(value.get("binaryValue", ""))
            digest.update(b"\x02" + struct.pack("!I", len(raw)) + raw)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------ schedules


def scheduled_event(rule_arn: str) -> dict[str, Any]:
    """The EventBridge event a Schedule (rate) rule sends."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


def schedule_rule_arn(function_logical_id: str, event_name: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/parley-{function_logical_id}{event_name}"


# -------------------------------------------------------------------------------------- context


class LambdaContext:
    """The context object the Python Lambda runtime passes to a handler."""

    def __init__(
        self,
        function_name: str,
        timeout_seconds: float,
        memory_limit_in_mb: int = 128,
        *,
        log_group_name: str | None = None,
        aws_request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        # A string, as the Python runtime reads it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = log_group_name or f"/aws/lambda/{function_name}"
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        self.log_stream_name = f"{day}/[$LATEST]{secrets.token_hex(16)}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
