"""Shared fixtures: AWS in moto, built from template.yaml, and handlers loaded as the devstack loads them.

``aws`` gives a test the deployment's own tables, queues, buckets and buses (created from the
template's definitions, so key schemas cannot drift) and the functions' environment, resolved to
those resources. ``load_handler`` imports a function's module by file path under a unique name:
many handler files share a name (``create.py``), and a test must see a fresh module.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws

from devstack.resources import REGION, LocalResources, create_resources
from devstack.template import FunctionSpec, load_template

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Variables that would point boto3 at something other than moto's in-process mock.
UNSET_FOR_MOCK = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def reset_cold_start_caches() -> None:
    """Forget what ``parley`` cached for the life of a Lambda container (settings, AWS clients).

    Each test is a cold start: settings are re-read from the environment it set up, and clients are
    created again inside its own moto mock.
    """
    for name, module in list(sys.modules.items()):
        if not (name == "parley" or name.startswith("parley.")) or module is None:
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


def function_environment(resources: LocalResources) -> dict[str, str]:
    """The environment every function of the template gets (they share the Globals)."""
    environment: dict[str, str] = {}
    for function in resources.template.functions():
        environment.update(resources.environment(function))
    return environment


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    """moto in-process with the template's resources created, and the functions' environment set."""
    for name in UNSET_FOR_MOCK:
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        resources = create_resources(load_template())
        for name, value in function_environment(resources).items():
            monkeypatch.setenv(name, value)
        reset_cold_start_caches()
        yield resources
    reset_cold_start_caches()


_loaded = 0


def load_module(function: FunctionSpec | str) -> ModuleType:
    """Import a function's handler module from its file, under a name no other module has."""
    global _loaded
    spec_of = load_template().function(function) if isinstance(function, str) else function
    path: Path = spec_of.module_path
    if not path.is_file():
        raise FileNotFoundError(f"{spec_of.logical_id}: handler module {path} does not exist")
    _loaded += 1
    name = f"parley_function_{spec_of.logical_id}_{_loaded}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_handler(function: FunctionSpec | str) -> Callable[[Any, Any], Any]:
    """The function's handler (``Handler: module.attribute``), from a freshly loaded module."""
    spec_of = load_template().function(function) if isinstance(function, str) else function
    handler = getattr(load_module(spec_of), spec_of.function_name)
    assert callable(handler), f"{spec_of.handler} is not callable"
    return handler


def sample_event(function: FunctionSpec | str) -> dict[str, Any]:
    """The function's sample event from events/<LogicalId>.json."""
    spec_of = load_template().function(function) if isinstance(function, str) else function
    return json.loads(spec_of.event_path.read_text(encoding="utf-8"))
