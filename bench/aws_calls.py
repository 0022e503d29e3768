"""AWS calls per request, per route (Issue 7 item 1), in-process against moto.

Each function is warmed by one request, and the calls of the second, identical request are counted
(botocore's ``before-call`` events): what a warm Lambda container does per request, not its cold
start. The authorizer is counted on its own (API Gateway calls it before the route's function), and
the worker per turn, with the offline ``scripted`` provider, so the model call is not an AWS call.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.inprocess import ROUTES, Functions, mocked_functions, set_up

# Issue 7's budgets: calls per warm request.
BUDGETS = {"send": 2, "read": 1, "list": 1, "authorizer": None, "worker": 6}


def run() -> dict[str, Any]:
    with mocked_functions() as functions:
        workspace = set_up(functions)
        rows = []
        for route in ROUTES:
            request = route.request(functions.template, workspace)
            first = functions.http(route.function, **request)
            assert first.status < 400, (route.function, first.status, first.body)
            with functions.recorder.recording() as calls:
                functions.http(route.function, **request)
            rows.append(_row(route.function, route.budget, [call.operation for call in calls]))

        authorizer_event = functions.authorizer_request("ListConversationsFunction", workspace.key)
        functions.call("AuthorizerFunction", authorizer_event)
        with functions.recorder.recording() as calls:
            functions.call("AuthorizerFunction", authorizer_event)
        rows.append(_row("AuthorizerFunction", "authorizer", [call.operation for call in calls]))

        rows.append(_row("RunTurnFunction (per turn)", "worker", _worker_calls(functions, workspace.key)))
    return {
        "what": "botocore API calls of the second (warm) identical invocation; moto in-process",
        "routes": rows,
    }


def _worker_calls(functions: Functions, key: str) -> list[str]:
    functions.run_turns()  # what the routes above queued
    conversation = functions.http("CreateConversationFunction", key=key, body={}).body["id"]
    path = {"conversation_id": conversation}
    functions.http("SendMessageFunction", key=key, path=path, body={"content": "hello"})
    (record,) = functions.turn_records()
    with functions.recorder.recording() as calls:
        result = functions.call("RunTurnFunction", {"Records": [record]})
    assert not result.get("batchItemFailures"), result
    return [call.operation for call in calls]


def _row(function: str, budget_class: str | None, operations: list[str]) -> dict[str, Any]:
    budget = BUDGETS.get(budget_class) if budget_class else None
    return {
        "function": function,
        "calls": len(operations),
        "operations": dict(Counter(operations)),
        "budget_class": budget_class,
        "budget": budget,
        "met": None if budget is None else len(operations) <= budget,
    }


def table(result: dict[str, Any]) -> str:
    lines = ["| function | AWS calls | budget | met | operations |", "| --- | --- | --- | --- | --- |"]
    for row in result["routes"]:
        budget = "—" if row["budget"] is None else f"≤ {row['budget']} ({row['budget_class']})"
        met = "—" if row["met"] is None else ("yes" if row["met"] else "NO")
        operations = ", ".join(f"{name} x{count}" for name, count in row["operations"].items())
        lines.append(f"| {row['function']} | {row['calls']} | {budget} | {met} | {operations} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run()))
