"""Fans each Parley event (an EventBridge event, put on the queue by the rule) out to the workspace's
webhooks and callbacks: one message per matching webhook on the deliveries queue. (The event was
recorded in the workspace's notifications where it was published.)"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from parley.observability import logger
from parley.services import webhooks

# A batch whose every record failed is reported like any other (all of them go back to the queue).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> int:
    event = json.loads(record.body)
    queued = webhooks.dispatch(event)
    logger.debug("event dispatched", extra={"event_type": event.get("detail-type"), "deliveries": queued})
    return queued


def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
