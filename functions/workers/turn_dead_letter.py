"""Turns whose queue record exhausted its retries: they end `failed`, with the reason, never stuck."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from parley.services import dead_letters

# A batch whose every record failed is reported like any other (all of them go back to the queue).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    dead_letters.fail_dead_turn(
        body["workspace_id"],
        body["conversation_id"],
        body["turn_id"],
        receive_count=int(record.attributes.approximate_receive_count or 0),
    )


def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
