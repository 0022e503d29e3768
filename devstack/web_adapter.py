"""Functions that run under the AWS Lambda Web Adapter, locally: their web server, on loopback.

In Lambda, the adapter's wrapper (``AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap``) starts the function's
Handler, a start script that runs a web server on ``AWS_LWA_PORT``, waits until the server answers its
readiness check (any status below 500 on ``AWS_LWA_READINESS_CHECK_PATH``), then passes each Function
URL request to it and streams the answer back (``AWS_LWA_INVOKE_MODE=response_stream``). The devstack
does what the adapter does and no more: it runs the same start script, with the functions' shared
environment and code paths, on a port of its own, and the Function URL is that server itself, so a
streamed answer reaches the client as the server writes it.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

from devstack.template import FunctionSpec

READY_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 5


class WebAdapterApp:
    """One function's web server, as a child process (``start()``, ``url``, ``stop()``)."""

    def __init__(
        self, spec: FunctionSpec, port: int, code_paths: list[Path], log: Path | None = None
    ) -> None:
        self.spec = spec
        self.port = port
        self._code_paths = code_paths
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebAdapterApp:
        script = self.spec.start_script
        if not script.is_file():
            raise FileNotFoundError(f"{self.spec.logical_id}: no start script {script}")
        environment = {
            **os.environ,  # the functions' shared environment and the local AWS, as the devstack set them
            "AWS_LWA_PORT": str(self.port),
            "PORT": str(self.port),
            # Lambda's python3 is the runtime's; here it is the devstack's own interpreter.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "PYTHONPATH": os.pathsep.join(str(path) for path in self._code_paths),
            "LAMBDA_TASK_ROOT": str(self.spec.root / self.spec.code_uri),
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.logical_id,
        }
        output = open(self._log, "ab") if self._log else None  # noqa: SIM115 - the child keeps it
        self._process = subprocess.Popen(  # noqa: S603 - the template's own start script
            ["sh", str(script)],  # noqa: S607
            cwd=self.spec.root / self.spec.code_uri,  # Lambda's task root
            env=environment,
            stdout=output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if output else None,
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        path = self.spec.environment.get("AWS_LWA_READINESS_CHECK_PATH", "/")
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"{self.spec.logical_id}: its web server exited with {self._process.returncode}"
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", str(path))
                if connection.getresponse().status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(
            f"{self.spec.logical_id}: its web server was not ready within {READY_TIMEOUT_SECONDS} s"
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)
