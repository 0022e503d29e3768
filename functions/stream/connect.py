"""$connect: record the connection the authorizer admitted; answer with the subprotocol offered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.auth import STREAM_PROTOCOL, offered_protocols
from parley.services import streams


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    request = event["requestContext"]
    grant = request.get("authorizer") or {}
    if grant.get("quota_exceeded") == "true":
        return {"statusCode": 429, "headers": {"Retry-After": str(grant.get("retry_after", 60))}}
    streams.connect(request["connectionId"], grant)
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    # A browser that offered subprotocols (e.g. "parley, parley.token.st_…") drops a connection that
    # does not pick one of them; "parley" is the one that carries no credential.
    if STREAM_PROTOCOL in offered_protocols(headers):
        return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": STREAM_PROTOCOL}}
    return {"statusCode": 200}
