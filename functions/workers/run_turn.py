"""Runs agent turns from the FIFO turns queue (one message group per conversation).

Partial batch responses: a record that fails goes back to the queue (and to the DLQ after
maxReceiveCount); the later records of its conversation's group wait behind it, other groups go on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from parley.agent.pipeline import run_turn
from parley.observability import logger

processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def record_handler(record: SQSRecord) -> str:
    body = json.loads(record.body)
    outcome = run_turn(body["workspace_id"], body["conversation_id"], body["turn_id"])
    logger.info("turn processed", extra={"turn_id": body["turn_id"], "outcome": outcome})
    return outcome


def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
