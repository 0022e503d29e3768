"""The toy stack's layer: what the functions share (Lambda puts a layer on sys.path as /opt/python)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TOY_TABLE"])  # once per cold start


def record(kind: str, key: str, item: dict[str, Any]) -> None:
    """Remember something a function saw, for the tests to read back through /tools/records."""
    TABLE.put_item(Item={"PK": kind, "SK": f"{time.time_ns():020d}#{key}", "data": json.dumps(item)})


def records(kind: str) -> list[dict[str, Any]]:
    response = TABLE.query(
        KeyConditionExpression="PK = :kind", ExpressionAttributeValues={":kind": kind}, ConsistentRead=True
    )
    return [json.loads(item["data"]) for item in response["Items"]]


def json_response(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
