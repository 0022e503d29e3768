"""Functions run in Lambda-like execution environments: one event at a time each, more on demand."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from devstack.runtime import FunctionLoadError, LambdaFunction
from devstack.template import FunctionSpec

HANDLER = """
import threading
import time

ENTERED = threading.Event()

def handler(event, context):
    if event.get("hold"):
        ENTERED.set()
        event["release"].wait(5)
    return {"module": __name__, "function": context.function_name}
"""


def function_in(folder: Path, source: str = HANDLER, concurrency: int = 2) -> LambdaFunction:
    (folder / "toy_handler.py").write_text(source)
    spec = FunctionSpec("ToyFunction", "toy_handler.handler", ".", 3, 128, {}, root=folder)
    function = LambdaFunction(spec, "parley-ToyFunction", "/aws/lambda/test", max_concurrency=concurrency)
    function.load()
    return function


def test_handler_is_loaded_once_by_path_under_a_unique_module_name(tmp_path: Path) -> None:
    function = function_in(tmp_path)

    first, second = function.invoke({}), function.invoke({})

    assert first == second == {"module": "parley_fn.ToyFunction", "function": "parley-ToyFunction"}


def test_a_busy_environment_makes_a_concurrent_call_start_another(tmp_path: Path) -> None:
    function = function_in(tmp_path)
    release = threading.Event()
    busy = threading.Thread(target=function.invoke, args=({"hold": True, "release": release},))
    busy.start()
    try:
        assert sys.modules["parley_fn.ToyFunction"].ENTERED.wait(5)

        concurrent = function.invoke({})
    finally:
        release.set()
        busy.join(5)

    assert concurrent["module"] == "parley_fn.ToyFunction_2"
    assert function.invoke({})["module"] in ("parley_fn.ToyFunction", "parley_fn.ToyFunction_2")


def test_a_function_that_cannot_load_fails_every_invocation_with_its_error(tmp_path: Path) -> None:
    function = function_in(tmp_path, source="raise ImportError('no such dependency')\n")

    with pytest.raises(FunctionLoadError, match="no such dependency"):
        function.invoke({})
