"""Functions invoked in-process against moto, with every botocore API call they make recorded.

The harness behind ``bench.aws_calls`` and ``bench.overhead``: the template's resources created in
``moto.mock_aws``, the functions' environment set, each function loaded once by file path (a warm
container), and a ``before-call``/``after-call`` hook on parley's botocore session
(``parley.aws.session()``), which every AWS client of parley is created from (installed before any
client exists: a client copies the session's hooks when it is made). A recorded call spans
botocore's request (moto included) and response parsing; the parameter validation and
serialisation before it is not in it.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from devstack.events import LambdaContext, authorizer_event, http_event, sqs_event, sqs_record_from_message
from devstack.resources import REGION, LocalResources, create_resources
from devstack.runtime import Handler, code_paths, load_module, prepare_process
from devstack.template import Template, load_template

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Would point boto3 somewhere other than moto's in-process mock.
UNSET_FOR_MOCK = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass
class AwsCall:
    operation: str  # "dynamodb.GetItem"
    seconds: float


@dataclass
class CallRecorder:
    """botocore's before-call/after-call events on parley's session, recorded while ``active``."""

    active: bool = False
    calls: list[AwsCall] = field(default_factory=list)
    _started: list[float] = field(default_factory=list)

    def install(self) -> None:
        from parley import aws  # importable once prepare_process has put the layer on sys.path

        aws.session().register("before-call", self._before)
        aws.session().register("after-call", self._after)

    def _before(self, **kwargs: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, event_name: str, **kwargs: Any) -> None:
        ended = time.perf_counter()
        started = self._started.pop()
        if self.active:
            _, service, operation = event_name.split(".", 2)
            self.calls.append(AwsCall(f"{service}.{operation}", ended - started))

    @contextmanager
    def recording(self) -> Iterator[list[AwsCall]]:
        self.calls, self.active = [], True
        try:
            yield self.calls
        finally:
            self.active = False


@dataclass
class Response:
    status: int
    body: Any


class Functions:
    """Warm containers of the template's functions, invoked with real-shaped events."""

    def __init__(self, template: Template, resources: LocalResources, recorder: CallRecorder) -> None:
        self.template = template
        self.resources = resources
        self.recorder = recorder
        self._handlers: dict[str, Handler] = {}
        self._authorized: dict[tuple[str, str], dict[str, Any]] = {}
        self._granted: dict[str, dict[str, Any]] = {}

    def grant(self, key: str, context: Mapping[str, Any]) -> None:
        """Requests made with ``key`` carry this authorizer context (a principal of another workspace
        without minting a key for it; the authorizer itself is measured on the set-up key)."""
        self._granted[key] = dict(context)

    def handler(self, logical_id: str) -> Handler:
        if logical_id not in self._handlers:
            spec = self.template.function(logical_id)
            handler = getattr(load_module(spec, f"parley_fn.{logical_id}"), spec.function_name)
            self._handlers[logical_id] = handler
        return self._handlers[logical_id]

    def context(self, logical_id: str) -> LambdaContext:
        spec = self.template.function(logical_id)
        return LambdaContext(logical_id, spec.timeout, spec.memory_size)

    def authorizer_request(self, logical_id: str, key: str, path: Mapping[str, str] | None = None) -> Any:
        route = self.template.function(logical_id).routes[0]
        raw_path = _raw_path(route.path, path)
        return authorizer_event(route, route.method, raw_path, headers=[("authorization", f"Bearer {key}")])

    def authorize(self, logical_id: str, key: str, path: Mapping[str, str] | None = None) -> dict[str, Any]:
        """What the authorizer puts in requestContext.authorizer.lambda (cached per route and key)."""
        cached = self._authorized.get((logical_id, key)) or self._granted.get(key)
        if cached is None:
            event = self.authorizer_request(logical_id, key, path)
            result = self.handler("AuthorizerFunction")(event, self.context("AuthorizerFunction"))
            assert result["isAuthorized"], result
            cached = self._authorized[(logical_id, key)] = result["context"]
        return cached

    def http_request(
        self,
        logical_id: str,
        *,
        key: str | None = None,
        path: Mapping[str, str] | None = None,
        query: str = "",
        body: Any = None,
    ) -> dict[str, Any]:
        """The API Gateway (HTTP API, payload 2.0) event for one request to the function's route."""
        route = self.template.function(logical_id).routes[0]
        return http_event(
            route,
            route.method,
            _raw_path(route.path, path),
            path_parameters=path,
            raw_query_string=query,
            headers=[("content-type", "application/json")],
            body=json.dumps(body).encode() if body is not None else None,
            authorizer_context=self.authorize(logical_id, key, path) if key and route.authorizer else None,
        )

    def call(self, logical_id: str, event: Any) -> Any:
        return self.handler(logical_id)(event, self.context(logical_id))

    def http(self, logical_id: str, **request: Any) -> Response:
        response = self.call(logical_id, self.http_request(logical_id, **request))
        raw = response.get("body")
        return Response(response["statusCode"], json.loads(raw) if raw else None)

    def turn_records(self) -> list[dict[str, Any]]:
        """The turns queue's visible messages as Lambda records (received, not yet deleted)."""
        return self.queue_records("TurnsQueue")

    def queue_records(self, queue: str) -> list[dict[str, Any]]:
        """Up to 10 visible messages of the template's queue ``queue``, taken off it, as Lambda records."""
        sqs = boto3.client("sqs", region_name=REGION)
        url, arn = self.resources.ref(queue), self.resources.get_att(queue, "Arn")
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        for message in received:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [sqs_record_from_message(message, arn) for message in received]

    def run_turns(self) -> int:
        """Deliver every queued turn to the worker, one record per invocation; how many ran."""
        delivered = 0
        while records := self.turn_records():
            for record in records:
                result = self.call("RunTurnFunction", sqs_event([record]))
                assert not result.get("batchItemFailures"), result
                delivered += 1
        return delivered


def _raw_path(template_path: str, path: Mapping[str, str] | None) -> str:
    raw = template_path
    for name, value in (path or {}).items():
        raw = raw.replace("{" + name + "}", value)
    return raw


def _forget_cold_start_caches() -> None:
    """Clear what parley caches for a container's life (settings, AWS clients), as tests do."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "parley" or name.startswith("parley.")):
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


# Open for the life of the process: parley's logger keeps the stream it was first created with.
_NULL = open(os.devnull, "w")  # noqa: SIM115


@contextmanager
def mocked_functions() -> Iterator[Functions]:
    """moto in-process with the template's resources and the functions' environment and sys.path.

    The functions' log lines go to /dev/null, as cheap a sink as Lambda's stdout, and out of the report.
    """
    saved = dict(os.environ)
    for name in UNSET_FOR_MOCK:
        os.environ.pop(name, None)
    os.environ.update(DUMMY_CREDENTIALS)
    try:
        with redirect_stdout(_NULL), mock_aws():
            yield _functions()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def served_functions() -> Iterator[Functions]:
    """As ``mocked_functions``, with AWS in a process of its own: the devstack's moto server on loopback.

    What a handler does outside its AWS calls is then measured alone: in-process moto runs in the same
    interpreter (its deep copies of the table churn the heap and the caches the handler runs in next),
    where AWS runs elsewhere, as it does for a Lambda function.
    """
    from devstack.motoserver import MotoProcess
    from devstack.runtime import aws_environment

    moto = MotoProcess(0)
    endpoint = moto.start()
    saved = dict(os.environ)
    for name in UNSET_FOR_MOCK:
        os.environ.pop(name, None)
    os.environ.update(aws_environment(endpoint))
    try:
        with redirect_stdout(_NULL):
            yield _functions()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        moto.stop()


def _functions() -> Functions:
    template = load_template()
    resources = create_resources(template)
    environment: dict[str, str] = {}
    for function in template.functions():
        environment.update(resources.environment(function))
    # As the devstack does: setup creates a default agent on the offline `scripted` provider.
    environment["PARLEY_STARTER_AGENT"] = "scripted"
    prepare_process(environment, code_paths(template, template.functions()))
    _forget_cold_start_caches()  # clients made under an earlier mock would bypass the recorder
    recorder = CallRecorder()
    recorder.install()
    return Functions(template, resources, recorder)


@dataclass
class Workspace:
    """A set-up deployment with one answered exchange: the ids the routes' requests need."""

    key: str
    workspace_id: str
    agent_id: str
    provider_id: str
    conversation_id: str
    message_id: str
    turn_id: str
    job_id: str


def set_up(functions: Functions) -> Workspace:
    """The first workspace (its starter agent is scripted), a conversation with an answered message, a job."""
    setup = functions.http("CreateSetupFunction", body={"workspace_name": "bench"})
    assert setup.status == 201, setup.body
    key = setup.body["api_key"]["secret"]
    agents = functions.http("ListAgentsFunction", key=key).body["data"]
    providers = functions.http("ListProvidersFunction", key=key).body["data"]
    conversation = functions.http("CreateConversationFunction", key=key, body={}).body
    sent = functions.http(
        "SendMessageFunction", key=key, path={"conversation_id": conversation["id"]}, body={"content": "hi"}
    )
    assert sent.status == 202, sent.body
    job = functions.http("CreateJobFunction", key=key, body={})
    assert job.status == 201, job.body
    functions.run_turns()
    return Workspace(
        key=key,
        workspace_id=setup.body["workspace"]["id"],
        agent_id=agents[0]["id"],
        provider_id=providers[0]["id"],
        conversation_id=conversation["id"],
        message_id=sent.body["message"]["id"],
        turn_id=sent.body["turn"]["id"],
        job_id=job.body["id"],
    )


@dataclass(frozen=True)
class Route:
    """A request to one API function, built from the set-up workspace's ids."""

    function: str
    budget: str | None  # Issue 7's AWS-call budget class: "send", "read", "list" (None: no budget)
    path: tuple[str, ...] = ()  # the Workspace fields that fill the route's path, in order
    body: Any = None
    query: str = ""
    authorized: bool = True

    def request(self, template: Template, workspace: Workspace) -> dict[str, Any]:
        names = re.findall(r"{(\w+)}", template.function(self.function).routes[0].path)
        return {
            "key": workspace.key if self.authorized else None,
            "path": {name: getattr(workspace, field) for name, field in zip(names, self.path, strict=True)},
            "query": self.query,
            "body": self.body,
        }


# Reads first, writes last: a write must not grow what a later route reads.
ROUTES = [
    Route("HealthFunction", None, authorized=False),
    Route("GetSetupFunction", None, authorized=False),
    Route("ListWorkspacesFunction", "list"),
    Route("GetWorkspaceFunction", None, ("workspace_id",)),
    Route("ListApiKeysFunction", "list"),
    Route("ListProvidersFunction", "list"),
    Route("GetProviderFunction", None, ("provider_id",)),
    Route("ListAgentsFunction", "list"),
    Route("GetAgentFunction", None, ("agent_id",)),
    Route("GetModelSettingsFunction", None),
    Route("ListConversationsFunction", "list"),
    Route("GetConversationFunction", None, ("conversation_id",)),
    Route("ListBranchesFunction", "list", ("conversation_id",)),
    Route("ListMessagesFunction", "list", ("conversation_id",)),
    Route("GetMessageFunction", "read", ("conversation_id", "message_id")),
    Route("ListTurnsFunction", "list", ("conversation_id",)),
    Route("GetTurnFunction", "read", ("conversation_id", "turn_id")),
    Route("ListJobsFunction", "list"),
    Route("GetJobFunction", None, ("job_id",)),
    Route("ListJobMessagesFunction", "list", ("job_id",)),
    Route("ListWebhooksFunction", "list"),
    Route("ListInboxesFunction", "list"),
    Route("CreateConversationFunction", None, body={}),
    Route("SendMessageFunction", "send", ("conversation_id",), body={"content": "hello"}),
    Route("CreateJobFunction", None, body={}),
    Route("SendJobMessageFunction", None, ("job_id",), body={"content": "hello"}),
]
