"""Start the devstack as a subprocess (own process group, free ports) and talk JSON to it over HTTP.

A subprocess, not in-process: other tests in the same xdist worker use moto's in-process
``mock_aws``, which patches botocore process-wide, and the devstack owns its process's environment.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 5


Headers = Mapping[str, str] | Sequence[tuple[str, str]]


class HttpResult(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-cased names; repeated headers comma-joined (set-cookie: by newlines)
    json: Any  # the decoded JSON body, or the raw text when the body is not JSON


class ApiClient:
    """A minimal JSON client: ``api.request("POST", "/v1/setup", json={...})``."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        host_port = base_url.removeprefix("http://")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        body: bytes | None = None,
        headers: Headers | None = None,
    ) -> HttpResult:
        status, response_headers, raw = self.raw(method, path, json=json, body=body, headers=headers)
        return HttpResult(status, response_headers, _decode(raw))

    def raw(
        self,
        method: str,
        path: str,
        json: Any = None,
        body: bytes | None = None,
        headers: Headers | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Like ``request`` but with the body as bytes; ``set-cookie`` headers come joined by newlines."""
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        if json is not None:
            body = _json_dumps(json)
            if not any(name.lower() == "content-type" for name, _ in pairs):
                pairs.append(("content-type", "application/json"))
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            # putheader, not a dict: a test may send the same header twice.
            connection.putrequest(method, path)
            for name, value in pairs:
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("content-length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            raw = response.read()
            merged: dict[str, str] = {}
            for name, value in response.getheaders():
                key = name.lower()
                separator = "\n" if key == "set-cookie" else ","
                merged[key] = f"{merged[key]}{separator}{value}" if key in merged else value
            return response.status, merged, raw
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> HttpResult:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpResult:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResult:
        return self.request("DELETE", path, **kwargs)

    def new_workspace(self, admin_key: str, name: str) -> tuple[str, str]:
        """A new workspace (``name`` and a unique suffix) made with the deployment admin's key, and
        the secret of an admin key of it: (workspace id, key secret)."""
        admin = {"authorization": f"Bearer {admin_key}"}
        status, _, workspace = self.post(
            "/v1/workspaces", json={"name": f"{name} {uuid.uuid4().hex[:8]}"}, headers=admin
        )
        assert status == 201, workspace
        status, _, created = self.post(
            "/v1/api-keys",
            json={"name": "admin", "role": "admin", "workspace_id": workspace["id"]},
            headers=admin,
        )
        assert status == 201, created
        return str(workspace["id"]), str(created["secret"])


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


@dataclass
class RunningDevstack:
    url: str
    aws_endpoint: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stream_url: str = ""  # the WebSocket API
    function_url: str = ""  # the (first) Function URL: streamed chat completions

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the whole process group (the devstack and its moto child); the exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(STOP_TIMEOUT_SECONDS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_devstack(
    log_path: Path,
    template: Path | None = None,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/v1/health",
) -> RunningDevstack:
    """Run ``python -m devstack`` (own process group, free ports); return once ``ready_path`` is 200."""
    port, aws_port, ws_port, function_url_port = free_port(), free_port(), free_port(), free_port()
    command = [sys.executable, "-m", "devstack"]
    if template is not None:
        command += ["--template", str(template)]
    environment = {
        **os.environ,
        "PARLEY_PORT": str(port),
        "PARLEY_AWS_PORT": str(aws_port),
        "PARLEY_WS_PORT": str(ws_port),
        "PARLEY_FUNCTION_URL_PORT": str(function_url_port),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    environment.pop("AWS_ENDPOINT_URL", None)
    with open(log_path, "wb") as log:  # a file, never a pipe: a full pipe would block the devstack
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = RunningDevstack(
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{aws_port}",
        process,
        log_path,
        f"ws://127.0.0.1:{ws_port}/live",
        f"http://127.0.0.1:{function_url_port}",
    )
    try:
        _wait_until_ready(stack, ready_path)
    except BaseException:
        stack.stop(signal.SIGKILL)
        raise
    return stack


def _wait_until_ready(stack: RunningDevstack, ready_path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    client = ApiClient(stack.url, timeout=5)
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise RuntimeError(f"the devstack exited with {stack.process.returncode}:\n{stack.log()}")
        try:
            if client.get(ready_path).status == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"the devstack was not ready within {STARTUP_TIMEOUT_SECONDS} s:\n{stack.log()}")
