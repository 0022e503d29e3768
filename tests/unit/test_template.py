"""template.yaml: every function is wired to code and a sample event, with least privilege.

Each rule is a small function over a ``Template`` so that it is checked twice: against the real
template, and against a deliberately broken one, which proves the rule can fail.
"""

from __future__ import annotations

import ast
import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from devstack.template import REPO_ROOT, HttpRoute, Intrinsic, Template, load_template

FUNCTIONS_DIR = REPO_ROOT / "functions"

# SAM policy templates that grant named actions on resources the caller names (no "*" inside).
SCOPED_POLICY_TEMPLATES = frozenset(
    {
        "AWSSecretsManagerGetSecretValuePolicy",
        "DynamoDBCrudPolicy",
        "DynamoDBReadPolicy",
        "DynamoDBStreamReadPolicy",
        "DynamoDBWritePolicy",
        "EventBridgePutEventsPolicy",
        "KMSDecryptPolicy",
        "KMSEncryptPolicy",
        "LambdaInvokePolicy",
        "S3CrudPolicy",
        "S3ReadPolicy",
        "S3WritePolicy",
        "SNSPublishMessagePolicy",
        "SQSPollerPolicy",
        "SQSSendMessagePolicy",
        "StepFunctionsExecutionPolicy",
    }
)

# AWS guidance for SQS-triggered functions: visibility timeout at least 6 x the function timeout.
VISIBILITY_FACTOR = 6
SQS_DEFAULT_VISIBILITY_TIMEOUT = 30

TEMPLATE = load_template()
FUNCTIONS = TEMPLATE.functions()


def function_ids(template: Template = TEMPLATE) -> list[str]:
    return [function.logical_id for function in template.functions()]


# ------------------------------------------------------------------------------- the rules


def top_level_names(path: Path) -> set[str]:
    """Names a module binds at top level (functions, classes, assignments)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def handler_modules(functions_dir: Path = FUNCTIONS_DIR) -> set[Path]:
    """Files under functions/ that define a top-level ``handler``: each must be a deployed function."""
    return {
        path.resolve()
        for path in functions_dir.rglob("*.py")
        if "__pycache__" not in path.parts and "handler" in top_level_names(path)
    }


def policy_violations(template: Template) -> list[str]:
    """Why a function's permissions are broader than a scoped SAM policy template."""
    problems: list[str] = []
    for function in template.functions():
        where = function.logical_id
        props = function.properties
        if "Role" in props:
            problems.append(f"{where}: a hand-written Role bypasses the per-function Policies")
        policies = props.get("Policies", [])
        for policy in policies if isinstance(policies, list) else [policies]:
            if not isinstance(policy, Mapping):
                problems.append(f"{where}: managed or named policy {policy!r}; use a SAM policy template")
            elif "Statement" in policy:
                problems.extend(f"{where}: {p}" for p in _statement_violations(policy["Statement"]))
            else:
                for name, arguments in policy.items():
                    if name not in SCOPED_POLICY_TEMPLATES:
                        problems.append(f"{where}: {name} is not a resource-scoped SAM policy template")
                    problems.extend(
                        f"{where}: {name} is given the wildcard {value!r}" for value in _wildcards(arguments)
                    )
    return problems


def _statement_violations(statements: Any) -> Iterator[str]:
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        for action in actions if isinstance(actions, list) else [actions]:
            if isinstance(action, str) and "*" in action:
                yield f"inline statement allows the wildcard action {action!r}"
        if "NotAction" in statement or "NotResource" in statement:
            yield "inline statement uses NotAction/NotResource"
        resources = statement.get("Resource", [])
        for resource in resources if isinstance(resources, list) else [resources]:
            if resource == "*":
                yield "inline statement applies to every resource ('*')"


def _wildcards(value: Any) -> Iterator[Any]:
    if isinstance(value, str) and value.strip() in ("*", ""):
        yield value
    elif isinstance(value, Intrinsic) and value.name == "Fn::Sub":
        text = value.value if isinstance(value.value, str) else value.value[0]
        if text.strip() in ("*", ""):
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _wildcards(item)
    elif isinstance(value, list):
        for item in value:
            yield from _wildcards(item)


def visibility_violations(template: Template) -> list[str]:
    """Queues whose visibility timeout is shorter than 6 x a consumer's timeout."""
    problems: list[str] = []
    for function in template.functions():
        for source in function.sqs_sources:
            queue = source.queue_logical_id
            props = template.resources[queue].get("Properties", {})
            visibility = int(props.get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY_TIMEOUT))
            if visibility < VISIBILITY_FACTOR * function.timeout:
                problems.append(
                    f"{queue}: VisibilityTimeout {visibility}s < {VISIBILITY_FACTOR} x "
                    f"{function.logical_id}'s Timeout {function.timeout}s"
                )
    return problems


def duplicate_routes(template: Template) -> list[str]:
    """HttpApi route keys ("GET /v1/things") declared more than once."""
    counts = Counter(route.route_key for function in template.functions() for route in function.routes)
    return sorted(key for key, count in counts.items() if count > 1)


def _parse(text: str) -> Template:
    """A template from YAML text, with the real template's Globals (for the broken examples)."""
    import yaml

    from devstack.template import _CfnLoader

    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return Template({"Globals": TEMPLATE.document.get("Globals", {}), **document})


# ------------------------------------------------------------------------- code and events


@pytest.mark.parametrize("logical_id", function_ids())
def test_function_handler_module_exists_and_defines_the_handler(logical_id: str) -> None:
    function = TEMPLATE.function(logical_id)
    if function.web_adapter:
        # The Handler is the Lambda Web Adapter's start script: it must be there and runnable.
        assert function.start_script.is_file(), f"{logical_id}: no start script {function.handler}"
        assert os.access(function.start_script, os.X_OK), (
            f"{logical_id}: {function.handler} is not executable"
        )
        return
    assert function.module_path.is_file(), f"{logical_id}: Handler {function.handler} -> no file"
    assert function.function_name in top_level_names(function.module_path), (
        f"{logical_id}: {function.module_path.relative_to(REPO_ROOT)} defines no {function.function_name}"
    )


@pytest.mark.parametrize("logical_id", function_ids())
def test_function_has_a_sample_event_for_its_trigger(logical_id: str) -> None:
    function = TEMPLATE.function(logical_id)
    assert function.event_path.is_file(), (
        f"{logical_id}: no {function.event_path.relative_to(REPO_ROOT)} "
        "(write it with `python -m tests.built.sample_events`)"
    )
    event = json.loads(function.event_path.read_text(encoding="utf-8"))
    if function.routes:
        assert event.get("version") == "2.0"
        assert event.get("routeKey") in {route.route_key for route in function.routes}
    elif function.sqs_sources:
        assert event["Records"] and all(r["eventSource"] == "aws:sqs" for r in event["Records"])
    elif function.schedules:
        assert event.get("detail-type") == "Scheduled Event"


def test_every_handler_module_under_functions_is_deployed() -> None:
    deployed = {function.module_path.resolve() for function in FUNCTIONS}
    undeployed = sorted(str(path.relative_to(REPO_ROOT)) for path in handler_modules() - deployed)
    assert not undeployed, f"handler modules no function in template.yaml uses: {undeployed}"


def test_a_module_with_a_top_level_handler_counts_as_a_handler_module(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "orphan.py").write_text("handler = object()\n")
    (tmp_path / "api" / "helpers.py").write_text("def helper(): ...\n")
    assert handler_modules(tmp_path) == {(tmp_path / "api" / "orphan.py").resolve()}


def test_every_sample_event_belongs_to_a_function() -> None:
    names = {path.stem for path in (REPO_ROOT / "events").glob("*.json")}
    assert names - set(function_ids()) == set(), "events/ has files for functions not in template.yaml"


# ---------------------------------------------------------------------------- permissions


def test_every_function_has_least_privilege_policies() -> None:
    assert policy_violations(TEMPLATE) == []


def test_every_function_that_touches_aws_has_policies() -> None:
    # Only the health check, the API document and the console (files in the package) and the
    # WebSocket API's ping and unknown-action answers need no AWS access; anything else without
    # Policies cannot work.
    no_policies = [f.logical_id for f in FUNCTIONS if not f.properties.get("Policies")]
    assert set(no_policies) <= {
        "HealthFunction",
        "GetOpenApiFunction",
        "GetDocsFunction",
        "GetConsoleFunction",
        "StreamPingFunction",
        "StreamDefaultFunction",
    }


@pytest.mark.parametrize(
    "policies",
    [
        "[AmazonDynamoDBFullAccess]",
        "[{CloudWatchPutMetricPolicy: {}}]",
        "[{DynamoDBCrudPolicy: {TableName: '*'}}]",
        "[{Statement: [{Effect: Allow, Action: 'dynamodb:*', Resource: !GetAtt Table.Arn}]}]",
        "[{Statement: [{Effect: Allow, Action: 'bedrock:InvokeModel', Resource: '*'}]}]",
    ],
)
def test_broad_policies_are_reported(policies: str) -> None:
    template = _parse(f"""
Resources:
  Table: {{Type: AWS::DynamoDB::Table}}
  Broad:
    Type: AWS::Serverless::Function
    Properties: {{Handler: api.health.get.handler, Policies: {policies}}}
""")
    assert policy_violations(template)


# --------------------------------------------------------------------------------- queues


def test_queue_visibility_timeout_is_six_times_every_consumer_timeout() -> None:
    assert visibility_violations(TEMPLATE) == []


def test_short_visibility_timeout_is_reported() -> None:
    template = _parse("""
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {VisibilityTimeout: 60}}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: workers.run.handler
      Timeout: 30
      Events: {Turns: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}}
""")
    assert visibility_violations(template) == ["Queue: VisibilityTimeout 60s < 6 x Worker's Timeout 30s"]


def dead_letter_queues(template: Template) -> set[str]:
    """Queues that are another queue's redrive target."""
    return {
        str(props["RedrivePolicy"]["deadLetterTargetArn"].value[0])
        for props in template.resources_of_type("AWS::SQS::Queue").values()
        if isinstance(props.get("RedrivePolicy", {}).get("deadLetterTargetArn"), Intrinsic)
    }


def test_queues_consumed_by_functions_redrive_to_a_dead_letter_queue() -> None:
    # A dead-letter queue's own consumer is the end of the line: its messages wait out retention.
    terminal = dead_letter_queues(TEMPLATE)
    for function in FUNCTIONS:
        for source in function.sqs_sources:
            if source.queue_logical_id in terminal:
                continue
            props = TEMPLATE.resources[source.queue_logical_id].get("Properties", {})
            assert props.get("RedrivePolicy", {}).get("maxReceiveCount"), source.queue_logical_id


def test_queue_consumers_report_partial_batch_failures() -> None:
    for function in FUNCTIONS:
        for source in function.sqs_sources:
            assert source.report_batch_item_failures, function.logical_id


# --------------------------------------------------------------------------------- routes


def test_http_api_routes_are_unique() -> None:
    assert duplicate_routes(TEMPLATE) == []


def test_a_route_declared_twice_is_reported() -> None:
    template = _parse("""
Resources:
  One:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.handler
      Events: {Api: {Type: HttpApi, Properties: {Method: get, Path: /v1/things}}}
  Two:
    Type: AWS::Serverless::Function
    Properties:
      Handler: b.handler
      Events: {Api: {Type: HttpApi, Properties: {Method: GET, Path: /v1/things}}}
""")
    assert duplicate_routes(template) == ["GET /v1/things"]


def test_only_setup_health_and_the_api_document_are_public_among_native_routes() -> None:
    # Compatibility routes (outside /v1) may have their own scheme; native ones all need an API key.
    public = {r.route_key for f in FUNCTIONS for r in f.routes if r.authorizer is None}
    native_public = {key for key in public if key.split(" ", 1)[1].startswith("/v1/")}
    assert native_public <= {"GET /v1/health", "GET /v1/setup", "POST /v1/setup", "GET /v1/openapi.json"}


def test_http_route_paths_use_api_gateway_parameter_syntax() -> None:
    routes: list[HttpRoute] = [route for function in FUNCTIONS for route in function.routes]
    assert all(route.path.startswith("/") and "<" not in route.path for route in routes)


# --------------------------------------------------------------------------- architecture


def test_architecture_defaults_to_arm64_and_drives_functions_and_layer() -> None:
    assert TEMPLATE.parameters["Architecture"]["Default"] == "arm64"
    assert TEMPLATE.function_globals["Architectures"] == [Intrinsic("Ref", "Architecture")]
    layer = TEMPLATE.resources["ParleyLayer"]
    assert layer["Metadata"]["BuildArchitecture"] == Intrinsic("Ref", "Architecture")
    assert layer["Properties"]["CompatibleArchitectures"] == [Intrinsic("Ref", "Architecture")]
    assert all("Architectures" not in function.properties for function in FUNCTIONS)
