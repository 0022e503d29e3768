"""Driving turns in-process: the turns queue drained into the real worker, as the Lambda poller would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from devstack.events import LambdaContext, sqs_event, sqs_record_from_message
from devstack.resources import LocalResources
from tests.conftest import load_handler


class TurnQueue:
    """The template's turns queue (and its DLQ) in moto, with the worker functions behind them."""

    def __init__(self, aws: LocalResources) -> None:
        self.aws = aws
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.url = aws.ref("TurnsQueue")
        self.arn = aws.get_att("TurnsQueue", "Arn")
        self._worker: Callable[..., Any] | None = None

    @property
    def worker(self) -> Callable[..., Any]:
        if self._worker is None:
            self._worker = load_handler("RunTurnFunction")
        return self._worker

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
        """Invoke the worker with these queue messages as one batch; delete the ones it did not fail."""
        event = sqs_event([sqs_record_from_message(m, self.arn) for m in messages])
        try:
            result = self.worker(event, LambdaContext("RunTurnFunction", 90))
        except Exception:  # Lambda's answer to a raised error: the whole batch goes back to the queue
            result = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return result

    def drain(self, rounds: int = 20) -> int:
        """Run every queued turn (bounded); returns how many records were delivered."""
        delivered = 0
        for _ in range(rounds):
            messages = self.receive()
            if not messages:
                return delivered
            self.deliver(messages)
            delivered += len(messages)
        return delivered
