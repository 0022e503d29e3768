"""The built-artifact check fails for the mistakes it exists to catch.

A tiny fake build (a function folder and a layer) is loaded by lambda_child.py exactly as the real
ones are, so these tests show that a missing layer dependency, a wrong Handler, a crash and a 5xx
each fail the check, and that the child sees nothing of this virtual environment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.template import load_template
from tests.built.run_built_functions import judge, run_child

HEALTH = load_template().function("HealthFunction")


def fake_build(tmp_path: Path, handler_source: str) -> dict[str, Any]:
    """A function folder with app/main.py, a layer with one module, and the child's request."""
    task_root = tmp_path / "Function"
    (task_root / "app").mkdir(parents=True)
    (task_root / "app" / "__init__.py").write_text("")
    (task_root / "app" / "main.py").write_text(handler_source)
    layer = tmp_path / "Layer" / "python"
    layer.mkdir(parents=True)
    (layer / "shared.py").write_text("GREETING = 'hello'\n")
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps({"rawPath": "/v1/health"}))
    return {
        "path": [str(task_root), str(layer)],
        "task_root": str(task_root),
        "handler": "app.main.handler",
        "event_path": str(event_path),
        "function_name": "parley-Fake",
        "timeout": 3,
        "memory": 128,
    }


def invoke(tmp_path: Path, handler_source: str, **changes: Any) -> dict[str, Any]:
    request = {**fake_build(tmp_path, handler_source), **changes}
    outcome, _ = run_child(request, {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1"}, timeout=60)
    return outcome


OK_HANDLER = """
import shared

def handler(event, context):
    assert context.get_remaining_time_in_millis() > 0
    return {"statusCode": 200, "body": shared.GREETING + " " + event["rawPath"]}
"""


def test_a_working_handler_is_imported_from_the_build_and_its_answer_returned(tmp_path: Path) -> None:
    outcome = invoke(tmp_path, OK_HANDLER)
    assert outcome["result"] == {"statusCode": 200, "body": "hello /v1/health"}
    assert outcome["foreign_modules"] == []
    assert judge(HEALTH, "http", outcome, "").passed


@pytest.mark.parametrize("module", ["pytest", "yaml", "moto", "devstack", "parley"])
def test_a_module_outside_the_build_cannot_be_imported(tmp_path: Path, module: str) -> None:
    outcome = invoke(tmp_path, f"import {module}\n" + OK_HANDLER)
    assert outcome["error"]["kind"] == "Runtime.ImportModuleError"
    assert not judge(HEALTH, "http", outcome, "").passed


def test_a_handler_name_the_module_lacks_fails(tmp_path: Path) -> None:
    outcome = invoke(tmp_path, OK_HANDLER, handler="app.main.lambda_handler")
    assert outcome["error"]["kind"] == "Runtime.HandlerNotFound"
    assert not judge(HEALTH, "http", outcome, "").passed


def test_a_handler_module_that_is_not_there_fails(tmp_path: Path) -> None:
    outcome = invoke(tmp_path, OK_HANDLER, handler="app.missing.handler")
    assert outcome["error"]["kind"] == "Runtime.ImportModuleError"


def test_a_server_error_fails_an_http_function(tmp_path: Path) -> None:
    outcome = invoke(tmp_path, "def handler(event, context):\n    return {'statusCode': 502}\n")
    verdict = judge(HEALTH, "http", outcome, "")
    assert not verdict.passed
    assert "502" in verdict.summary


def test_an_exception_fails_a_function(tmp_path: Path) -> None:
    outcome = invoke(tmp_path, "def handler(event, context):\n    raise KeyError('table')\n")
    assert outcome["error"]["kind"] == "Runtime.UserCodeError"
    assert not judge(HEALTH, "other", outcome, "").passed


def test_an_authorizer_may_refuse_with_unauthorized_only(tmp_path: Path) -> None:
    refused = invoke(tmp_path / "a", "def handler(event, context):\n    raise Exception('Unauthorized')\n")
    crashed = invoke(tmp_path / "b", "def handler(event, context):\n    raise Exception('boom')\n")
    assert judge(HEALTH, "authorizer", refused, "").passed
    assert not judge(HEALTH, "authorizer", crashed, "").passed


def test_a_result_lambda_cannot_serialise_fails(tmp_path: Path) -> None:
    outcome = invoke(
        tmp_path, "def handler(event, context):\n    return {'statusCode': 200, 'body': object()}\n"
    )
    assert outcome["error"]["kind"] == "Runtime.MarshalError"
