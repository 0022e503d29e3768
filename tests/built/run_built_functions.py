"""Invoke every function of `sam build`'s output as Lambda would load it (stands in for `sam local`).

    make test-built        (builds for this machine's architecture, then runs this)
    python -m tests.built.run_built_functions [LogicalId ...]

For each function, a fresh interpreter (``python -I -S``: no site-packages, no PYTHONPATH) whose
import path is only the function's build folder, the built layer and boto3 (which the Lambda runtime
provides) imports the ``Handler`` with importlib and calls it with events/<LogicalId>.json. So a
dependency missing from the layer's requirements.txt, a file missing from the build or a wrong
``Handler`` fails here, as it would on the first request in AWS. AWS itself is a moto server on
loopback with the template's resources; each function gets its environment resolved against it.
An HTTP function must answer a non-5xx response, an authorizer a result or "Unauthorized", any
other function must not raise.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.resources import REGION, LocalResources, create_resources
from devstack.template import REPO_ROOT, FunctionSpec, Template, load_template
from tests.built.sample_events import (
    authorizer_functions,
    is_documented_server_error,
    websocket_authorizer_functions,
    websocket_route_of,
)

BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
LAYER_LOGICAL_ID = "ParleyLayer"
RUNTIME_CACHE = REPO_ROOT / ".aws-sam" / "lambda-runtime"
LOCK_FILE = REPO_ROOT / "requirements-dev.lock"
CHILD = Path(__file__).with_name("lambda_child.py")
RUNTIME = "python3.13"
# Lambda gives a function's init (imports, module-level code) 10 seconds.
INIT_LIMIT_SECONDS = 10.0

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class Outcome:
    logical_id: str
    passed: bool
    summary: str
    details: str = ""


# ------------------------------------------------------------------------------ the runtime


def boto3_requirement(lock_file: Path = LOCK_FILE) -> str:
    """``boto3==<version>`` as pinned in the dev lock file (what the code is tested against)."""
    match = re.search(r"^boto3==(\S+)", lock_file.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise SystemExit(f"{lock_file.name} pins no boto3")
    return f"boto3=={match.group(1)}"


def lambda_runtime_packages() -> Path:
    """boto3 and its dependencies only, compiled, as /var/runtime holds them (installed once)."""
    requirement = boto3_requirement()
    target = RUNTIME_CACHE / (requirement.replace("==", "-") + "-compiled")
    marker = target / ".installed"
    if marker.is_file():
        return target
    RUNTIME_CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=RUNTIME_CACHE))
    print(f"installing {requirement} (the Lambda runtime's SDK) into {target.relative_to(REPO_ROOT)}")
    pip = subprocess.run(  # noqa: S603 - this interpreter's pip, fixed arguments
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # compiled below, whatever PYTHONDONTWRITEBYTECODE says
            "--only-binary=:all:",
            "--target",
            str(staging),
            "--constraint",
            str(LOCK_FILE),
            requirement,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # pip.conf may name extra index folders that do not exist on this machine: not worth a line each.
    noise = re.compile(r"^WARNING: Location .* is ignored")
    for line in (pip.stdout + pip.stderr).splitlines():
        if line.strip() and not noise.match(line):
            print(line)
    if pip.returncode != 0:
        raise SystemExit(f"pip could not install {requirement} (exit {pip.returncode})")
    compiled = subprocess.run(  # noqa: S603 - this interpreter's compileall, fixed arguments
        [sys.executable, "-m", "compileall", "-q", "-j", "0", str(staging)], check=False
    )
    if compiled.returncode != 0:
        raise SystemExit(f"could not compile {requirement}")
    (staging / ".installed").write_text(requirement + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# ------------------------------------------------------------------------------ invocation


def lambda_environment(function: FunctionSpec, resources: LocalResources, endpoint: str) -> dict[str, str]:
    """What the Lambda service sets, the function's own variables, and the way to (fake) AWS."""
    name = resources.physical_name(function.logical_id)
    logging_config = resources.resolve(
        {
            **resources.template.function_globals.get("LoggingConfig", {}),
            **function.properties.get("LoggingConfig", {}),
        }
    )
    log_group = logging_config.get("LogGroup", f"/aws/lambda/{name}")
    advanced_logging = {"AWS_LAMBDA_LOG_FORMAT": "JSON"} if logging_config.get("LogFormat") == "JSON" else {}
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": str(log_group),
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "LAMBDA_TASK_ROOT": str(BUILD_DIR / function.logical_id),
        "_HANDLER": function.handler,
        **advanced_logging,
        **resources.environment(function),
        **DUMMY_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
    }


def import_path(function: FunctionSpec, runtime_packages: Path) -> list[str]:
    layer = BUILD_DIR / LAYER_LOGICAL_ID
    return [
        str(BUILD_DIR / function.logical_id),
        # A layer's python/ and python/lib/python3.13/site-packages are both on Lambda's path.
        str(layer / "python" / "lib" / RUNTIME / "site-packages"),
        str(layer / "python"),
        str(runtime_packages),
    ]


def invoke(
    function: FunctionSpec,
    kind: str,
    resources: LocalResources,
    endpoint: str,
    runtime_packages: Path,
    built_handler: str | None,
) -> Outcome:
    """One cold start and one invocation of ``function`` in a fresh interpreter."""
    task_root = BUILD_DIR / function.logical_id
    if not task_root.is_dir() or built_handler is None:
        return Outcome(function.logical_id, False, f"not built: no {task_root.relative_to(REPO_ROOT)}")
    if built_handler != function.handler:
        return Outcome(
            function.logical_id,
            False,
            f"stale build: Handler {built_handler} in the build, {function.handler} in template.yaml",
        )
    if not function.event_path.is_file():
        return Outcome(function.logical_id, False, f"no sample event {function.event_path.name}")
    if kind == "web_adapter":
        return invoke_web_adapter(function, resources, endpoint, runtime_packages)
    request = {
        "path": import_path(function, runtime_packages),
        "task_root": str(task_root),
        "handler": function.handler,
        "event_path": str(function.event_path),
        "function_name": resources.physical_name(function.logical_id),
        "timeout": function.timeout,
        "memory": function.memory_size,
    }
    environment = lambda_environment(function, resources, endpoint)
    try:
        outcome, output = run_child(request, environment, INIT_LIMIT_SECONDS + function.timeout + 30)
    except ChildFailed as exc:
        return Outcome(function.logical_id, False, str(exc), exc.output)
    return judge(function, kind, outcome, output)


class ChildFailed(Exception):
    """The interpreter itself failed (crash, hang): there is no outcome to judge."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def run_child(
    request: Mapping[str, Any], environment: Mapping[str, str], timeout: float
) -> tuple[dict[str, Any], str]:
    """Run lambda_child.py in a fresh ``python -I -S``: its outcome and its stdout/stderr."""
    with tempfile.TemporaryDirectory(prefix="lambda-") as scratch:
        request_path, result_path = Path(scratch) / "request.json", Path(scratch) / "result.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        try:
            child = subprocess.run(  # noqa: S603 - this interpreter running lambda_child.py
                [sys.executable, "-I", "-S", str(CHILD), str(request_path), str(result_path)],
                env=dict(environment),
                cwd=request["task_root"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ChildFailed(f"hung for {exc.timeout:.0f}s", _output(exc)) from exc
        output = _output(child)
        if child.returncode != 0 or not result_path.is_file():
            raise ChildFailed(f"interpreter exited with {child.returncode}", output)
        return json.loads(result_path.read_text(encoding="utf-8")), output


def judge(function: FunctionSpec, kind: str, outcome: Mapping[str, Any], output: str) -> Outcome:
    """Whether the invocation went as Lambda and API Gateway would accept it."""
    logical_id = function.logical_id
    timing = f"init {outcome.get('init_ms', 0):.0f} ms, invoke {outcome.get('invoke_ms', 0):.0f} ms"
    if outcome.get("foreign_modules"):
        return Outcome(
            logical_id, False, "imported code from outside the build", "\n".join(outcome["foreign_modules"])
        )
    error = outcome.get("error")
    if error and error["kind"] != "Runtime.UserCodeError":
        return Outcome(
            logical_id,
            False,
            f"{error['kind']}: {error['type']}: {error['message']}",
            error["traceback"] + output,
        )
    if outcome.get("init_ms", 0) > INIT_LIMIT_SECONDS * 1000:
        return Outcome(logical_id, False, f"init took longer than Lambda allows ({timing})", output)
    if outcome.get("invoke_ms", 0) > function.timeout * 1000:
        return Outcome(
            logical_id, False, f"invocation exceeded Timeout {function.timeout}s ({timing})", output
        )
    result = outcome.get("result")
    if kind == "authorizer":
        if error and error["message"] == "Unauthorized":
            return Outcome(logical_id, True, f"authorizer -> Unauthorized ({timing})")
        if error:
            return Outcome(
                logical_id, False, f"raised {error['type']}: {error['message']}", error["traceback"] + output
            )
        if not isinstance(result, dict):
            return Outcome(
                logical_id, False, f"authorizer returned {type(result).__name__}, not a dict", output
            )
        statements = (result.get("policyDocument") or {}).get("Statement", [])
        decision = (
            f"isAuthorized={result['isAuthorized']}"
            if "isAuthorized" in result
            else f"policy {[statement.get('Effect') for statement in statements]}"
        )
        return Outcome(logical_id, True, f"authorizer -> {decision} ({timing})")
    if error:
        return Outcome(
            logical_id, False, f"raised {error['type']}: {error['message']}", error["traceback"] + output
        )
    if kind == "websocket":
        status = result.get("statusCode") if isinstance(result, dict) else None
        if not isinstance(status, int) or status >= 500:
            return Outcome(logical_id, False, f"WebSocket route answered {str(result)[:200]}", output)
        return Outcome(logical_id, True, f"WebSocket route -> {status} ({timing})")
    if kind == "http":
        route = function.routes[0].route_key
        status = result.get("statusCode") if isinstance(result, dict) else None
        if not isinstance(status, int):
            return Outcome(
                logical_id, False, f"{route}: no integer statusCode in {str(result)[:200]}", output
            )
        assert isinstance(result, dict)
        if status >= 500 and not is_documented_server_error(logical_id, status, result.get("body")):
            return Outcome(logical_id, False, f"{route} -> {status}", f"{result.get('body')}\n{output}")
        return Outcome(logical_id, True, f"{route} -> {status} ({timing})")
    return Outcome(logical_id, True, f"completed ({timing})")


def invoke_web_adapter(
    function: FunctionSpec, resources: LocalResources, endpoint: str, runtime_packages: Path
) -> Outcome:
    """A Lambda Web Adapter function, as the adapter runs it: its built start script serves on a port,
    the readiness check passes, and the sample event's request gets an answer that is not a 5xx."""
    import http.client
    import socket

    logical_id = function.logical_id
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **lambda_environment(function, resources, endpoint),
        "AWS_LWA_PORT": str(port),
        # the adapter's wrapper runs the script with the runtime's python3; here, this interpreter
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join(import_path(function, runtime_packages)),
    }
    task_root = BUILD_DIR / logical_id
    script = task_root / function.handler
    if not os.access(script, os.X_OK):
        return Outcome(logical_id, False, f"{function.handler} is not executable in the build")
    began = time.monotonic()
    server = subprocess.Popen(  # noqa: S603 - the built start script
        ["sh", str(script)],  # noqa: S607
        cwd=task_root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ready_ms = None
        while time.monotonic() - began < INIT_LIMIT_SECONDS:
            if server.poll() is not None:
                break
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", function.environment.get("AWS_LWA_READINESS_CHECK_PATH", "/"))
                if connection.getresponse().status < 500:
                    ready_ms = (time.monotonic() - began) * 1000
                    break
            except OSError:
                time.sleep(0.05)
        if ready_ms is None:
            server.kill()
            output = server.communicate(timeout=5)[0].decode(errors="replace")
            return Outcome(logical_id, False, "the web server never became ready", output[-4000:])
        event = json.loads(function.event_path.read_text(encoding="utf-8"))
        body = (
            base64.b64decode(event["body"])
            if event.get("isBase64Encoded")
            else (event.get("body") or "").encode()
        )
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=function.timeout)
        connection.request(
            event["requestContext"]["http"]["method"], event["rawPath"], body=body, headers=event["headers"]
        )
        response = connection.getresponse()
        response.read()
        invoke_ms = (time.monotonic() - started) * 1000
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=5)
    timing = f"ready {ready_ms:.0f} ms, request {invoke_ms:.0f} ms"
    route = f"{event['requestContext']['http']['method']} {event['rawPath']}"
    if response.status >= 500:
        return Outcome(logical_id, False, f"{route} -> {response.status} ({timing})")
    return Outcome(logical_id, True, f"web adapter: {route} -> {response.status} ({timing})")


def _output(run: subprocess.CompletedProcess[str] | subprocess.TimeoutExpired) -> str:
    parts = []
    for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        if text and text.strip():
            parts.append(f"--- {name}\n{text.strip()[-4000:]}")
    return "\n".join(parts)


def layer_bytecode(layer_dir: Path) -> Outcome:
    """Every module of the layer ships its bytecode: /opt is read-only, so a module without it is
    compiled again at every cold start (layers/parley/Makefile)."""
    tag = sys.implementation.cache_tag
    sources = sorted(layer_dir.rglob("*.py"))
    missing = [
        str(source.relative_to(layer_dir))
        for source in sources
        if not (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file()
    ]
    if missing:
        return Outcome(
            LAYER_LOGICAL_ID, False, f"{len(missing)} modules without bytecode", "\n".join(missing[:50])
        )
    return Outcome(LAYER_LOGICAL_ID, True, f"bytecode for all {len(sources)} modules")


def kind_of(template: Template, function: FunctionSpec) -> str:
    if function.web_adapter:
        return "web_adapter"
    if function.logical_id in authorizer_functions(template) | websocket_authorizer_functions(template):
        return "authorizer"
    if websocket_route_of(template, function.logical_id) is not None:
        return "websocket"
    return "http" if function.routes else "other"


# ------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("functions", nargs="*", metavar="LOGICAL_ID", help="only these (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="children run in parallel")
    args = parser.parse_args(argv)

    template = load_template()
    functions = [f for f in template.functions() if not args.functions or f.logical_id in args.functions]
    unknown = set(args.functions) - {f.logical_id for f in functions}
    if unknown or not functions:
        parser.error(f"no such functions in template.yaml: {sorted(unknown)}" if unknown else "no functions")
    layer_dir = BUILD_DIR / LAYER_LOGICAL_ID / "python"
    if not (BUILD_DIR / "template.yaml").is_file() or not layer_dir.is_dir():
        print(
            f"no build in {BUILD_DIR.relative_to(REPO_ROOT)} with {LAYER_LOGICAL_ID}: run `make build` first"
        )
        return 1

    built = {f.logical_id: f.handler for f in load_template(BUILD_DIR / "template.yaml").functions()}
    runtime_packages = lambda_runtime_packages()
    started = time.monotonic()
    with moto_server() as endpoint:
        os.environ.update(
            {
                **DUMMY_CREDENTIALS,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": endpoint,
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        resources = create_resources(template)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(
                pool.map(
                    lambda f: invoke(
                        f,
                        kind_of(template, f),
                        resources,
                        endpoint,
                        runtime_packages,
                        built.get(f.logical_id),
                    ),
                    functions,
                )
            )

    outcomes.append(layer_bytecode(layer_dir))
    width = max(len(outcome.logical_id) for outcome in outcomes)
    for outcome in outcomes:
        print(f"{'PASS' if outcome.passed else 'FAIL'}  {outcome.logical_id:<{width}}  {outcome.summary}")
    failed = [outcome for outcome in outcomes if not outcome.passed]
    for outcome in failed:
        if outcome.details:
            print(f"\n==== {outcome.logical_id}\n{outcome.details}")
    elapsed = time.monotonic() - started
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} built artifacts passed in {elapsed:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
