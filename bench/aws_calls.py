"""AWS calls per request, per route (Issue 7 item 1), in-process against moto.

Each function is warmed by one request, and the calls of the second, identical request are counted
(botocore's ``before-call`` events): what a warm Lambda container does per request, not its cold
start. The authorizer is counted on its own (API Gateway calls it before the route's function), and
the worker per turn, with the offline ``scripted`` provider, so the model call is not an AWS call.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from bench.inprocess import ROUTES, Functions, mocked_functions, set_up

# Issue 7's budgets: calls per warm request; issue 16's: calls a tool round trip adds to a plain turn.
BUDGETS = {"send": 2, "read": 1, "list": 1, "authorizer": None, "worker": 6, "tool_round_trip": 4}
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {}}}},
}
SCRIPT = [{"match": "^weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}]


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

        plain = _worker_calls(functions, workspace.key)
        rows.append(_row("RunTurnFunction (per turn)", "worker", plain))
        rows.extend(_tool_rows(functions, workspace.key, plain))
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


def _tool_rows(functions: Functions, key: str, plain: list[str]) -> list[dict[str, Any]]:
    """The worker's calls for a turn with one tool round trip (both of its invocations, for a client
    tool), less a plain turn's: what the round trip adds. Warmed by one round trip of each kind first."""
    provider = functions.http(
        "CreateProviderFunction",
        key=key,
        body={"name": "tools", "kind": "scripted", "options": {"script": SCRIPT}},
    ).body
    client_agent = _agent(functions, key, provider["id"], WEATHER)
    # An agent without get_weather: the worker answers the model's call itself (an unknown-tool error),
    # which costs the AWS calls of any server-side round (builtin, http, mcp) and calls no server.
    server_side_agent = _agent(functions, key, provider["id"], {**WEATHER, "function": {"name": "other"}})
    rows = []
    for name, agent_id in (("client tool", client_agent), ("server-side tool", server_side_agent)):
        _tool_turn(functions, key, agent_id, [])
        seconds: list[float] = []
        worker: list[str] = []
        _tool_turn(functions, key, agent_id, worker, seconds)
        extra = list((Counter(worker) - Counter(plain)).elements())
        row = _row(f"RunTurnFunction (per {name} round trip, beyond a plain turn)", "tool_round_trip", extra)
        rows.append({**row, "worker_calls": len(worker), "worker_ms": round(sum(seconds) * 1000, 1)})
    return rows


def _agent(functions: Functions, key: str, provider_id: str, tool: dict[str, Any]) -> str:
    body: dict[str, Any] = {"name": "tools", "provider_id": provider_id, "tools": [tool]}
    return str(functions.http("CreateAgentFunction", key=key, body=body).body["id"])


def _tool_turn(
    functions: Functions, key: str, agent_id: str, worker: list[str], seconds: list[float] | None = None
) -> None:
    """One turn with a tool round trip; the worker's calls go to ``worker``, its wall time to ``seconds``."""

    def run_worker() -> None:
        with functions.recorder.recording() as calls:
            began = time.perf_counter()
            functions.run_turns()
            if seconds is not None:
                seconds.append(time.perf_counter() - began)
        worker.extend(call.operation for call in calls)

    conversation = functions.http("CreateConversationFunction", key=key, body={"agent_id": agent_id}).body[
        "id"
    ]
    path = {"conversation_id": conversation}
    sent = functions.http("SendMessageFunction", key=key, path=path, body={"content": "weather?"}).body
    run_worker()
    turn_path = {**path, "turn_id": sent["turn"]["id"]}
    turn = functions.http("GetTurnFunction", key=key, path=turn_path).body
    if turn["status"] == "requires_action":
        (call,) = turn["required_action"]["submit_tool_outputs"]["tool_calls"]
        outputs = {"tool_outputs": [{"tool_call_id": call["id"], "output": "-3 C"}]}
        answered = functions.http("SubmitToolOutputsFunction", key=key, path=turn_path, body=outputs)
        assert answered.status == 200, answered.body
        run_worker()
    done = functions.http("GetTurnFunction", key=key, path=turn_path).body
    assert done["status"] == "completed", done


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
