"""Cold start per function (Issue 7 item 3): a fresh interpreter importing one handler and serving
its first event, against the same interpreter doing only ``import boto3; boto3.client("dynamodb")``.

Each child is a new ``python`` process with the function's environment (resolved against a moto
server on loopback, where the template's resources exist) and Lambda's sys.path (the layer and the
code root). Inside it, ``time.perf_counter`` covers the handler module's import plus its first event
(``events/<LogicalId>.json``, whose ids do not exist here, so most answer 401/404 after their reads;
the AWS calls go to moto over HTTP); the baseline covers boto3's import and one client. The ratio is
of the medians; the process wall time (interpreter start-up and exit included) is reported beside.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from devstack.motoserver import MotoProcess
from devstack.resources import create_resources
from devstack.runtime import aws_environment, code_paths
from devstack.template import FunctionSpec, Template, load_template

RUNS = 5
BUDGET_RATIO = 1.3
BASELINE_EVERY = 4
# Across the resources, the workers and the compat translators (all functions with --all).
REPRESENTATIVE = [
    "HealthFunction",
    "AuthorizerFunction",
    "CompatAuthorizerFunction",
    "ListConversationsFunction",
    "SendMessageFunction",
    "ListMessagesFunction",
    "GetTurnFunction",
    "CreateJobFunction",
    "CreateFileFunction",
    "RunTurnFunction",
    "DeliverWebhookFunction",
    "MieltoCreateMessagesFunction",
    "ShinkaiJobMessageFunction",
    "OdysseySendChatMessageFunction",
    "MintlifySendMessageFunction",
]

# Run by the child with -c: nothing is imported before the clock starts but json/sys/time.
CHILD = """
import json, sys, time
spec = json.loads(sys.argv[1])
started = time.perf_counter()
if spec["baseline"]:
    import boto3
    boto3.client("dynamodb")
    print(json.dumps({"seconds": time.perf_counter() - started}))
    raise SystemExit(0)
sys.path[:0] = spec["paths"]
import importlib.util
module_spec = importlib.util.spec_from_file_location("handler_module", spec["module"])
module = importlib.util.module_from_spec(module_spec)
sys.modules["handler_module"] = module
module_spec.loader.exec_module(module)
imported = time.perf_counter()

class Context:
    function_name = spec["name"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + spec["name"]
    memory_limit_in_mb = "512"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/" + spec["name"]
    log_stream_name = "cold"
    identity = client_context = tenant_id = None
    def get_remaining_time_in_millis(self):
        return 30000

with open(spec["event"]) as file:
    event = json.load(file)
try:
    response = getattr(module, spec["handler"])(event, Context())
except Exception as exc:  # Lambda's answer to a raised error (the authorizer's "Unauthorized")
    response = {"statusCode": "raised " + type(exc).__name__}
served = time.perf_counter()
status = response.get("statusCode") if isinstance(response, dict) else None
print(json.dumps({"seconds": served - started, "import_seconds": imported - started, "status": status}))
"""


def run(functions: list[str] | None = None, runs: int = RUNS) -> dict[str, Any]:
    template = load_template()
    names = functions or REPRESENTATIVE
    moto = MotoProcess(0)
    endpoint = moto.start()
    try:
        aws = aws_environment(endpoint)
        saved = dict(os.environ)
        os.environ.update(aws)
        try:
            resources = create_resources(template)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        baseline_env = {**_clean_environment(), **aws}
        baseline: list[dict[str, Any]] = []
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for _ in range(runs):  # rounds, with a baseline every few functions: noise hits both alike
            for index, name in enumerate(names):
                if index % BASELINE_EVERY == 0:
                    baseline.append(_child({"baseline": True}, baseline_env))
                spec = template.function(name)
                env = {**baseline_env, **resources.environment(spec)}
                samples[name].append(_child(_function_spec(template, spec), env))
        rows = [_row(name, samples[name]) for name in names]
    finally:
        moto.stop()
    base = statistics.median(sample["seconds"] for sample in baseline)
    base_wall = statistics.median(sample["wall_seconds"] for sample in baseline)
    for row in rows:
        row["ratio"] = round(row["seconds_p50"] / base, 2)
        row["wall_ratio"] = round(row["wall_seconds_p50"] / base_wall, 2)
        row["met"] = row["ratio"] <= BUDGET_RATIO
    return {
        "what": "fresh process: import the handler + serve its first event, vs import boto3 + one client",
        "runs_per_function": runs,
        "budget_ratio": BUDGET_RATIO,
        "baseline": {
            "n": len(baseline),
            "seconds_p50": round(base, 4),
            "wall_seconds_p50": round(base_wall, 4),
        },
        "functions": rows,
    }


def _function_spec(template: Template, spec: FunctionSpec) -> dict[str, Any]:
    return {
        "baseline": False,
        "name": spec.logical_id,
        "module": str(spec.module_path),
        "handler": spec.function_name,
        "event": str(spec.event_path),
        "paths": [str(path) for path in code_paths(template, [spec])],
    }


def _clean_environment() -> dict[str, str]:
    """This process's environment without what would point boto3 elsewhere or put code on the path."""
    drop = ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "PYTHONPATH")
    return {name: value for name, value in os.environ.items() if name not in drop}


def _child(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    finished = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"{spec.get('name', 'baseline')} failed:\n{finished.stderr.decode()[-3000:]}")
    last_line = finished.stdout.decode().strip().splitlines()[-1]
    return {**json.loads(last_line), "wall_seconds": wall}


def _row(name: str, samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "function": name,
        "n": len(samples),
        "seconds_p50": round(statistics.median(s["seconds"] for s in samples), 4),
        "import_seconds_p50": round(statistics.median(s["import_seconds"] for s in samples), 4),
        "wall_seconds_p50": round(statistics.median(s["wall_seconds"] for s in samples), 4),
        "first_status": samples[0]["status"],
    }


def table(result: dict[str, Any]) -> str:
    base = result["baseline"]
    lines = [
        f"baseline (import boto3 + client): {base['seconds_p50'] * 1000:.0f} ms in-process, "
        f"{base['wall_seconds_p50'] * 1000:.0f} ms process wall (median of {base['n']})",
        "",
        f"| function | import ms | import + first event ms | ratio (≤ {result['budget_ratio']}) "
        "| process wall ms | wall ratio | first status | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["functions"]:
        lines.append(
            f"| {row['function']} | {row['import_seconds_p50'] * 1000:.0f} | {row['seconds_p50'] * 1000:.0f} "
            f"| {row['ratio']} | {row['wall_seconds_p50'] * 1000:.0f} | {row['wall_ratio']} "
            f"| {row['first_status']} | {'yes' if row['met'] else 'NO'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    everything = [f.logical_id for f in load_template().functions()] if "--all" in sys.argv else None
    print(table(run(everything)))
