"""The event builders: shapes AWS sends, checked against moto where moto knows the answer."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.events import (
    LambdaContext,
    authorizer_event,
    http_event,
    md5_of_message_attributes,
    scheduled_event,
    sqs_record_from_message,
)
from devstack.template import HttpRoute

PUBLIC = HttpRoute("GET", "/v1/things/{thing_id}", None)
AUTHORIZED = HttpRoute("POST", "/v1/things", "ApiKeyAuthorizer")


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def test_sqs_record_carries_the_md5_sqs_computes_over_message_attributes(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    attributes = {
        "kind": {"DataType": "String", "StringValue": "turn"},
        "size": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes=attributes)
    message = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"][0]

    record = sqs_record_from_message(message, "arn:aws:sqs:us-east-1:123456789012:q")

    assert record["md5OfMessageAttributes"] == message["MD5OfMessageAttributes"]
    assert record["md5OfBody"] == message["MD5OfBody"]
    assert record["messageAttributes"]["blob"]["binaryValue"] == base64.b64encode(b"\x00\x01").decode()
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert md5_of_message_attributes(record["messageAttributes"]) == message["MD5OfMessageAttributes"]


def test_body_without_a_text_content_type_is_base64_encoded() -> None:
    event = http_event(PUBLIC, "GET", "/v1/things/1", {"thing_id": "1"}, body=b"a=1&b=2")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"a=1&b=2"


def test_json_body_is_passed_as_text() -> None:
    event = http_event(
        AUTHORIZED, "POST", "/v1/things", headers={"Content-Type": "application/json"}, body=b"{}"
    )

    assert (event["body"], event["isBase64Encoded"]) == ("{}", False)


def test_authorizer_context_appears_only_on_authorized_routes() -> None:
    authorized = http_event(AUTHORIZED, "POST", "/v1/things", authorizer_context={"workspace_id": "w"})
    public = http_event(PUBLIC, "GET", "/v1/things/1", authorizer_context={"workspace_id": "w"})

    assert authorized["requestContext"]["authorizer"] == {"lambda": {"workspace_id": "w"}}
    assert "authorizer" not in public["requestContext"]


def test_authorizer_event_is_a_payload_2_request_event() -> None:
    event = authorizer_event(
        AUTHORIZED,
        "POST",
        "/v1/things",
        raw_query_string="x=1",
        headers={"X-Api-Key": "k"},
        identity_source=["k"],
    )

    assert (event["version"], event["type"]) == ("2.0", "REQUEST")
    assert event["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/$default/POST/v1/things"
    assert event["identitySource"] == ["k"]
    assert event["headers"] == {"x-api-key": "k"}
    assert event["queryStringParameters"] == {"x": "1"}
    assert "body" not in event


def test_scheduled_event_names_its_rule() -> None:
    event = scheduled_event("arn:aws:events:us-east-1:123456789012:rule/r")

    assert (event["detail-type"], event["source"], event["detail"]) == ("Scheduled Event", "aws.events", {})
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/r"]


def test_context_counts_down_from_the_function_timeout() -> None:
    context = LambdaContext("parley-Fn", timeout_seconds=2, memory_limit_in_mb=512)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)

    assert 1900 < first <= 2000
    assert context.get_remaining_time_in_millis() < first
    assert context.memory_limit_in_mb == "512"  # a string, as in the Python runtime
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:parley-Fn"
