"""Every kind of answer a handler can give, chosen by the path: /responses/{kind}."""

from __future__ import annotations

import base64
from typing import Any


def handler(event: dict[str, Any], context: Any) -> Any:
    kind = event["pathParameters"]["kind"]
    if kind == "raise":
        raise ValueError("the handler failed")
    if kind == "plain":
        return {"answer": 42}
    if kind == "binary":
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": base64.b64encode(b"\x00\x01\xff").decode(),
            "isBase64Encoded": True,
        }
    if kind == "cookies":
        return {"statusCode": 204, "cookies": ["a=1; Path=/", "b=2; HttpOnly"]}
    if kind == "malformed":
        return {"statusCode": "teapot"}
    return {"statusCode": 418, "headers": {"content-type": "text/plain"}, "body": "short and stout"}
