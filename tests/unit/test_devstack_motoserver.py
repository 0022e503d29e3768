"""The devstack's moto patches give the answers unpatched moto gives.

One workload (DynamoDB updates, transactions, streams and the item size limit; SQS; EventBridge rules
with an SQS target) runs three times, each time in a fresh interpreter (the patches change moto's classes
for the whole process): once on plain moto, once with every patch of ``devstack.motoserver``, once
over HTTP against the devstack's moto server, and once over its link (devstack.awslink: the
devstack's own DynamoDB, SQS and EventBridge calls). The transcripts, minus what differs between any
two runs (ids, times, receipt handles), must match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
VOLATILE = {
    "MessageId",
    "ReceiptHandle",
    "MD5OfBody",
    "MD5OfMessageAttributes",
    "SentTimestamp",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "EventId",
    "eventID",
    "ApproximateCreationDateTime",
    "ShardIterator",
    "NextShardIterator",
    "id",
    "time",
    "ResponseMetadata",
    "LatestStreamArn",
    "LatestStreamLabel",
    "SizeBytes",  # of a stream record: it counts the digits of its time and sequence number
    "CreatedTimestamp",
    "LastModifiedTimestamp",
}


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in sorted(value.items()) if key not in VOLATILE}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set):
        return sorted(scrub(item) for item in value)
    return value


def workload() -> list[Any]:
    """Every call's answer (or error code and message), in order."""
    import boto3
    from botocore.exceptions import ClientError

    transcript: list[Any] = []

    def record(label: str, call: Any, **kwargs: Any) -> Any:
        try:
            answer = call(**kwargs)
        except ClientError as exc:
            transcript.append([label, "error", exc.response["Error"]])
            return None
        if isinstance(answer, dict) and "Body" in answer and hasattr(answer["Body"], "read"):
            answer = {**answer, "Body": answer["Body"].read()}
        transcript.append([label, scrub(answer)])
        return answer

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    for name, stream in (
        ("plain", None),
        ("streamed", {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}),
    ):
        ddb.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            **({"StreamSpecification": stream} if stream else {}),
        )
    item = {
        "pk": {"S": "ws#1"},
        "sk": {"S": "conv#1"},
        "title": {"S": "héllo wörld"},
        "count": {"N": "12.50"},
        "flags": {"BOOL": False},
        "nothing": {"NULL": True},
        "blob": {"B": b"\x00\x01binary"},
        "tags": {"SS": ["a", "bé"]},
        "scores": {"NS": ["1", "2.5"]},
        "blobs": {"BS": [b"x", b"yz"]},
        "meta": {
            "M": {"nested": {"M": {"deep": {"L": [{"S": "x"}, {"N": "3"}, {"M": {}}]}}}, "n": {"N": "1"}}
        },
        "steps": {"L": [{"M": {"kind": {"S": "model"}, "ms": {"N": "12"}}}]},
    }
    for table in ("plain", "streamed"):
        record("put", ddb.put_item, TableName=table, Item=item)
        # The same expressions again and again (parsed once when patched), with different values.
        for round_number in range(3):
            record(
                "update",
                ddb.update_item,
                TableName=table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET #t = :t, #m.#n = :n, #s = list_append(#s, :step) ADD #c :one REMOVE #x",
                ConditionExpression="attribute_exists(pk) AND #c >= :zero",
                ExpressionAttributeNames={
                    "#t": "title",
                    "#m": "meta",
                    "#n": "n",
                    "#s": "steps",
                    "#c": "count",
                    "#x": "flags",
                },
                ExpressionAttributeValues={
                    ":t": {"S": f"round {round_number}"},
                    ":n": {"M": {"round": {"N": str(round_number)}}},
                    ":step": {"L": [{"M": {"kind": {"S": "tool"}, "round": {"N": str(round_number)}}}]},
                    ":one": {"N": "1"},
                    ":zero": {"N": "0"},
                },
                ReturnValues=["ALL_NEW", "UPDATED_OLD", "ALL_OLD"][round_number],
            )
        record(
            "update fails its condition",
            ddb.update_item,
            TableName=table,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET #t = :t",
            ConditionExpression="#t = :other",
            ExpressionAttributeNames={"#t": "title"},
            ExpressionAttributeValues={":t": {"S": "no"}, ":other": {"S": "nope"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        # One expression whose shape passes with some attribute names and not with others (two
        # paths that overlap, a key attribute set), each way more than once: the patched validator
        # remembers a shape that passed, for those names alone.
        for names in (
            {"#a": "title", "#b": "count"},
            {"#a": "title", "#b": "title"},
            {"#a": "title", "#b": "count"},
            {"#a": "sk", "#b": "count"},
            {"#a": "title", "#b": "title"},
            {"#a": "sk", "#b": "count"},
        ):
            record(
                "update of two paths",
                ddb.update_item,
                TableName=table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET #a = :a, #b = :b",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":a": {"S": "a"}, ":b": {"N": "7"}},
                ReturnValues="ALL_NEW",
            )
        for _ in range(2):
            record(
                "two SET clauses",
                ddb.update_item,
                TableName=table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET #a = :a SET #b = :b",
                ExpressionAttributeNames={"#a": "title", "#b": "count"},
                ExpressionAttributeValues={":a": {"S": "a"}, ":b": {"N": "7"}},
            )
        record(
            "bad expression",
            ddb.update_item,
            TableName=table,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET = :t",
            ExpressionAttributeValues={":t": {"S": "x"}},
        )
        # The 400 KB limit: just under it passes, just over it fails (counted the same way).
        for size in (200_000, 200_000, 190_000, 20_000, 4_000):
            record(
                f"grow by {size}",
                ddb.update_item,
                TableName=table,
                Key={"pk": {"S": "ws#1"}, "sk": {"S": "big"}},
                UpdateExpression="SET #p = list_append(if_not_exists(#p, :empty), :chunk)",
                ExpressionAttributeNames={"#p": "parts"},
                ExpressionAttributeValues={":empty": {"L": []}, ":chunk": {"L": [{"S": "é" * (size // 2)}]}},
                ReturnValues="UPDATED_NEW" if size < 10_000 else "NONE",
            )
        record(
            "transaction",
            ddb.transact_write_items,
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": item["pk"], "sk": item["sk"]},
                        "UpdateExpression": "SET #t = :t",
                        "ExpressionAttributeNames": {"#t": "title"},
                        "ExpressionAttributeValues": {":t": {"S": "in a transaction"}},
                    }
                },
                {"Put": {"TableName": table, "Item": {"pk": {"S": "ws#1"}, "sk": {"S": "msg#1"}}}},
            ],
        )
        record(
            "failed transaction",
            ddb.transact_write_items,
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": item["pk"], "sk": item["sk"]},
                        "UpdateExpression": "SET #t = :t",
                        "ExpressionAttributeNames": {"#t": "title"},
                        "ExpressionAttributeValues": {":t": {"S": "rolled back"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "ws#1"}, "sk": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ],
        )
        record(
            "query",
            ddb.query,
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "ws#1"}},
        )

    # The stream's records: the old images are the copies UpdateItem makes for a table with a stream.
    if os.environ.get("AWS_ENDPOINT_URL"):
        transcript.append(["stream records", "in the server's process"])
    else:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table("streamed").stream_shard
        assert shard is not None
        transcript.append(["stream records", scrub([record.to_json() for record in shard.items])])

    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="targets")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name="us-east-1")
    events.create_event_bus(Name="bus")
    events.put_rule(Name="turns", EventBusName="bus", EventPattern=json.dumps({"source": ["parley"]}))
    events.put_targets(Rule="turns", EventBusName="bus", Targets=[{"Id": "queue", "Arn": queue_arn}])
    for n in range(3):
        record(
            "put events",
            events.put_events,
            Entries=[
                {
                    "EventBusName": "bus",
                    "Source": "parley",
                    "DetailType": "turn.completed",
                    "Detail": json.dumps({"n": n}),
                }
            ],
        )
        record("send", sqs.send_message, QueueUrl=queue_url, MessageBody=f"direct {n}")
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
    bodies = [json.loads(m["Body"]) if m["Body"].startswith("{") else m["Body"] for m in received["Messages"]]
    transcript.append(["received", sorted(json.dumps(scrub(body), sort_keys=True) for body in bodies)])
    record("queue attributes", sqs.get_queue_attributes, QueueUrl=queue_url, AttributeNames=["All"])
    return transcript


def _run(mode: str) -> list[Any]:
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.unit.test_devstack_motoserver", mode],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "left unpatched" not in completed.stderr, completed.stderr
    return list(json.loads(completed.stdout))


def test_patched_moto_answers_as_plain_moto_does() -> None:
    plain, patched = _run("plain"), _run("patched")
    assert len(patched) == len(plain)
    for mine, theirs in zip(patched, plain, strict=True):
        assert mine == theirs
    # The workload reached what it is about: updates that succeed, and the size limit on both sides.
    outcomes = {(entry[0], entry[1] == "error") for entry in plain}
    assert {("update", False), ("grow by 4000", False), ("grow by 20000", True)} <= outcomes
    assert {
        ("update of two paths", False),
        ("update of two paths", True),
        ("two SET clauses", True),
    } <= outcomes
    assert any(entry[0] == "stream records" and len(entry[1]) >= 8 for entry in plain)


def test_the_devstack_moto_server_answers_over_http_as_plain_moto_does() -> None:
    # Its patches, and its own dispatch of DynamoDB calls (without moto's Flask app), over HTTP;
    # the stream's records stay in the server's process.
    plain, served = _run("plain"), _run("server")
    assert [entry for entry in served if entry[0] != "stream records"] == [
        entry for entry in plain if entry[0] != "stream records"
    ]


def test_the_devstack_moto_server_answers_over_its_link_as_plain_moto_does() -> None:
    plain, linked = _run("plain"), _run("link")
    *answers, (label, carried) = linked
    assert label == "calls over the link"
    assert [entry for entry in answers if entry[0] != "stream records"] == [
        entry for entry in plain if entry[0] != "stream records"
    ]
    # Every DynamoDB, SQS and EventBridge call of the workload went over the link.
    assert carried >= len(plain)


def main(mode: str) -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    if mode in ("server", "link"):
        from devstack.awslink import Link
        from devstack.motoserver import MotoProcess

        server = MotoProcess(0, link=mode == "link")
        endpoint = os.environ["AWS_ENDPOINT_URL"] = server.start()
        link = Link(endpoint, server.link_path) if server.link_path else None
        try:
            if link is None:
                print(json.dumps(workload()))
                return
            link.install()
            transcript = workload()
            print(json.dumps([*transcript, ["calls over the link", link.calls]]))
        finally:
            if link is not None:
                link.uninstall()
            server.stop()
        return
    if mode == "patched":
        from devstack import motoserver

        for patch in motoserver.PATCHES:
            patch()
    with mock_aws():
        print(json.dumps(workload()))


if __name__ == "__main__":
    main(sys.argv[1])
