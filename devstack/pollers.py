"""Lambda's event source mappings, locally: SQS pollers and Schedule (rate) events.

SQS, as the Lambda event source mapping does it: long-poll up to BatchSize records with all system
attributes, invoke the function with the batch, then delete the records it processed. With
ReportBatchItemFailures only the ``batchItemFailures`` stay on the queue; if the function raises (or
answers a malformed batch response) the whole batch stays. The queue's RedrivePolicy moves a record
to the DLQ once it has been received maxReceiveCount times (the local moto server does that on
receive, as SQS does). Like Lambda, several pollers feed one source (as many as the function's concurrency,
or ``PARLEY_DEVSTACK_POLLERS``), so batches of different FIFO groups run side by side;
each group stays in order because SQS does not hand out a group's next message while one of it is
in flight (the local server makes each receive atomic, as SQS is).

The one deliberate deviation from AWS: a failed record becomes visible again after
``PARLEY_DEVSTACK_RETRY_SECONDS`` (default 1 s) instead of the queue's VisibilityTimeout (540 s for
the turns queue), because locally nobody waits nine minutes to see a retry or a DLQ redrive.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config

from devstack.events import schedule_rule_arn, scheduled_event, sqs_event, sqs_record_from_message
from devstack.resources import REGION
from devstack.runtime import LambdaFunction
from devstack.template import Schedule, SqsSource

# Seconds one ReceiveMessage waits for a record (SQS's maximum): it returns as soon as one arrives,
# and stopping the devstack stops the local AWS, which ends the polls in flight. An idle poller costs
# one call per 20 s.
LONG_POLL_SECONDS = 20


def pollers_per_source(concurrency: int) -> int:
    """Concurrent pollers per SQS event source: as many as the function may run at once (Lambda scales
    a FIFO source up to its active message groups), or fewer if ``PARLEY_DEVSTACK_POLLERS`` says so."""
    configured = os.environ.get("PARLEY_DEVSTACK_POLLERS")
    return max(1, min(int(configured), concurrency) if configured else concurrency)


def retry_seconds() -> int:
    """Local visibility timeout of a failed record (see the module docstring)."""
    return int(os.environ.get("PARLEY_DEVSTACK_RETRY_SECONDS", "1"))


def schedule_scale() -> float:
    """Multiplier on Schedule rates (tests use e.g. 0.01 to run a 1-minute rate every 0.6 s)."""
    return float(os.environ.get("PARLEY_DEVSTACK_SCHEDULE_SCALE", "1"))


class SqsPoller(threading.Thread):
    """Feeds one SQS event source to its function."""

    def __init__(
        self,
        function: LambdaFunction,
        source: SqsSource,
        queue_url: str,
        queue_arn: str,
        stop: threading.Event,
        number: int = 1,
    ) -> None:
        super().__init__(name=f"sqs-{function.spec.logical_id}-{number}", daemon=True)
        self.function = function
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.stop_event = stop
        self.retry_seconds = retry_seconds()
        # One client per poller, created before the thread starts (client creation is not thread-safe);
        # no retries: a failed poll is simply the next poll.
        self.sqs = boto3.client(
            "sqs",
            region_name=REGION,
            config=Config(retries={"total_max_attempts": 1}, read_timeout=LONG_POLL_SECONDS + 10),
        )

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                messages = self._receive()
                if messages:
                    self.process(messages)
            except Exception:
                if self.stop_event.is_set():
                    return  # the local AWS went away first during shutdown
                traceback.print_exc(file=sys.stderr)
                self.stop_event.wait(1)

    def _receive(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            WaitTimeSeconds=LONG_POLL_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def process(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Invoke the function with one batch, then settle each record as Lambda would."""
        records = [sqs_record_from_message(message, self.queue_arn) for message in messages]
        failed = self._failed_ids(records)
        by_id = {message["MessageId"]: message["ReceiptHandle"] for message in messages}
        self._delete_records([handle for message_id, handle in by_id.items() if message_id not in failed])
        self._retry_records([handle for message_id, handle in by_id.items() if message_id in failed])

    def _failed_ids(self, records: list[dict[str, Any]]) -> set[str]:
        everything = {record["messageId"] for record in records}
        try:
            result = self.function.invoke(sqs_event(records))
        except Exception:
            print(f"devstack: {self.function.spec.logical_id} failed a batch:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return everything
        if not self.source.report_batch_item_failures:
            return set()
        failed = batch_item_failures(result, everything)
        if failed is None:
            print(
                f"devstack: {self.function.spec.logical_id} returned a malformed batch response "
                f"{result!r}: the whole batch is retried",
                file=sys.stderr,
            )
            return everything
        return failed

    def _delete_records(self, receipt_handles: list[str]) -> None:
        for chunk in _chunks(receipt_handles):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)],
            )

    def _retry_records(self, receipt_handles: list[str]) -> None:
        # The deliberate deviation: retry after seconds, not after the queue's VisibilityTimeout.
        for chunk in _chunks(receipt_handles):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": self.retry_seconds}
                    for i, handle in enumerate(chunk)
                ],
            )


def batch_item_failures(result: Any, batch: set[str]) -> set[str] | None:
    """The ids a partial batch response reports as failed; None if Lambda would reject the response."""
    if result is None or result == {}:
        return set()
    if not isinstance(result, dict) or not isinstance(result.get("batchItemFailures", []), list):
        return None
    failed = set()
    for item in result.get("batchItemFailures") or []:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch:
            return None  # Lambda treats an empty or unknown itemIdentifier as a failure of the batch
        failed.add(identifier)
    return failed


def _chunks(items: list[str], size: int = 10) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ScheduleRunner(threading.Thread):
    """Invokes a function with EventBridge's "Scheduled Event" at the schedule's rate."""

    def __init__(self, function: LambdaFunction, schedule: Schedule, stop: threading.Event) -> None:
        super().__init__(name=f"schedule-{function.spec.logical_id}", daemon=True)
        self.function = function
        self.period = schedule.seconds * schedule_scale()
        self.rule_arn = schedule_rule_arn(function.spec.logical_id, schedule.name)
        self.stop_event = stop

    def run(self) -> None:
        # A rate rule fires one period after it is created, then every period.
        while not self.stop_event.wait(self.period):
            try:
                self.function.invoke(scheduled_event(self.rule_arn))
            except Exception:
                print(f"devstack: scheduled {self.function.spec.logical_id} failed:", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
