"""SQS: one client per cold start, and the turns queue's message format."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from parley.config import settings


@cache
def client() -> Any:
    from parley import aws

    return aws.client("sqs")


def enqueue_turn(workspace_id: str, conversation_id: str, turn_id: str, attempt: int | str = 0) -> None:
    """Queue a turn. One FIFO group per conversation keeps its turns in order; the deduplication id
    makes a repeated send of the same attempt a no-op."""
    client().send_message(
        QueueUrl=settings().turns_queue_url,
        MessageBody=json.dumps(
            {"workspace_id": workspace_id, "conversation_id": conversation_id, "turn_id": turn_id}
        ),
        MessageGroupId=conversation_id,
        MessageDeduplicationId=f"{turn_id}.{attempt}",
    )
