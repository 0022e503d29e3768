"""Scheduled function: records each scheduled event it receives."""

from __future__ import annotations

from typing import Any

import toylib  # type: ignore[import-not-found]  # the toy layer, on sys.path as in Lambda


def handler(event: dict[str, Any], context: Any) -> None:
    toylib.record("tick", event["id"], event)
