"""Answers with the event and the context it was invoked with."""

from __future__ import annotations

import json
from typing import Any

from toylib import json_response  # type: ignore[import-not-found]  # the toy layer


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    seen = {
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "invoked_function_arn": context.invoked_function_arn,
    }
    return json_response(200, {"event": event, "context": seen, "module": __name__}) | {
        "headers": {"content-type": "application/json", "x-echo": json.dumps(event["routeKey"])}
    }
