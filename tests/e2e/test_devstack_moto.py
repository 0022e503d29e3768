"""The devstack's local AWS under concurrent pollers, as the devstack runs several per SQS source.

A FIFO queue on the moto server child (``MotoProcess``, with its patches) is drained by several
threads at once, each receiving with long polls and deleting what it got. SQS's guarantees must
hold: every message is received exactly once, and never while another message of its group is in
flight, so each group is handled in the order it was sent.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack.motoserver import MotoProcess

pytestmark = pytest.mark.e2e

GROUPS = 4
PER_GROUP = 15
RECEIVERS = 4


@pytest.fixture(scope="module")
def sqs() -> Iterator[Any]:
    moto = MotoProcess(0)
    endpoint = moto.start()
    try:
        yield boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    finally:
        moto.stop()


def test_concurrent_receivers_take_each_message_once_and_each_group_in_order(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="turns.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for n in range(PER_GROUP):
        for group in range(GROUPS):
            sqs.send_message(
                QueueUrl=url,
                MessageBody=f"{group}:{n}",
                MessageGroupId=str(group),
                MessageDeduplicationId=f"{group}-{n}",
            )

    lock = threading.Lock()
    in_flight: set[str] = set()
    handled: dict[str, list[int]] = defaultdict(list)
    overlaps: list[str] = []
    total = GROUPS * PER_GROUP
    done = threading.Event()

    def receiver() -> None:
        client = boto3.client(
            "sqs",
            endpoint_url=sqs.meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        while not done.is_set():
            messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1).get(
                "Messages", []
            )
            groups = {message["Body"].split(":")[0] for message in messages}
            with lock:
                overlaps.extend(sorted(groups & in_flight))
                in_flight.update(groups)
            with lock:
                for message in messages:
                    group, n = message["Body"].split(":")
                    handled[group].append(int(n))
                # Before the deletes: a group's next message may be handed out from then on.
                in_flight.difference_update(groups)
                if sum(map(len, handled.values())) >= total:
                    done.set()
            for message in messages:
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    threads = [threading.Thread(target=receiver) for _ in range(RECEIVERS)]
    for thread in threads:
        thread.start()
    finished = done.wait(60)
    done.set()
    for thread in threads:
        thread.join(10)

    assert finished, dict(handled)
    assert overlaps == []  # no group was ever handed to two receivers at once
    assert dict(handled) == {str(group): list(range(PER_GROUP)) for group in range(GROUPS)}
