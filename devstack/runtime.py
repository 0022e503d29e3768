"""Lambda, in-process: the shared environment, the layer path and one warm container per function.

Every function of the template is loaded by file path (many handler files share a name, such as
``create.py``) under ``parley_fn.<LogicalId>`` and invoked in this process, as a warm Lambda execution
environment would be. Like Lambda, an environment handles one event at a time, because handler
modules may keep per-invocation state in module globals (Powertools' resolver does); concurrent
invocations get further environments (the module loaded again under ``parley_fn.<LogicalId>_<n>``,
a cold start), up to ``PARLEY_DEVSTACK_CONCURRENCY`` (default 8) per function, and are reused after.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import threading
import traceback
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.events import LambdaContext
from devstack.resources import REGION, LocalResources
from devstack.template import FunctionSpec, Template

MODULE_PACKAGE = "parley_fn"

Handler = Callable[[Any, Any], Any]


class FunctionLoadError(RuntimeError):
    """A handler module failed to import (Lambda's Runtime.ImportModuleError)."""


def max_concurrency() -> int:
    """Execution environments per function (Lambda's concurrency, scaled down to one machine)."""
    return max(1, int(os.environ.get("PARLEY_DEVSTACK_CONCURRENCY", "8")))


@dataclass
class LambdaFunction:
    """One function of the template: its spec, physical name and its warm execution environments."""

    spec: FunctionSpec
    name: str
    log_group: str
    load_error: str | None = None
    max_concurrency: int = field(default_factory=max_concurrency)
    _idle: list[Handler] = field(default_factory=list, repr=False)
    _environments: int = 0
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _available: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def load(self) -> None:
        """The first environment, at start-up: a function that cannot load says so at once."""
        try:
            handler = self._new_environment()
        except Exception:
            self.load_error = traceback.format_exc()
            print(f"devstack: cannot load {self.spec.logical_id}:\n{self.load_error}", file=sys.stderr)
            return
        with self._available:
            self._environments += 1
            self._idle.append(handler)

    def invoke(self, event: Any) -> Any:
        """Call the handler with ``event`` and a fresh context; exceptions propagate to the caller."""
        if self.load_error is not None:
            raise FunctionLoadError(f"{self.spec.logical_id} could not be loaded:\n{self.load_error}")
        handler = self._acquire()
        try:
            context = LambdaContext(
                self.name, self.spec.timeout, self.spec.memory_size, log_group_name=self.log_group
            )
            return handler(event, context)
        finally:
            with self._available:
                self._idle.append(handler)
                self._available.notify()

    def _acquire(self) -> Handler:
        with self._available:
            while not self._idle and self._environments >= self.max_concurrency:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._environments += 1
        try:
            return self._new_environment()  # a cold start, outside the lock
        except BaseException:
            with self._available:
                self._environments -= 1
                self._available.notify()
            raise

    def _new_environment(self) -> Handler:
        number = next(self._numbers)
        suffix = "" if number == 1 else f"_{number}"
        return _load_handler(self.spec, f"{MODULE_PACKAGE}.{self.spec.logical_id}{suffix}")


def aws_environment(endpoint: str) -> dict[str, str]:
    """What points boto3 in the handlers (and in the devstack) at the local AWS."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def shared_environment(resources: LocalResources, functions: Iterable[FunctionSpec]) -> dict[str, str]:
    """The union of every function's resolved environment; a variable two functions disagree on fails.

    All functions run in one process here, so they can only share one environment (DESIGN §7).
    """
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for function in functions:
        for name, value in resources.environment(function).items():
            if name in merged and merged[name] != value:
                raise ValueError(
                    f"environment variable {name} differs between {owners[name]} ({merged[name]!r}) and "
                    f"{function.logical_id} ({value!r}): the devstack runs all functions in one process"
                )
            merged[name], owners[name] = value, function.logical_id
    return merged


def code_paths(template: Template, functions: Iterable[FunctionSpec]) -> list[Path]:
    """The folders Lambda puts on sys.path: each layer (/opt/python) and each CodeUri (the task root)."""
    layers = [
        template.root / str(props.get("ContentUri", ".")).rstrip("/")
        for props in template.resources_of_type("AWS::Serverless::LayerVersion").values()
    ]
    roots = [function.root / function.code_uri for function in functions]
    return list(dict.fromkeys(path.resolve() for path in [*layers, *roots]))


def prepare_process(environment: Mapping[str, str], paths: Iterable[Path]) -> None:
    """Set the environment and sys.path every handler expects, before any handler is imported."""
    os.environ.update(environment)
    for path in paths:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def load_functions(resources: LocalResources, functions: Iterable[FunctionSpec]) -> dict[str, LambdaFunction]:
    """Load every function's first environment; a function that fails to load answers with its error."""
    loaded: dict[str, LambdaFunction] = {}
    for spec in functions:
        name = resources.physical_name(spec.logical_id)
        function = LambdaFunction(spec, name, _log_group(resources, spec) or f"/aws/lambda/{name}")
        function.load()
        loaded[spec.logical_id] = function
    return loaded


def _load_handler(spec: FunctionSpec, module_name: str) -> Handler:
    handler = getattr(load_module(spec, module_name), spec.function_name, None)
    if not callable(handler):
        raise FunctionLoadError(f"{spec.module_path} has no callable {spec.function_name!r}")
    return handler


def load_module(spec: FunctionSpec, module_name: str) -> types.ModuleType:
    """A function's handler module, imported from its file under ``module_name`` (many share a file name)."""
    if MODULE_PACKAGE not in sys.modules:
        package = types.ModuleType(MODULE_PACKAGE)
        package.__path__ = []
        sys.modules[MODULE_PACKAGE] = package
    module_spec = importlib.util.spec_from_file_location(module_name, spec.module_path)
    if module_spec is None or module_spec.loader is None:
        raise FunctionLoadError(f"no handler module at {spec.module_path}")
    module = importlib.util.module_from_spec(module_spec)
    # Registered before running it: pydantic and dataclasses look their module up in sys.modules.
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _log_group(resources: LocalResources, spec: FunctionSpec) -> str | None:
    """The function's LoggingConfig.LogGroup (its own, else Globals'), if the template sets one."""
    logging_config = {
        **resources.template.function_globals.get("LoggingConfig", {}),
        **spec.properties.get("LoggingConfig", {}),
    }
    if "LogGroup" not in logging_config:
        return None
    return str(resources.resolve(logging_config["LogGroup"]))
