"""The template's tables, queues, buckets and buses, created locally (moto) from their own definitions.

``create_resources`` uses plain ``boto3.client(...)``, so the same code creates the resources in
moto's in-process ``mock_aws()`` (tests) and on the devstack's moto server (``AWS_ENDPOINT_URL``).
``LocalResources`` then answers ``!Ref`` / ``!GetAtt`` for every logical id of the template, which is
how functions' environments are resolved to the local physical names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from devstack.template import FunctionSpec, Intrinsic, Template, resolve

STACK_NAME = "parley"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
PSEUDO_PARAMETERS = {
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::Partition": "aws",
    "AWS::NoValue": "",
}

# The property that names a resource, per type; without it the physical name is parley-<LogicalId>.
NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::ApiGatewayV2::Stage": "StageName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Serverless::LayerVersion": "LayerName",
}

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
EVENT_BUS = "AWS::Events::EventBus"
EVENT_RULE = "AWS::Events::Rule"


@dataclass
class LocalResources:
    """Physical names and attributes of the template's resources in the local (moto) account."""

    template: Template
    parameters: Mapping[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)  # logical id -> URL returned by moto

    def ref(self, logical_id: str) -> str:
        """The value of ``!Ref logical_id``."""
        if logical_id in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[logical_id]
        if logical_id in self.template.parameters:
            return self._parameter(logical_id)
        kind = self._type(logical_id)
        if kind == QUEUE:
            return self.queue_urls.get(logical_id) or self._default_queue_url(logical_id)
        if kind == "AWS::Serverless::LayerVersion":
            return self._arn(logical_id, kind)
        if kind in ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"):
            return "local"
        return self.physical_name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        """The value of ``!GetAtt logical_id.attribute``."""
        kind = self._type(logical_id)
        name = self.physical_name(logical_id)
        if attribute == "Arn":
            return self._arn(logical_id, kind)
        attributes = {
            "QueueName": name,
            "QueueUrl": self.ref(logical_id),
            "Name": name,
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            "ApiEndpoint": "http://127.0.0.1",
        }
        if attribute not in attributes:
            raise ValueError(f"the devstack does not know {logical_id}.{attribute}")
        return attributes[attribute]

    def environment(self, function: FunctionSpec) -> dict[str, str]:
        """The function's environment variables (Globals + Properties), resolved to local resources."""
        return {name: _as_env_value(self.resolve(value)) for name, value in function.environment.items()}

    def queue_url_for(self, intrinsic: Any) -> str:
        """The URL of the queue an SQS event source names (``!GetAtt Q.Arn``, ``!Ref Q`` ...)."""
        return self.ref(_logical_id(intrinsic))

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsics in ``value`` against the local resources."""
        return resolve(value, self.ref, self.get_att)

    def physical_name(self, logical_id: str) -> str:
        kind = self._type(logical_id)
        props = self.template.resources[logical_id].get("Properties", {})
        name_property = NAME_PROPERTIES.get(kind)
        if name_property and props.get(name_property):
            return str(self.resolve(props[name_property]))
        if kind == BUCKET:
            return f"{STACK_NAME}-{logical_id}".lower()  # S3 bucket names are lower case
        suffix = ".fifo" if kind == QUEUE and _truthy(props.get("FifoQueue")) else ""
        return f"{STACK_NAME}-{logical_id}{suffix}"

    def _parameter(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        default = self.template.parameters[name].get("Default")
        if default is None:
            raise ValueError(f"template parameter {name} has no Default and no local value")
        return _as_env_value(default)

    def _type(self, logical_id: str) -> str:
        if logical_id not in self.template.resources:
            raise ValueError(f"template has no resource or parameter {logical_id!r}")
        return str(self.template.resources[logical_id].get("Type"))

    def _arn(self, logical_id: str, kind: str) -> str:
        name = self.physical_name(logical_id)
        arns: dict[str, Callable[[], str]] = {
            TABLE: lambda: f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            QUEUE: lambda: f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            BUCKET: lambda: f"arn:aws:s3:::{name}",
            EVENT_BUS: lambda: f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}",
            "AWS::Serverless::Function": lambda: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            "AWS::Logs::LogGroup": lambda: f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*",
            "AWS::Serverless::LayerVersion": lambda: f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{name}:1",
        }
        return arns.get(kind, lambda: f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{logical_id}")()

    def _default_queue_url(self, logical_id: str) -> str:
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{self.physical_name(logical_id)}"


def create_resources(template: Template, parameters: Mapping[str, str] | None = None) -> LocalResources:
    """Create every table, queue, bucket and event bus of ``template`` (dependencies first)."""
    resources = LocalResources(template, dict(parameters or {}))
    creators: dict[str, Callable[[LocalResources, str, Mapping[str, Any]], None]] = {
        TABLE: _create_table,
        QUEUE: _create_queue,
        BUCKET: _create_bucket,
        EVENT_BUS: _create_event_bus,
        EVENT_RULE: _create_rule,
    }
    for logical_id in _dependency_order(template):
        resource = template.resources[logical_id]
        create = creators.get(resource.get("Type", ""))
        if create:
            create(resources, logical_id, resources.resolve(resource.get("Properties", {})))
    return resources


def _dependency_order(template: Template) -> list[str]:
    """Logical ids ordered so that each resource comes after the resources its properties name."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in ordered or logical_id not in template.resources:
            return
        if logical_id in visiting:
            raise ValueError(f"circular reference through {logical_id}")
        visiting.add(logical_id)
        for dependency in _references(template.resources[logical_id].get("Properties", {})):
            visit(dependency)
        visiting.discard(logical_id)
        ordered.append(logical_id)

    for logical_id in template.resources:
        visit(logical_id)
    return ordered


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, Intrinsic):
        if value.name in ("Ref", "Fn::GetAtt"):
            yield _logical_id(value)
        elif value.name == "Fn::Sub":
            text, variables = (value.value, {}) if isinstance(value.value, str) else value.value
            for name in _sub_names(text):
                yield name.split(".", 1)[0]
            yield from _references(variables)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _sub_names(text: str) -> list[str]:
    return [name for name in re.findall(r"\$\{([^}!]+)\}", text) if not name.startswith("AWS::")]


def _logical_id(intrinsic: Any) -> str:
    if isinstance(intrinsic, Intrinsic) and intrinsic.name == "Ref":
        return str(intrinsic.value)
    if isinstance(intrinsic, Intrinsic) and intrinsic.name == "Fn::GetAtt":
        return str(intrinsic.value[0])
    raise ValueError(f"cannot tell which resource {intrinsic!r} names")


def _create_table(resources: LocalResources, logical_id: str, props: Mapping[str, Any]) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    name = resources.physical_name(logical_id)
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if props.get(key):
            request[key] = props[key]
    if props.get("StreamSpecification"):
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    try:
        client.create_table(**request)
    except ClientError as exc:
        if _error_code(exc) != "ResourceInUseException":  # already there: idempotent restart
            raise
    ttl = props.get("TimeToLiveSpecification")
    if ttl and _truthy(ttl.get("Enabled")):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )


def _create_queue(resources: LocalResources, logical_id: str, props: Mapping[str, Any]) -> None:
    client = boto3.client("sqs", region_name=REGION)
    attributes = {
        key: _as_queue_attribute(value) for key, value in props.items() if key not in ("QueueName", "Tags")
    }
    try:
        url = client.create_queue(QueueName=resources.physical_name(logical_id), Attributes=attributes)
    except ClientError as exc:
        if _error_code(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = client.get_queue_url(QueueName=resources.physical_name(logical_id))
    resources.queue_urls[logical_id] = url["QueueUrl"]


def _create_bucket(resources: LocalResources, logical_id: str, props: Mapping[str, Any]) -> None:
    client = boto3.client("s3", region_name=REGION)
    name = resources.physical_name(logical_id)
    try:
        client.create_bucket(Bucket=name)
    except ClientError as exc:
        if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    if props.get("NotificationConfiguration"):
        # moto then sends the bucket's object events to the queue, as S3 does (a replace: idempotent).
        client.put_bucket_notification_configuration(
            Bucket=name,
            NotificationConfiguration=notification_configuration(props["NotificationConfiguration"]),
        )


# CloudFormation's notification targets and the S3 API's names for them.
_NOTIFICATION_TARGETS = {
    "QueueConfigurations": ("Queue", "QueueArn"),
    "TopicConfigurations": ("Topic", "TopicArn"),
    "LambdaConfigurations": ("Function", "LambdaFunctionArn"),
}


def notification_configuration(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """A bucket's ``NotificationConfiguration`` (CloudFormation, intrinsics resolved) in the shape of
    S3's PutBucketNotificationConfiguration: one ``Event`` becomes ``Events: [...]``, the target is an
    ARN field, and ``Filter.S3Key.Rules`` becomes ``Filter.Key.FilterRules``."""
    configuration: dict[str, Any] = {}
    for section, (target, arn_field) in _NOTIFICATION_TARGETS.items():
        entries = []
        for entry in resolved.get(section, []):
            converted: dict[str, Any] = {arn_field: entry[target], "Events": [entry["Event"]]}
            rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            if rules:
                converted["Filter"] = {
                    "Key": {"FilterRules": [{"Name": rule["Name"], "Value": rule["Value"]} for rule in rules]}
                }
            entries.append(converted)
        if entries:
            configuration[section] = entries
    if _truthy(resolved.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled")):
        configuration["EventBridgeConfiguration"] = {}
    return configuration


def _create_event_bus(resources: LocalResources, logical_id: str, props: Mapping[str, Any]) -> None:
    client = boto3.client("events", region_name=REGION)
    try:
        client.create_event_bus(Name=resources.physical_name(logical_id))
    except ClientError as exc:
        if _error_code(exc) != "ResourceAlreadyExistsException":
            raise


def _create_rule(resources: LocalResources, logical_id: str, props: Mapping[str, Any]) -> None:
    """The rule and its targets: moto then forwards matching put_events to them (SQS targets)."""
    client = boto3.client("events", region_name=REGION)
    name = resources.physical_name(logical_id)
    bus = props.get("EventBusName") or "default"
    request: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
    if props.get("EventPattern"):
        pattern = props["EventPattern"]
        request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    if props.get("ScheduleExpression"):
        request["ScheduleExpression"] = props["ScheduleExpression"]
    client.put_rule(**request)  # an upsert: idempotent restart
    targets = [{"Id": target["Id"], "Arn": target["Arn"]} for target in props.get("Targets", [])]
    if targets:
        client.put_targets(Rule=name, EventBusName=bus, Targets=targets)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _as_queue_attribute(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)  # RedrivePolicy / RedriveAllowPolicy are JSON documents in the API
    return _as_env_value(value)


def _as_env_value(value: Any) -> str:
    """CloudFormation's string form of a scalar (booleans are lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"
