"""The whole devstack, wired from the template: local AWS, resources, functions, gateway, pollers.

``Devstack`` owns its process's environment (``os.environ``, ``sys.path``, botocore's endpoint), so run
one per process; tests start it as a subprocess (``python -m devstack``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from devstack.awslink import Link
from devstack.gateway import Gateway, GatewayServer
from devstack.motoserver import MotoProcess
from devstack.pollers import ScheduleRunner, SqsPoller, pollers_per_source
from devstack.resources import LocalResources, create_resources
from devstack.runtime import (
    LambdaFunction,
    aws_environment,
    code_paths,
    load_functions,
    prepare_process,
    shared_environment,
)
from devstack.samconfig import parameter_overrides
from devstack.template import TEMPLATE_PATH, Template, load_template
from devstack.web_adapter import WebAdapterApp
from devstack.websocket import StreamRoutes, StreamServer

DEFAULT_PORT = 3000
DEFAULT_AWS_PORT = 4566
DEFAULT_WS_PORT = 3001
DEFAULT_FUNCTION_URL_PORT = 3002


class Devstack:
    """``start()`` (or ``with Devstack() as stack:``); ``url`` is the API, ``aws_endpoint`` the local AWS."""

    def __init__(
        self,
        template_path: Path = TEMPLATE_PATH,
        port: int | None = None,
        aws_port: int | None = None,
        access_log: bool = False,
        ws_port: int | None = None,
        function_url_port: int | None = None,
    ) -> None:
        self.template_path = Path(template_path)
        self.port = port if port is not None else int(os.environ.get("PARLEY_PORT", DEFAULT_PORT))
        aws_port = (
            aws_port if aws_port is not None else int(os.environ.get("PARLEY_AWS_PORT", DEFAULT_AWS_PORT))
        )
        self.access_log = access_log
        self.ws_port = (
            ws_port if ws_port is not None else int(os.environ.get("PARLEY_WS_PORT", DEFAULT_WS_PORT))
        )
        self._stream: StreamServer | None = None
        self.function_url_port = (
            function_url_port
            if function_url_port is not None
            else int(os.environ.get("PARLEY_FUNCTION_URL_PORT", DEFAULT_FUNCTION_URL_PORT))
        )
        # Functions with a Function URL that run under the Lambda Web Adapter, by logical id.
        self.web_apps: dict[str, WebAdapterApp] = {}
        self.template: Template | None = None
        self.resources: LocalResources | None = None
        self.functions: dict[str, LambdaFunction] = {}
        self._moto = MotoProcess(aws_port, link=True)
        self._link: Link | None = None
        self._server: GatewayServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stream_url(self) -> str | None:
        """The WebSocket API (None when the template has none)."""
        return self._stream.url if self._stream else None

    @property
    def aws_endpoint(self) -> str:
        return self._moto.endpoint

    def start(self) -> Devstack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        endpoint = self._moto.start()
        # Before any boto3 client exists: the devstack's own clients and the handlers' use these.
        os.environ.update(aws_environment(endpoint))
        assert self._moto.link_path is not None
        self._link = Link(endpoint, self._moto.link_path)
        self._link.install()
        template = self.template = load_template(self.template_path)
        resources = self.resources = create_resources(template, parameter_overrides())
        specs = template.functions()
        environment = shared_environment(resources, specs)
        if template.resources_of_type("AWS::ApiGatewayV2::Api"):
            # Listening before the functions load: their settings hold its addresses.
            self._stream = StreamServer(self.ws_port)
            environment.update(self._stream.environment())
        paths = code_paths(template, specs)
        prepare_process(environment, paths)
        self.functions = load_functions(resources, [spec for spec in specs if not spec.web_adapter])
        for number, spec in enumerate(spec for spec in specs if spec.web_adapter):
            app = WebAdapterApp(spec, self.function_url_port + number, paths)
            self.web_apps[spec.logical_id] = app.start()
        self._server = GatewayServer(self.port, Gateway(template, self.functions), self.access_log)
        self.port = self._server.port
        self._threads.append(self._server.start())
        routes = StreamRoutes.of(template, self.functions)
        if self._stream is not None and routes is not None:
            self._threads.extend(self._stream.start(routes))
        self._start_event_sources(resources)

    def _start_event_sources(self, resources: LocalResources) -> None:
        for function in self.functions.values():
            for source in function.spec.sqs_sources:
                queue = source.queue_logical_id
                for number in range(1, pollers_per_source(function.max_concurrency) + 1):
                    poller = SqsPoller(
                        function,
                        source,
                        resources.ref(queue),
                        resources.get_att(queue, "Arn"),
                        self._stop,
                        number,
                    )
                    self._threads.append(poller)
                    poller.start()
            for schedule in function.spec.schedules:
                runner = ScheduleRunner(function, schedule, self._stop)
                self._threads.append(runner)
                runner.start()

    def stop(self) -> None:
        """Stop the gateway, pollers, schedules and the local AWS (idempotent)."""
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
        for app in self.web_apps.values():
            app.stop()
        # Closing the link and stopping moto end the pollers' in-flight long polls.
        link, self._link = self._link, None
        if link is not None:
            link.uninstall()
        self._moto.stop()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()

    def summary(self) -> dict[str, int]:
        specs = [function.spec for function in self.functions.values()]
        return {
            "routes": sum(len(spec.routes) for spec in specs),
            "queue sources": sum(len(spec.sqs_sources) for spec in specs),
            "schedules": sum(len(spec.schedules) for spec in specs),
        }

    def __enter__(self) -> Devstack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
