"""The HTTP edge of every API function: routing, validation, the auth context and the error model.

A deliberately small resolver with the shape of Powertools' ``APIGatewayHttpResolver``
(``@app.get("/v1/things/<thing_id>")``), written here because every API function pays its imports
on each cold start and Powertools' event handler alone costs more than the whole budget allows.

Errors, natively: ``{"error": {"type", "message", "request_id", "details"}}`` with the matching
status. Handlers never build status codes: they return models and raise ``parley.errors``.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from parley import errors, idempotency
from parley.config import settings
from parley.observability import bind_request, logger

JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key's workspace and role, as the authorizer vouched for them."""

    workspace_id: str
    key_id: str
    role: str
    deployment_admin: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise errors.Forbidden("This action needs an API key with the admin role.")


@dataclass
class Request:
    event: Mapping[str, Any]
    path_params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    request_id: str
    _body: bytes | None = field(default=None, repr=False)

    @property
    def body(self) -> bytes:
        if self._body is None:
            raw = self.event.get("body") or ""
            self._body = base64.b64decode(raw) if self.event.get("isBase64Encoded") else raw.encode()
        return self._body

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            value = json.loads(
                self.body, parse_float=_storable_float, parse_int=_storable_int, parse_constant=_no_constant
            )
        except (ValueError, RecursionError) as exc:
            raise errors.BadRequest(f"The request body is not valid JSON: {exc}") from exc
        _check_storable(value, self.body)
        return value

    @property
    def auth_error(self) -> str | None:
        """Why the compat authorizer let this request through without a workspace (parley.auth)."""
        context = (self.event.get("requestContext") or {}).get("authorizer", {}).get("lambda") or {}
        return context.get("auth_error")

    def principal(self) -> Principal | None:
        context = (self.event.get("requestContext") or {}).get("authorizer", {}).get("lambda")
        if not context or not context.get("workspace_id"):
            return None
        return Principal(
            workspace_id=context["workspace_id"],
            key_id=context.get("key_id", ""),
            role=context.get("role", "member"),
            deployment_admin=str(context.get("deployment_admin", "")).lower() == "true",
        )


# DynamoDB refuses documents nested deeper than 32 levels; an item wraps a body in a level or two.
MAX_JSON_DEPTH = 24
# A JSON escape of a UTF-16 surrogate; alone (no pair) it decodes to text UTF-8 cannot encode.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


# DynamoDB's numbers: 38 significant digits, magnitudes from 1e-130 to below 1e126.
_MAX_NUMBER_DIGITS = 38


def _storable_float(text: str) -> float:
    value = float(text)
    if value != 0 and not 1e-130 <= abs(value) < 1e126:
        raise errors.BadRequest(f"The number {text[:40]} is out of range (1e-130 to 1e126, or 0).")
    return value


def _storable_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_NUMBER_DIGITS:
        raise errors.BadRequest(f"The integer {text[:40]}... has more than {_MAX_NUMBER_DIGITS} digits.")
    return int(text)


def _no_constant(name: str) -> None:
    raise errors.BadRequest(f"{name} is not a JSON number.")


def _check_storable(value: Any, raw: bytes) -> None:
    """Refuse (400) valid JSON no store or log could take: lone surrogates, or nesting too deep."""
    if _SURROGATE_ESCAPE.search(raw):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise errors.BadRequest(
                "The request body holds a lone UTF-16 surrogate (\\ud800-\\udfff)."
            ) from exc
    level: list[Any] = [value] if isinstance(value, (dict, list)) else []
    for _ in range(MAX_JSON_DEPTH):  # after the n-th pass, ``level`` holds the containers n + 1 deep
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, (dict, list))
        ]
        if not level:
            return
    raise errors.BadRequest(f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")


@dataclass
class Response:
    """An explicit response, for when a handler needs a status or headers other than the route's.

    A ``bytes`` body is sent as is (base64 on the wire, ``isBase64Encoded``), with the content type
    given in ``headers`` (``application/octet-stream`` if none). A ``str`` body is sent as is too, as
    text (e.g. an HTML page or JSON serialised once at cold start), with the content type given in
    ``headers`` (``text/plain; charset=utf-8`` if none). Any other body is serialised as JSON.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Route:
    method: str
    path: str
    status: int
    handler: Callable[..., Any]
    public: bool
    max_body_bytes: int | None
    idempotent: bool
    binders: list[tuple[str, Callable[[Request], Any]]]
    pattern: re.Pattern[str]

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


_current: ContextVar[tuple[Request, Principal | None]] = ContextVar("parley_current_request")


ErrorFormatter = Callable[[errors.ParleyError, str], dict[str, Any]]


class Api:
    """A resolver for one function's route(s). Use ``api()`` to create it.

    ``error_format`` turns a domain error into the response: Parley's own shape by default; each
    compatibility API passes its own (parley.compat)."""

    def __init__(self, error_format: ErrorFormatter | None = None) -> None:
        self._routes: dict[str, _Route] = {}
        self._error_format = error_format or error_response

    # -- registration -------------------------------------------------------------------------
    def route(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        public: bool = False,
        max_body_bytes: int | None = None,
        idempotent: bool | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """``idempotent``: honour an ``Idempotency-Key`` header (parley.idempotency); by default on
        for writes (POST/PUT/PATCH/DELETE). Off for a POST that only reads (and so may not write)."""
        template = re.sub(r"<(\w+)>", r"{\1}", path)

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            route = _Route(
                method=method.upper(),
                path=template,
                status=status,
                handler=fn,
                public=public,
                max_body_bytes=max_body_bytes,
                idempotent=method.upper() in idempotency.WRITE_METHODS if idempotent is None else idempotent,
                binders=_binders(fn, template),
                pattern=re.compile(
                    "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
                ),
            )
            self._routes[route.route_key] = route
            return fn

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("DELETE", path, **kwargs)

    @property
    def routes(self) -> list[_Route]:
        return list(self._routes.values())

    # -- the current request -------------------------------------------------------------------
    @property
    def request(self) -> Request:
        return _current.get()[0]

    @property
    def principal(self) -> Principal:
        principal = _current.get()[1]
        if principal is None:
            raise errors.Unauthorized("An API key is required.")
        return principal

    # -- dispatch ------------------------------------------------------------------------------
    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        context = event.get("requestContext") or {}
        request_id = str(context.get("requestId", ""))
        claim: idempotency.Claim | None = None
        try:
            route, path_params = self._match(event)
            request = Request(
                event=event,
                path_params=path_params,
                query=dict(event.get("queryStringParameters") or {}),
                headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
                request_id=request_id,
            )
            principal = request.principal()
            if principal is None and not route.public:
                raise auth_refusal(request.auth_error)
            enforce_quota(request)
            limit = route.max_body_bytes or settings().max_body_bytes
            if len(event.get("body") or "") > limit * 4 // 3 + 4 or len(request.body) > limit:
                raise errors.PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
            key = request.headers.get(idempotency.HEADER) if route.idempotent else None
            if key is not None:
                held = idempotency.begin(
                    principal.workspace_id if principal else idempotency.PUBLIC_SCOPE,
                    key,
                    idempotency.fingerprint(
                        route.method,
                        str(event.get("rawPath", "")),
                        str(event.get("rawQueryString", "")),
                        request.body,
                    ),
                )
                if not isinstance(held, idempotency.Claim):
                    held["headers"]["x-request-id"] = request_id
                    return held
                claim = held
        except Exception as exc:  # refused before the handler ran: nothing to keep or release
            return self._error(exc, request_id)
        response = self._run(route, request, principal, request_id)
        if claim is not None:
            try:
                idempotency.finish(claim, response)
            except Exception:  # the effect happened: answer it; the key's lease runs out by itself
                logger.exception("could not record the idempotent response")
        return response

    def _run(
        self, route: _Route, request: Request, principal: Principal | None, request_id: str
    ) -> dict[str, Any]:
        token = _current.set((request, principal))
        try:
            result = route.handler(**{name: bind(request) for name, bind in route.binders})
            return _to_response(result, route.status, request_id)
        except Exception as exc:
            return self._error(exc, request_id)
        finally:
            _current.reset(token)

    def _error(self, exc: Exception, request_id: str) -> dict[str, Any]:
        if isinstance(exc, ValidationError):
            exc = validation_failed(exc)
        if not isinstance(exc, errors.ParleyError):
            logger.exception("unhandled error")
            exc = errors.ParleyError("An internal error occurred.")
        response = self._error_format(exc, request_id)
        if isinstance(exc, errors.TooManyRequests):  # every API's shape gets the header
            response.setdefault("headers", {}).setdefault("retry-after", str(exc.retry_after))
        return response

    def _match(self, event: Mapping[str, Any]) -> tuple[_Route, dict[str, str]]:
        route = self._routes.get(str(event.get("routeKey", "")))
        if route is not None:
            return route, dict(event.get("pathParameters") or {})
        # Not invoked through the route it declared (e.g. a hand-made event): match the raw path.
        method = (event.get("requestContext") or {}).get("http", {}).get("method", "")
        for candidate in self._routes.values():
            found = candidate.pattern.match(str(event.get("rawPath", "")))
            if candidate.method == method and found:
                return candidate, found.groupdict()
        raise errors.NotFound("No such route.")


def api(error_format: ErrorFormatter | None = None) -> Api:
    return Api(error_format)


def auth_refusal(auth_error: str | None) -> errors.ParleyError:
    if auth_error == "workspace_mismatch":
        return errors.Forbidden("The X-Workspace-Id header does not match the API key's workspace.")
    if auth_error == "invalid_key":
        return errors.Unauthorized("The API key is unknown or revoked.")
    return errors.Unauthorized("An API key is required.")


def enforce_quota(request: Request) -> None:
    """429 when the authorizer counted this request past the workspace's quota (parley.quota)."""
    context = (request.event.get("requestContext") or {}).get("authorizer", {}).get("lambda") or {}
    if str(context.get("quota_exceeded", "")).lower() == "true":
        retry_after = int(context.get("retry_after") or 60)
        raise errors.TooManyRequests(
            f"This workspace has used its request quota for this minute; retry after {retry_after} s.",
            retry_after=retry_after,
        )


def lambda_handler(app: Api) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """The function Lambda calls: binds log context, measures, and resolves."""
    state = {"cold_start": True}

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        bind_request(
            request_id=(event.get("requestContext") or {}).get("requestId"),
            route=event.get("routeKey"),
            function_name=getattr(context, "function_name", None),
            cold_start=state["cold_start"],
        )
        state["cold_start"] = False
        response = app.resolve(event)
        logger.debug(
            "request served",
            extra={
                "status": response["statusCode"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    return handler


# -- binding handler parameters ---------------------------------------------------------------
def _binders(fn: Callable[..., Any], path: str) -> list[tuple[str, Callable[[Request], Any]]]:
    path_names = set(re.findall(r"\{(\w+)\}", path))
    binders: list[tuple[str, Callable[[Request], Any]]] = []
    for name, parameter in inspect.signature(fn).parameters.items():
        # Only parameters are evaluated: a return annotation may name a generic built lazily.
        hint = parameter.annotation
        if isinstance(hint, str):
            hint = eval(hint, fn.__globals__)  # noqa: S307 - the handler module's own annotation
        if name in path_names:
            binders.append((name, _path_binder(name)))
        elif hint is Request:
            binders.append((name, lambda request: request))
        elif isinstance(hint, type) and issubclass(hint, BaseModel):
            binders.append((name, _query_binder(hint) if name == "query" else _body_binder(hint)))
        else:
            raise TypeError(f"{fn.__name__}: cannot bind parameter {name!r} of route {path}")
    return binders


def _path_binder(name: str) -> Callable[[Request], Any]:
    return lambda request: request.path_params[name]


def _body_binder(model: type[BaseModel]) -> Callable[[Request], Any]:
    def bind(request: Request) -> Any:
        try:
            return model.model_validate(request.json())
        except ValidationError as exc:
            raise validation_failed(exc, "body") from exc

    return bind


def _query_binder(model: type[BaseModel]) -> Callable[[Request], Any]:
    def bind(request: Request) -> Any:
        try:
            return model.model_validate(request.query)
        except ValidationError as exc:
            raise validation_failed(exc, "query") from exc

    return bind


def validation_failed(exc: ValidationError, where: str | None = None) -> errors.ValidationFailed:
    details = [
        {
            "loc": ([where] if where else []) + [str(part) for part in item["loc"]],
            "msg": item["msg"],
            "type": item["type"],
        }
        for item in exc.errors(include_url=False, include_input=False)
    ]
    fields = ", ".join(".".join(d["loc"]) for d in details[:5])
    return errors.ValidationFailed(f"The request is not valid: {fields}.", details=details)


# -- responses -------------------------------------------------------------------------------
def _to_response(result: Any, status: int, request_id: str) -> dict[str, Any]:
    headers: dict[str, str] = {}
    if isinstance(result, Response):
        status, headers, result = result.status, result.headers, result.body
        if isinstance(result, str):
            return {
                "statusCode": status,
                "headers": {
                    "content-type": "text/plain; charset=utf-8",
                    "x-request-id": request_id,
                    **headers,
                },
                "body": result,
            }
    if result is None and status == 204:
        return {"statusCode": 204, "headers": {"x-request-id": request_id, **headers}}
    if isinstance(result, bytes):
        return {
            "statusCode": status,
            "headers": {"content-type": "application/octet-stream", "x-request-id": request_id, **headers},
            "body": base64.b64encode(result).decode("ascii"),
            "isBase64Encoded": True,
        }
    body = (
        result.model_dump_json()
        if isinstance(result, BaseModel)
        else json.dumps(result, default=_json_default)
    )
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, "x-request-id": request_id, **headers},
        "body": body,
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def error_response(exc: errors.ParleyError, request_id: str) -> dict[str, Any]:
    error: dict[str, Any] = {"type": exc.type, "message": exc.message, "request_id": request_id}
    if exc.details:
        error["details"] = exc.details
    headers = {**JSON_HEADERS, "x-request-id": request_id}
    if isinstance(exc, errors.TooManyRequests):
        headers["retry-after"] = str(exc.retry_after)
    return {"statusCode": exc.status, "headers": headers, "body": json.dumps({"error": error})}
