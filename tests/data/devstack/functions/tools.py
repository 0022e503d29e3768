"""Test helpers inside the toy stack: send to its queues, read what workers recorded, peek the DLQ."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3
import toylib  # type: ignore[import-not-found]  # the toy layer, on sys.path as in Lambda

SQS = boto3.client("sqs")
DYNAMODB = boto3.client("dynamodb")
QUEUES = {"work": os.environ["TOY_WORK_QUEUE_URL"], "ordered": os.environ["TOY_ORDERED_QUEUE_URL"]}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event["routeKey"]
    if route == "POST /tools/queues/{queue}":
        return _enqueue(event["pathParameters"]["queue"], json.loads(event["body"]))
    if route == "GET /tools/records/{kind}":
        return toylib.json_response(200, toylib.records(event["pathParameters"]["kind"]))
    if route == "GET /tools/dead-letters":
        return toylib.json_response(200, _dead_letters())
    if route == "POST /tools/transactions":
        return toylib.json_response(200, _transaction(json.loads(event["body"])))
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


def _transaction(request: dict[str, Any]) -> dict[str, Any]:
    """Write one item and check another in one transaction; the check fails when asked to."""
    table = os.environ["TOY_TABLE"]
    check_key = {"PK": {"S": "txn"}, "SK": {"S": "present" if not request["fail"] else "absent"}}
    DYNAMODB.put_item(TableName=table, Item={"PK": {"S": "txn"}, "SK": {"S": "present"}})
    try:
        DYNAMODB.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": "txn"}, "SK": {"S": request["key"]}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": check_key,
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
        cancelled = False
    except DYNAMODB.exceptions.TransactionCanceledException:
        cancelled = True
    item = DYNAMODB.get_item(TableName=table, Key={"PK": {"S": "txn"}, "SK": {"S": request["key"]}})
    return {"cancelled": cancelled, "written": "Item" in item}


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
