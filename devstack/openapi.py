"""``python -m devstack.openapi``: the OpenAPI 3.1 document of the native API (``/v1``), on stdout.

Built from what the code itself declares: each template function's HttpApi route, its handler's
parameters (path, ``query`` model, body model) and return annotation, and the pydantic schemas.

``python -m devstack.openapi --write`` (``make openapi``) writes it to the committed files instead:
``openapi.json`` at the repository root, and the copy ``GET /v1/openapi.json`` serves from inside the
functions' package. tests/unit/test_openapi.py fails when either is stale.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from devstack.runtime import MODULE_PACKAGE, code_paths, load_module
from devstack.template import FunctionSpec, load_template

REPO_ROOT = Path(__file__).resolve().parents[1]
# Both written from one rendering; the second ships in the Lambda package (CodeUri: functions/).
DOCUMENT_FILES = (REPO_ROOT / "openapi.json", REPO_ROOT / "functions" / "api" / "docs" / "openapi.json")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message", "request_id"],
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}
ERROR_STATUSES = {
    "400": "Malformed request (e.g. invalid JSON or cursor)",
    "401": "Missing, unknown or revoked API key",
    "403": "The key's role does not allow this",
    "404": "Not found (or another workspace's)",
    "409": "Conflicts with the resource's state",
    "413": "Body too large",
    "422": "Schema violation, one detail per field",
}


def build() -> dict[str, Any]:
    template = load_template()
    functions = template.functions()
    sys.path[:0] = [str(path) for path in code_paths(template, functions) if str(path) not in sys.path]
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for function in functions:
        for route in function.routes:
            if not route.path.startswith("/v1/"):
                continue
            handler = _route_handler(function, route.method, route.path)
            operation = _operation(function, handler, route.path, route.authorizer is not None, components)
            paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley", "version": "1", "description": "AI-agent conversations and jobs."},
        "paths": dict(sorted(paths.items())),
        "x-websocket": _websocket(components),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }


def _websocket(components: dict[str, Any]) -> dict[str, Any]:
    """The WebSocket API (OpenAPI has no words for it): how to connect, what a client sends, what it
    gets back, and the frames of a turn, with their schemas among the components."""
    from parley.models import streams

    return {
        "url": "the stack's StreamUrl output (wss://…/live); POST /v1/stream-tokens names it too",
        "connect": "an API key (Authorization or x-api-key header, or the subprotocol parley.key.<key>), or "
        "a stream token (?token=<token> or the subprotocol parley.token.<token>); offering subprotocols, "
        "include parley: the server picks it. Refused: HTTP 401.",
        "client_frames": [
            _schema_ref(streams.SubscribeFrame, components),
            _schema_ref(streams.PingFrame, components),
        ],
        "replies": [
            _schema_ref(streams.SubscribedFrame, components),
            _schema_ref(streams.PongFrame, components),
            _schema_ref(streams.ErrorFrame, components),
        ],
        "turn_frames": _schema_ref(streams.StreamFrame, components),
    }


def _route_handler(function: FunctionSpec, method: str, path: str) -> Any:
    module = load_module(function, f"{MODULE_PACKAGE}.openapi_{function.logical_id}")
    for candidate in module.app.routes:
        if candidate.method == method and candidate.path == path:
            return candidate
    raise LookupError(f"{function.logical_id}: no handler declares {method} {path}")


def _operation(
    function: FunctionSpec, route: Any, path: str, authorized: bool, components: dict[str, Any]
) -> dict[str, Any]:
    handler = route.handler
    hints = {
        name: _evaluate(parameter.annotation, handler)
        for name, parameter in inspect.signature(handler).parameters.items()
    }
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", path)
    ]
    operation: dict[str, Any] = {
        "operationId": function.logical_id.removesuffix("Function"),
        "summary": (inspect.getdoc(handler) or handler.__name__.replace("_", " ")).splitlines()[0],
        "tags": [path.split("/")[2]],
    }
    for name, hint in hints.items():
        if name == "query" and _is_model(hint):
            for field_name, field in hint.model_fields.items():
                schema = TypeAdapter(field.annotation).json_schema()
                parameters.append(
                    {"name": field_name, "in": "query", "required": field.is_required(), "schema": schema}
                )
        elif _is_model(hint):
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(hint, components)}},
            }
    if parameters:
        operation["parameters"] = parameters
    returned = _evaluate(inspect.signature(handler).return_annotation, handler)
    success: dict[str, Any] = {"description": "Success"}
    if route.status != 204 and returned not in (None, type(None)):
        success["content"] = {"application/json": {"schema": _schema_ref(returned, components)}}
    errors = {code: text for code, text in ERROR_STATUSES.items() if authorized or code not in {"401", "403"}}
    operation["responses"] = {
        str(route.status): success,
        **{
            code: {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            for code, text in errors.items()
        },
    }
    if authorized:
        operation["security"] = [{"bearer": []}, {"apiKey": []}]
    else:
        operation["security"] = []
    return operation


def _evaluate(annotation: Any, handler: Any) -> Any:
    if isinstance(annotation, str):
        return eval(annotation, handler.__globals__)  # noqa: S307 - the handler module's own annotation
    return annotation


def _is_model(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, BaseModel)


def _schema_ref(annotation: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(annotation).json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[_clean(name)] = _rename_refs(definition)
    schema = _rename_refs(schema)
    if "title" in schema and schema.get("type") == "object":
        name = _clean(schema["title"])
        components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}
    return schema


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("_")


def _rename_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("#/components/schemas/" + _clean(v.rsplit("/", 1)[1]) if k == "$ref" else _rename_refs(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rename_refs(v) for v in value]
    return value


def render(document: dict[str, Any]) -> str:
    """The document as committed, byte-identical on every run: paths and schemas sorted by name, and
    each model's fields in their declared order (the order a reader of Swagger UI wants)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the committed openapi.json files")
    args = parser.parse_args(argv)
    text = render(build())
    if not args.write:
        sys.stdout.write(text)
        return 0
    for path in DOCUMENT_FILES:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
