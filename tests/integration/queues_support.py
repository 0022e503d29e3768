"""Any of the template's standard SQS queues drained in-process into the function its event source
feeds, as the Lambda poller would (batches, partial failures, deletes of what succeeded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from devstack.events import LambdaContext, sqs_event, sqs_record_from_message
from devstack.resources import LocalResources
from devstack.template import load_template
from tests.conftest import load_handler


class QueueWorker:
    """A queue (by logical id) and the function (by logical id) that consumes it."""

    def __init__(self, aws: LocalResources, queue: str, function: str) -> None:
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.url = aws.ref(queue)
        self.arn = aws.get_att(queue, "Arn")
        self.function = load_template().function(function)
        self._handler: Callable[..., Any] | None = None

    @property
    def handler(self) -> Callable[..., Any]:
        if self._handler is None:  # one warm container for the worker's life
            self._handler = load_handler(self.function)
        return self._handler

    def receive(self, max_records: int = 10) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max_records,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        )
        return response.get("Messages", [])

    def deliver(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Invoke the function with these messages as one batch; delete the ones it did not fail."""
        event = sqs_event([sqs_record_from_message(m, self.arn) for m in messages])
        context = LambdaContext(self.function.logical_id, self.function.timeout)
        try:
            result = self.handler(event, context)
        except Exception:  # Lambda's answer to a raised error: the whole batch goes back to the queue
            result = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return result

    def step(self) -> int:
        """One batch of what is visible now; returns how many records it had."""
        messages = self.receive()
        if messages:
            self.deliver(messages)
        return len(messages)

    def drain(self, rounds: int = 20) -> int:
        """Deliver batches until the queue is empty (bounded); returns how many records were delivered."""
        delivered = 0
        for _ in range(rounds):
            count = self.step()
            if not count:
                return delivered
            delivered += count
        return delivered


def drain(aws: LocalResources, queue: str, function: str, rounds: int = 20) -> int:
    """Drain the queue ``queue`` into the function ``function`` (logical ids of template.yaml)."""
    return QueueWorker(aws, queue, function).drain(rounds)
