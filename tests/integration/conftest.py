"""Template functions invoked in-process with real-shaped events, against moto (the `aws` fixture)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.events import LambdaContext, authorizer_event, http_event
from devstack.template import HttpRoute, load_template
from tests.conftest import load_handler

AUTHORIZER_CONTEXT = LambdaContext("AuthorizerFunction", 10)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def authorize(headers: Mapping[str, str], route: HttpRoute | None = None, raw_path: str | None = None) -> Any:
    """Run the real authorizer as API Gateway would for ``route`` (any authorized route by default)."""
    route = route or load_template().function("ListWorkspacesFunction").routes[0]
    event = authorizer_event(route, route.method, raw_path or route.path, headers=list(headers.items()))
    return load_handler("AuthorizerFunction")(event, AUTHORIZER_CONTEXT)


def _principal_for(secret: str | None, headers: Mapping[str, str], route: HttpRoute, raw_path: str) -> Any:
    """What API Gateway would put in requestContext.authorizer.lambda for this request."""
    all_headers = dict(headers)
    if secret:
        all_headers["authorization"] = f"Bearer {secret}"
    result = authorize(all_headers, route, raw_path)
    if not result["isAuthorized"]:
        raise PermissionError("forbidden")
    return result["context"]


@pytest.fixture
def invoke(aws: Any) -> Callable[..., Reply]:
    """invoke("CreateSetupFunction", body={...}, key=secret, path={"id": ...}, query="limit=1")."""
    template = load_template()
    handlers: dict[str, Callable[..., Any]] = {}

    def call(
        logical_id: str,
        *,
        body: Any = None,
        key: str | None = None,
        path: Mapping[str, str] | None = None,
        query: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        function = template.function(logical_id)
        route = function.routes[0]
        raw_path = route.path
        for name, value in (path or {}).items():
            raw_path = raw_path.replace("{" + name + "}", value)
        context = _principal_for(key, headers or {}, route, raw_path) if route.authorizer else None
        event = http_event(
            route,
            route.method,
            raw_path,
            path_parameters=path,
            raw_query_string=query,
            headers=[("content-type", "application/json"), *(headers or {}).items()],
            body=json.dumps(body).encode() if body is not None else None,
            authorizer_context=context,
        )
        if logical_id not in handlers:  # one warm container per function for the test's life
            handlers[logical_id] = load_handler(logical_id)
        response = handlers[logical_id](event, LambdaContext(function.logical_id, function.timeout))
        raw = response.get("body")
        return Reply(response["statusCode"], response.get("headers", {}), json.loads(raw) if raw else None)

    return call


@pytest.fixture
def admin(invoke: Callable[..., Reply]) -> dict[str, Any]:
    """A set-up deployment: the first workspace and its deployment-admin key."""
    reply = invoke("CreateSetupFunction", body={"workspace_name": "Acme"})
    assert reply.status == 201, reply.body
    return {"workspace": reply.body["workspace"], "key": reply.body["api_key"]["secret"]}


@pytest.fixture
def other_admin(invoke: Callable[..., Reply], admin: dict[str, Any]) -> dict[str, Any]:
    """A second workspace ("Research") and an admin key of it: the tenant isolation tests' other side."""
    research = invoke("CreateWorkspaceFunction", body={"name": "Research"}, key=admin["key"]).body
    key = invoke(
        "CreateApiKeyFunction",
        key=admin["key"],
        body={"name": "r", "role": "admin", "workspace_id": research["id"]},
    )
    assert key.status == 201, key.body
    return {"workspace": research, "key": key.body["secret"]}


@pytest.fixture
def other_key(other_admin: dict[str, Any]) -> str:
    """The admin key of the second workspace."""
    return str(other_admin["key"])


@pytest.fixture
def all_events_published(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A deployment with PublishAllEvents=true: every event goes on the bus, webhooks or not (what a
    rule of the deployment's own sees). After ``aws``, which sets the template's environment."""
    from parley.config import settings

    monkeypatch.setenv("PARLEY_PUBLISH_ALL_EVENTS", "true")
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.fixture
def tool_server(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An HTTP tool's server on loopback, with private networks allowed (as the devstack's setting
    does); each test says what it answers. After ``aws``, which sets the template's environment."""
    from pytest_httpserver import HTTPServer

    from parley.config import settings

    monkeypatch.setenv("PARLEY_TOOLS_ALLOW_PRIVATE_NETWORKS", "true")
    settings.cache_clear()
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()
    settings.cache_clear()
