"""Test helpers inside the toy stack: send to its queues, read what workers recorded, peek the DLQ."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3
import toylib  # type: ignore[import-not-found]  # the toy layer, on sys.path as in Lambda

SQS = boto3.client("sqs")
QUEUES = {"work": os.environ["TOY_WORK_QUEUE_URL"], "ordered": os.environ["TOY_ORDERED_QUEUE_URL"]}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event["routeKey"]
    if route == "POST /tools/queues/{queue}":
        return _enqueue(event["pathParameters"]["queue"], json.loads(event["body"]))
    if route == "GET /tools/records/{kind}":
        return toylib.json_response(200, toylib.records(event["pathParameters"]["kind"]))
    if route == "GET /tools/dead-letters":
        return toylib.json_response(200, _dead_letters())
    names = sorted(name for name in os.environ if name.startswith(("TOY_", "AWS_REGION", "AWS_ENDPOINT")))
    return toylib.json_response(200, {name: os.environ[name] for name in names})


def _enqueue(queue: str, request: dict[str, Any]) -> dict[str, Any]:
    for body in request["bodies"]:
        extra = {}
        if queue == "ordered":
            extra = {"MessageGroupId": request["group"], "MessageDeduplicationId": str(uuid.uuid4())}
        attributes = {"origin": {"DataType": "String", "StringValue": "tools"}}
        SQS.send_message(QueueUrl=QUEUES[queue], MessageBody=body, MessageAttributes=attributes, **extra)
    return toylib.json_response(202, {"sent": len(request["bodies"])})


def _dead_letters() -> list[dict[str, Any]]:
    # VisibilityTimeout 0: a peek that leaves the messages for the next look.
    response = SQS.receive_message(
        QueueUrl=os.environ["TOY_WORK_DLQ_URL"],
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        MessageSystemAttributeNames=["All"],
    )
    return [
        {"body": message["Body"], "receive_count": message["Attributes"]["ApproximateReceiveCount"]}
        for message in response.get("Messages", [])
    ]
