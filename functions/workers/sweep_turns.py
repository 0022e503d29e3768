"""Scheduled: re-queues or fails turns past their deadline (a lost queue record, a worker that died)."""

from __future__ import annotations

from typing import Any

from parley.observability import logger
from parley.services import sweeper


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    counts = sweeper.sweep()
    logger.info("swept overdue turns", extra=counts)
    return counts
