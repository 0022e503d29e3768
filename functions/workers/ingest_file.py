"""Indexes files when their bytes arrive in S3 and drops their index when the bytes go (S3 event
notifications through the ingest queue, one notification per message).

Partial batch responses: a record whose failure retrying may fix raises and goes back to the queue
(and to the DLQ after maxReceiveCount); a file that cannot be indexed is marked failed by the service
and its record succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from parley.observability import logger
from parley.services import ingestion

# A batch whose every record failed is reported like any other (all of them go back to the queue).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> list[str]:
    try:
        notification = ingestion.parse(record.body)
    except ValidationError:
        # Not an S3 notification: retrying cannot make it one.
        logger.warning("not an S3 event notification", extra={"message_id": record.message_id})
        return ["ignored"]
    if notification.is_test:  # sent once by S3 when the bucket's notifications are configured
        return ["ignored"]
    attempt = int(record.attributes.approximate_receive_count or 1)
    outcomes: list[str] = []
    for s3_record in notification.records:
        outcome = ingestion.handle(s3_record, attempt=attempt)
        logger.info(
            "file object event processed",
            extra={"event": s3_record.event_name, "key": s3_record.s3.object.key, "outcome": outcome},
        )
        outcomes.append(outcome)
    return outcomes


def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
