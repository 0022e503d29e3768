"""The devstack's link to its local AWS: DynamoDB, SQS and EventBridge calls over a Unix socket,
everything else over HTTP, and botocore as it was once the link is gone.

(That the link's answers are moto's own is tests/unit/test_devstack_motoserver.py's equivalence run.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.httpsession import URLLib3Session

from devstack.awslink import Link
from devstack.motoserver import MotoProcess

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture
def server() -> Iterator[MotoProcess]:
    process = MotoProcess(0, link=True)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def link(server: MotoProcess) -> Iterator[Link]:
    assert server.link_path is not None
    installed = Link(server.endpoint, server.link_path)
    installed.install()
    yield installed
    installed.uninstall()


def client(server: MotoProcess, service: str, **config: Any) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint, config=Config(**config), **CREDENTIALS)


def test_json_protocol_calls_go_over_the_link_and_s3_over_http(server: MotoProcess, link: Link) -> None:
    dynamodb = client(server, "dynamodb")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(
            TableName="t", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)"
        )
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    sqs = client(server, "sqs")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "hello"
    assert link.calls == 7  # an error answer is an answer too

    s3 = client(server, "s3")
    s3.create_bucket(Bucket="files")
    s3.put_object(Bucket="files", Key="k", Body=b"over http")
    assert s3.get_object(Bucket="files", Key="k")["Body"].read() == b"over http"
    assert link.calls == 7


def test_a_call_fails_as_a_connection_error_when_the_local_aws_is_gone(
    server: MotoProcess, link: Link
) -> None:
    sqs = client(server, "sqs", retries={"total_max_attempts": 1})
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    server.stop()
    with pytest.raises(EndpointConnectionError):
        sqs.send_message(QueueUrl=queue, MessageBody="lost")


def test_uninstalled_botocore_sends_over_http_again(server: MotoProcess) -> None:
    before = URLLib3Session.send
    assert server.link_path is not None
    link = Link(server.endpoint, server.link_path)
    link.install()
    with pytest.raises(RuntimeError):
        Link(server.endpoint, server.link_path).install()  # one per process
    link.uninstall()
    assert URLLib3Session.send is before
    client(server, "sqs").create_queue(QueueName="after")
    assert link.calls == 0


def test_uninstalling_ends_a_long_poll_in_flight(server: MotoProcess) -> None:
    assert server.link_path is not None
    link = Link(server.endpoint, server.link_path)
    link.install()
    sqs = client(server, "sqs", retries={"total_max_attempts": 1}, read_timeout=30)
    queue = sqs.create_queue(QueueName="idle")["QueueUrl"]
    outcome: list[BaseException] = []

    def poll() -> None:
        try:
            sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)
        except BaseException as exc:
            outcome.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)  # the poll is waiting in the local AWS
    link.uninstall()
    poller.join(timeout=5)
    assert not poller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], EndpointConnectionError)


def test_an_answer_later_than_the_read_timeout_is_a_read_timeout_as_over_http(
    server: MotoProcess, link: Link
) -> None:
    sqs = client(server, "sqs", retries={"total_max_attempts": 1}, read_timeout=0.5)
    queue = sqs.create_queue(QueueName="slow")["QueueUrl"]
    with pytest.raises(ReadTimeoutError):
        sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=3)

    # and the next call, on the same thread, gets its own answer, not the late one
    assert sqs.get_queue_url(QueueName="slow")["QueueUrl"] == queue
    assert link.calls == 2
