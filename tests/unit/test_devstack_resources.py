"""Local resources are created from template.yaml's own definitions and resolve the functions' env."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from devstack.resources import LocalResources, create_resources, notification_configuration
from devstack.runtime import shared_environment
from devstack.template import Intrinsic, Template, load_template

QUEUE_URL_PREFIX = "https://sqs.us-east-1.amazonaws.com/123456789012/"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def resources(aws: None) -> LocalResources:
    return create_resources(load_template())


def test_every_table_has_the_templates_keys_indexes_and_ttl(resources: LocalResources) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    for logical_id, props in resources.template.resources_of_type("AWS::DynamoDB::Table").items():
        name = resources.ref(logical_id)
        table = dynamodb.describe_table(TableName=name)["Table"]

        assert table["KeySchema"] == props["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            props["AttributeDefinitions"], key=str
        )
        expected_indexes = {
            index["IndexName"]: index["KeySchema"] for index in props.get("GlobalSecondaryIndexes", [])
        }
        actual_indexes = {
            index["IndexName"]: index["KeySchema"] for index in table.get("GlobalSecondaryIndexes", [])
        }
        assert actual_indexes == expected_indexes
        if "TimeToLiveSpecification" in props:
            ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]


def test_every_queue_exists_with_its_redrive_policy_pointing_at_its_dlq(resources: LocalResources) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    for logical_id, props in resources.template.resources_of_type("AWS::SQS::Queue").items():
        attributes = sqs.get_queue_attributes(QueueUrl=resources.ref(logical_id), AttributeNames=["All"])[
            "Attributes"
        ]

        assert attributes["QueueArn"] == resources.get_att(logical_id, "Arn")
        assert attributes.get("FifoQueue", "false") == str(props.get("FifoQueue", False)).lower()
        if "VisibilityTimeout" in props:
            assert attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"])
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            dlq = props["RedrivePolicy"]["deadLetterTargetArn"].value[0]
            assert redrive["deadLetterTargetArn"] == resources.get_att(dlq, "Arn")
            assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]


def test_buckets_and_event_buses_exist(resources: LocalResources) -> None:
    buckets = {b["Name"] for b in boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]}
    buses = {
        b["Name"] for b in boto3.client("events", region_name="us-east-1").list_event_buses()["EventBuses"]
    }

    assert {resources.ref(b) for b in resources.template.resources_of_type("AWS::S3::Bucket")} <= buckets
    assert {resources.ref(b) for b in resources.template.resources_of_type("AWS::Events::EventBus")} <= buses


def test_event_rules_forward_matching_events_to_their_queue_targets(resources: LocalResources) -> None:
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    bus = resources.ref("EventBus")

    events.put_events(
        Entries=[
            {
                "Source": "parley",
                "DetailType": "turn.completed",
                "Detail": '{"turn_id": "t"}',
                "EventBusName": bus,
            },
            {"Source": "elsewhere", "DetailType": "turn.completed", "Detail": "{}", "EventBusName": bus},
        ]
    )

    rules = events.list_rules(EventBusName=bus)["Rules"]
    assert [rule["Name"] for rule in rules] == ["parley-WebhookEventsRule"]
    received = sqs.receive_message(QueueUrl=resources.ref("WebhookEventsQueue"), MaxNumberOfMessages=10)
    bodies = [json.loads(message["Body"]) for message in received.get("Messages", [])]
    assert [(body["source"], body["detail-type"], body["detail"]) for body in bodies] == [
        ("parley", "turn.completed", {"turn_id": "t"})
    ]


def test_the_files_bucket_notifies_the_ingest_queue_of_object_events_under_workspaces(
    resources: LocalResources,
) -> None:
    # Given the template's bucket and queue, as the devstack creates them
    s3 = boto3.client("s3", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    bucket, queue = resources.ref("FilesBucket"), resources.ref("IngestQueue")
    configured = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert sorted(entry["Events"][0] for entry in configured) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    assert {entry["QueueArn"] for entry in configured} == {resources.get_att("IngestQueue", "Arn")}
    test_event = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["Event"] for m in test_event] == ["s3:TestEvent"]  # as S3 sends it
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=test_event[0]["ReceiptHandle"])

    # When an object is put and removed under workspaces/, and another one outside it
    key = "workspaces/ws_1/files/file_1/a b.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"hello")
    s3.put_object(Bucket=bucket, Key="elsewhere/x.txt", Body=b"ignored")
    s3.delete_object(Bucket=bucket, Key=key)

    # Then the queue holds the two events of the first object only (keys URL-encoded, as S3 sends them)
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    records = [record for m in received for record in json.loads(m["Body"])["Records"]]
    assert sorted(
        (r["eventName"].split(":")[0], unquote_plus(r["s3"]["object"]["key"])) for r in records
    ) == [
        ("ObjectCreated", key),
        ("ObjectRemoved", key),
    ]


def test_cloudformation_notification_configuration_becomes_the_s3_api_shape() -> None:
    resolved = {
        "QueueConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Queue": "arn:aws:sqs:us-east-1:123456789012:q",
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "in/"}]}},
            }
        ],
        "TopicConfigurations": [{"Event": "s3:ObjectRemoved:*", "Topic": "arn:aws:sns:us-east-1:1:t"}],
        "LambdaConfigurations": [{"Event": "s3:ObjectCreated:Put", "Function": "arn:aws:lambda:f"}],
        "EventBridgeConfiguration": {"EventBridgeEnabled": True},
    }

    assert notification_configuration(resolved) == {
        "QueueConfigurations": [
            {
                "QueueArn": "arn:aws:sqs:us-east-1:123456789012:q",
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}},
            }
        ],
        "TopicConfigurations": [{"TopicArn": "arn:aws:sns:us-east-1:1:t", "Events": ["s3:ObjectRemoved:*"]}],
        "LambdaConfigurations": [
            {"LambdaFunctionArn": "arn:aws:lambda:f", "Events": ["s3:ObjectCreated:Put"]}
        ],
        "EventBridgeConfiguration": {},
    }


def test_creating_twice_is_harmless(resources: LocalResources) -> None:
    again = create_resources(resources.template)

    assert again.queue_urls == resources.queue_urls


def test_function_environment_resolves_to_the_local_resources(resources: LocalResources) -> None:
    environment = resources.environment(resources.template.functions()[0])

    assert environment["PARLEY_TABLE"] == resources.ref("Table")
    assert environment["PARLEY_TURNS_QUEUE_URL"] == f"{QUEUE_URL_PREFIX}parley-TurnsQueue.fifo"
    assert environment["PARLEY_EVENT_BUS"] == "parley-events"  # Name: !Sub "${AWS::StackName}-events"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"  # the LogLevel parameter's default


def test_all_functions_of_template_yaml_agree_on_one_environment(resources: LocalResources) -> None:
    shared = shared_environment(resources, resources.template.functions())

    assert shared["PARLEY_TABLE"] == resources.ref("Table")


def toy_template(first: Any, second: Any) -> Template:
    def function(value: Any) -> dict[str, Any]:
        return {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Handler": "x.handler", "Environment": {"Variables": {"NAME": value}}},
        }

    return Template(
        {
            "Resources": {
                "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
                "One": function(first),
                "Two": function(second),
            }
        }
    )


def test_functions_that_disagree_on_a_variable_fail_loudly() -> None:
    template = toy_template(Intrinsic("Ref", "Table"), "something else")
    resources = LocalResources(template)

    with pytest.raises(ValueError, match="NAME differs between One"):
        shared_environment(resources, template.functions())


def test_intrinsics_resolve_to_local_names_and_pseudo_parameters() -> None:
    resources = LocalResources(toy_template("a", "a"))

    assert resources.ref("Table") == "parley-Table"
    assert resources.get_att("Table", "Arn") == "arn:aws:dynamodb:us-east-1:123456789012:table/parley-Table"
    assert resources.resolve(Intrinsic("Fn::Sub", "${AWS::StackName}-${AWS::Region}-${Table}")) == (
        "parley-us-east-1-parley-Table"
    )
    assert resources.ref("One") == "parley-One"
