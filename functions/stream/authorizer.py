"""The WebSocket API's $connect REQUEST authorizer: an API key or a stream token -> the workspace.

WebSocket authorizers answer with an IAM policy (not HTTP APIs' simple responses); the policy's
context reaches $connect and every later route of the connection. Refused: "Unauthorized" (401).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from parley.auth import authenticate_stream
from parley.observability import logger


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    grant, refusal = authenticate_stream(event, now=int(time.time()))
    if grant is None:
        logger.info("stream connection refused", extra={"reason": refusal})
        raise Exception("Unauthorized")  # the exact message API Gateway maps to 401
    return {
        "principalId": grant["key_id"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "context": grant,
    }
