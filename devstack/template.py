"""template.yaml as data: functions, their events and resources, with CloudFormation intrinsics.

The devstack and the tests read the deployment from here, so the template stays the single source
of truth: nothing about a route, a queue or a table is repeated in Python.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
# The Lambda Web Adapter's wrapper (AWS_LAMBDA_EXEC_WRAPPER) in its layer.
WEB_ADAPTER_WRAPPER = "/opt/bootstrap"


@dataclass(frozen=True)
class Intrinsic:
    """A CloudFormation short-form intrinsic (!Ref, !GetAtt, !Sub, ...), kept unevaluated."""

    name: str
    value: Any


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Intrinsic:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return Intrinsic(name, value)


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    authorizer: str | None  # None: the route is public (Auth: {Authorizer: NONE})

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsSource:
    queue: Any  # an intrinsic naming the queue, e.g. !GetAtt TurnsQueue.Arn
    batch_size: int
    report_batch_item_failures: bool

    @property
    def queue_logical_id(self) -> str:
        return _logical_id_of(self.queue)


@dataclass(frozen=True)
class Schedule:
    expression: str  # rate(1 minute) / rate(5 minutes)
    name: str = "Schedule"  # the event's name in the template (part of the rule's name)

    @property
    def seconds(self) -> float:
        match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", self.expression)
        if not match:
            raise ValueError(f"unsupported schedule expression: {self.expression}")
        unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
        return int(match.group(1)) * unit


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    code_uri: str
    timeout: int
    memory_size: int
    environment: Mapping[str, Any]
    routes: tuple[HttpRoute, ...] = ()
    sqs_sources: tuple[SqsSource, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    # The template's folder: CodeUri is relative to it (tests load toy templates from elsewhere).
    root: Path = REPO_ROOT

    @property
    def web_adapter(self) -> bool:
        """Runs under the AWS Lambda Web Adapter: its Handler is a start script of a web server (which
        the adapter's wrapper runs), not a Python ``module.function``."""
        return self.environment.get("AWS_LAMBDA_EXEC_WRAPPER") == WEB_ADAPTER_WRAPPER

    @property
    def start_script(self) -> Path:
        return self.root / self.code_uri / self.handler

    @property
    def module_name(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def function_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def module_path(self) -> Path:
        return self.root / self.code_uri / (self.module_name.replace(".", "/") + ".py")

    @property
    def event_path(self) -> Path:
        return self.root / "events" / f"{self.logical_id}.json"


@dataclass(frozen=True)
class Template:
    document: Mapping[str, Any]
    root: Path = REPO_ROOT  # the folder holding the template; CodeUri/ContentUri are relative to it

    @property
    def resources(self) -> Mapping[str, Any]:
        return self.document.get("Resources", {})

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self.document.get("Parameters", {})

    def resources_of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        return {
            name: resource.get("Properties", {})
            for name, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }

    @property
    def function_globals(self) -> Mapping[str, Any]:
        return self.document.get("Globals", {}).get("Function", {})

    def functions(self) -> list[FunctionSpec]:
        return [
            self._function(name, props)
            for name, props in self.resources_of_type("AWS::Serverless::Function").items()
        ]

    def function(self, logical_id: str) -> FunctionSpec:
        return self._function(logical_id, self.resources[logical_id].get("Properties", {}))

    def http_api_auth(self) -> Mapping[str, Any]:
        apis = self.resources_of_type("AWS::Serverless::HttpApi")
        return next(iter(apis.values()), {}).get("Auth", {})

    def _function(self, logical_id: str, props: Mapping[str, Any]) -> FunctionSpec:
        merged = {**self.function_globals, **props}
        environment = {
            **self.function_globals.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        default_authorizer = self.http_api_auth().get("DefaultAuthorizer")
        routes, sqs_sources, schedules = [], [], []
        for event_name, event in (props.get("Events") or {}).items():
            kind, event_props = event["Type"], event.get("Properties", {})
            if kind == "HttpApi":
                auth = event_props.get("Auth", {}).get("Authorizer", default_authorizer)
                routes.append(
                    HttpRoute(
                        event_props["Method"].upper(), event_props["Path"], None if auth == "NONE" else auth
                    )
                )
            elif kind == "SQS":
                sqs_sources.append(
                    SqsSource(
                        queue=event_props["Queue"],
                        batch_size=int(event_props.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in event_props.get("FunctionResponseTypes", []),
                    )
                )
            elif kind == "Schedule":
                schedules.append(Schedule(event_props["Schedule"], name=event_name))
        return FunctionSpec(
            logical_id=logical_id,
            handler=merged["Handler"],
            code_uri=str(merged.get("CodeUri", ".")).rstrip("/"),
            timeout=int(merged.get("Timeout", 3)),
            memory_size=int(merged.get("MemorySize", 128)),
            environment=environment,
            routes=tuple(routes),
            sqs_sources=tuple(sqs_sources),
            schedules=tuple(schedules),
            properties=props,
            root=self.root,
        )


@dataclass(frozen=True)
class WebSocketRoute:
    route_key: str  # "$connect", "$disconnect", "$default" or an action such as "subscribe"
    function: str  # the logical id of the function its Lambda proxy integration invokes
    two_way: bool  # it has a route response: the function's answer is sent back as a frame
    authorizer: str | None = None  # the logical id of its REQUEST authorizer's function ($connect)


@dataclass(frozen=True)
class WebSocketApi:
    logical_id: str
    selection_key: str | None  # "action" for RouteSelectionExpression "$request.body.action"
    routes: Mapping[str, WebSocketRoute]


def websocket_api(template: Template) -> WebSocketApi | None:
    """The template's WebSocket API (AWS::ApiGatewayV2::*, ProtocolType WEBSOCKET), if it has one."""
    apis = [
        name
        for name, props in template.resources_of_type("AWS::ApiGatewayV2::Api").items()
        if props.get("ProtocolType") == "WEBSOCKET"
    ]
    if not apis:
        return None
    if len(apis) > 1:
        raise ValueError(f"the devstack serves one WebSocket API; the template has {', '.join(apis)}")
    expression = str(template.resources[apis[0]]["Properties"].get("RouteSelectionExpression", ""))
    selection = re.fullmatch(r"\$request\.body\.(\w+)", expression)
    integrations = template.resources_of_type("AWS::ApiGatewayV2::Integration")
    authorizers = template.resources_of_type("AWS::ApiGatewayV2::Authorizer")
    routes: dict[str, WebSocketRoute] = {}
    for props in template.resources_of_type("AWS::ApiGatewayV2::Route").values():
        key = str(props["RouteKey"])
        target = re.fullmatch(r"integrations/\$\{(\w+)\}", _text(props.get("Target")))
        if not target or target.group(1) not in integrations:
            raise ValueError(f"WebSocket route {key}: Target must be !Sub integrations/${{<Integration>}}")
        authorizer = None
        if props.get("AuthorizationType") == "CUSTOM":
            if key != "$connect":
                raise ValueError("API Gateway authorizes a WebSocket connection on $connect only")
            authorizer_id = props.get("AuthorizerId")
            name = str(authorizer_id.value if isinstance(authorizer_id, Intrinsic) else authorizer_id)
            authorizer = _function_in(authorizers[name].get("AuthorizerUri"))
        routes[key] = WebSocketRoute(
            key,
            _function_in(integrations[target.group(1)].get("IntegrationUri")),
            two_way=bool(props.get("RouteResponseSelectionExpression")),
            authorizer=authorizer,
        )
    return WebSocketApi(apis[0], selection.group(1) if selection else None, routes)


def _text(value: Any) -> str:
    return str(value.value if isinstance(value, Intrinsic) else value)


def _function_in(uri: Any) -> str:
    """The function a Lambda integration's (or authorizer's) !Sub URI names by ${Function.Arn}."""
    found = re.search(r"\$\{(\w+)\.Arn\}", _text(uri))
    if not found:
        raise ValueError(f"the devstack needs a Lambda URI naming ${{<Function>.Arn}}, not {uri!r}")
    return found.group(1)


@cache
def load_template(path: Path = TEMPLATE_PATH) -> Template:
    with open(path, encoding="utf-8") as fh:
        document = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return Template(document, root=Path(path).resolve().parent)


def _logical_id_of(value: Any) -> str:
    if isinstance(value, Intrinsic):
        if value.name == "Ref":
            return str(value.value)
        if value.name == "Fn::GetAtt":
            return str(value.value[0])
    raise ValueError(f"cannot tell which resource {value!r} names")


def resolve(value: Any, ref: Callable[[str], str], get_att: Callable[[str, str], str]) -> Any:
    """Evaluate !Ref, !GetAtt and !Sub in ``value`` with the given resolvers (deep, returns a copy)."""
    if isinstance(value, Intrinsic):
        if value.name == "Ref":
            return ref(str(value.value))
        if value.name == "Fn::GetAtt":
            logical_id, attribute = value.value
            return get_att(logical_id, attribute)
        if value.name == "Fn::Sub":
            text, variables = (value.value, {}) if isinstance(value.value, str) else value.value
            variables = {k: resolve(v, ref, get_att) for k, v in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return str(variables[name])
                if "." in name and not name.startswith("AWS::"):
                    logical_id, attribute = name.split(".", 1)
                    return get_att(logical_id, attribute)
                return ref(name)

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        raise ValueError(f"the devstack does not evaluate {value.name}")
    if isinstance(value, dict):
        return {k: resolve(v, ref, get_att) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ref, get_att) for v in value]
    return copy.copy(value)
