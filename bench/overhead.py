"""In-handler overhead per route (Issue 7 item 2): a warm handler's wall time minus its AWS calls.

The handler runs in this process; AWS is the devstack's moto server in a process of its own, as AWS
is for a Lambda function (in-process moto would run its own work - deep copies of whole tables on
every transaction - in the handler's interpreter, and slow the handler's next steps through the heap
and the caches it churns: SendMessage measured 1.5 ms that way, 0.7 ms this way). Each sample is one
warm invocation, timed around the handler call (the event is built before the clock starts); the
time between botocore's ``before-call`` and ``after-call`` of every AWS call it makes (the request
on loopback, moto's answer and the response's parsing) is taken off. What is left is parley's own
work: routing, validation, the authorizer context, services, logging, and botocore's parameter
validation, serialisation and endpoint resolution, which happen before ``before-call``.

How it is measured: each route is warmed with WARM_UP_RUNS invocations first (caches, lazy imports,
pydantic schemas built on first use), then RUNS_PER_ROUTE samples run back to back, the garbage
collector left as it is in a container (its pauses are part of the samples).
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.inprocess import ROUTES, Functions, served_functions, set_up
from bench.stats import percentile

RUNS_PER_ROUTE = 200
WARM_UP_RUNS = 5
BUDGET_P50_MS = 1.0
BUDGET_P99_MS = 5.0


def run(runs: int = RUNS_PER_ROUTE) -> dict[str, Any]:
    with served_functions() as functions:
        workspace = set_up(functions)
        rows = []
        for route in ROUTES:
            request = route.request(functions.template, workspace)
            rows.append(
                _measure(
                    functions,
                    route.function,
                    functools.partial(functions.http_request, route.function, **request),
                    runs,
                )
            )
        event = functions.authorizer_request("ListConversationsFunction", workspace.key)
        rows.append(_measure(functions, "AuthorizerFunction", lambda: event, runs))
    return {
        "what": "warm handler wall time minus time inside botocore calls (before-call → after-call), "
        "AWS on a moto server in its own process; "
        f"{WARM_UP_RUNS} warm-up runs per route",
        "runs_per_route": runs,
        "budget_p50_ms": BUDGET_P50_MS,
        "budget_p99_ms": BUDGET_P99_MS,
        "routes": rows,
    }


def _measure(
    functions: Functions, logical_id: str, make_event: Callable[[], Any], runs: int
) -> dict[str, Any]:
    handler, context = functions.handler(logical_id), functions.context(logical_id)
    for _ in range(WARM_UP_RUNS):
        handler(make_event(), context)
    overhead, wall = [], []
    for _ in range(runs):
        event = make_event()
        with functions.recorder.recording() as calls:
            started = time.perf_counter()
            response = handler(event, context)
            elapsed = time.perf_counter() - started
        if isinstance(response, dict) and "statusCode" in response:
            assert response["statusCode"] < 400, (logical_id, response)
        wall.append(elapsed)
        overhead.append(elapsed - sum(call.seconds for call in calls))
    p50, p99 = statistics.median(overhead) * 1000, percentile(overhead, 0.99) * 1000
    return {
        "function": logical_id,
        "n": runs,
        "overhead_p50_ms": round(p50, 3),
        "overhead_p99_ms": round(p99, 3),
        "wall_p50_ms": round(statistics.median(wall) * 1000, 3),
        "met": p50 <= BUDGET_P50_MS and p99 <= BUDGET_P99_MS,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"| function | n | overhead p50 ms (≤ {BUDGET_P50_MS}) | overhead p99 ms (≤ {BUDGET_P99_MS}) "
        "| wall p50 ms (AWS incl.) | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["routes"]:
        lines.append(
            f"| {row['function']} | {row['n']} | {row['overhead_p50_ms']} | {row['overhead_p99_ms']} "
            f"| {row['wall_p50_ms']} | {'yes' if row['met'] else 'NO'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(table(run(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS_PER_ROUTE)))
