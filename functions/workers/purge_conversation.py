"""Deletes what remains of deleted conversations (messages, turns, stored bodies), page by page."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from parley.services import purge

# A batch whose every record failed is reported like any other (all of them go back to the queue).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    purge.purge_conversation(body["workspace_id"], body["conversation_id"])


def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
