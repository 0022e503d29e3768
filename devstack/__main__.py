"""``python -m devstack [--template PATH]``: the whole template on 127.0.0.1, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from devstack.app import Devstack
from devstack.template import TEMPLATE_PATH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Run template.yaml locally (moto, HTTP API gateway, WebSocket API, Function URLs, SQS "
        "pollers, schedules). Ports: PARLEY_PORT (default 3000), PARLEY_AWS_PORT (default 4566), "
        "PARLEY_WS_PORT (default 3001), PARLEY_FUNCTION_URL_PORT (default 3002).",
    )
    parser.add_argument(
        "--template", default=str(TEMPLATE_PATH), help="the SAM template (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    # Ctrl-C in a terminal and SIGTERM to the process group reach moto's child directly as well.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    stack = Devstack(args.template, access_log=True)
    try:
        stack.start()
    except Exception as exc:
        print(f"devstack: could not start: {exc}", file=sys.stderr)
        return 1
    print(banner(stack), flush=True)
    stopping.wait()
    print("devstack: stopping", flush=True)
    stack.stop()
    return 0


def banner(stack: Devstack) -> str:
    summary = ", ".join(f"{count} {what}" for what, count in stack.summary().items())
    endpoint = stack.aws_endpoint
    lines = [
        f"Parley devstack is running ({summary}).",
        f"  API:        {stack.url}",
        *([f"  WebSocket:  {stack.stream_url}"] if stack.stream_url else []),
        *(
            [f"  Console:    {stack.url}{CONSOLE_ROUTE.split()[1]}"]
            if _has_route(stack, CONSOLE_ROUTE)
            else []
        ),
        *(f"  {name}: {app.url} (its Function URL)" for name, app in stack.web_apps.items()),
        f"  Local AWS:  {endpoint}",
        f"              export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=testing "
        "AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1",
    ]
    if _has_route(stack, SETUP_ROUTE):
        lines += [
            "Create the first workspace and its admin API key:",
            f"  curl -s -X POST {stack.url}{SETUP_ROUTE.split()[1]} -H 'content-type: application/json' "
            """-d '{"workspace_name":"My team"}'""",
        ]
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)


def _has_route(stack: Devstack, route_key: str) -> bool:
    return any(
        f"{route.method} {route.path}" == route_key
        for f in stack.functions.values()
        for route in f.spec.routes
    )


# Only for the hints above: the first call a new user makes, and the page they can open (each shown
# when the template has that route).
SETUP_ROUTE = "POST /v1/setup"
CONSOLE_ROUTE = "GET /console"


if __name__ == "__main__":
    sys.exit(main())
