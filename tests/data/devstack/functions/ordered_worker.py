"""FIFO worker: records the order in which each group's messages arrive."""

from __future__ import annotations

from typing import Any

import toylib  # type: ignore[import-not-found]  # the toy layer, on sys.path as in Lambda


def handler(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        group = record["attributes"]["MessageGroupId"]
        toylib.record("ordered", record["messageId"], {"group": group, "body": record["body"]})
