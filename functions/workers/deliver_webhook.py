"""Delivers signed webhooks, one POST per record; a failed attempt is queued again with a longer delay
(by the service), so the record itself succeeds and SQS's redrive only ever catches our own crashes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from parley.models.webhooks import Delivery
from parley.services import webhooks

# A batch whose every record failed is reported like any other (all of them go back to the queue).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# One POST can take the connect and read timeouts; keep a margin to record its outcome.
_TIME_PER_DELIVERY_MS = (webhooks.CONNECT_TIMEOUT_SECONDS + webhooks.READ_TIMEOUT_SECONDS + 2) * 1000


def record_handler(record: SQSRecord, lambda_context: Any = None) -> str:
    delivery = Delivery.model_validate_json(record.body)
    # Ten slow receivers in one batch would outlast the function: the rest wait for another invocation.
    if lambda_context is not None and lambda_context.get_remaining_time_in_millis() < _TIME_PER_DELIVERY_MS:
        webhooks.defer(delivery)
        return "deferred"
    return webhooks.deliver(delivery)


def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
