"""Cold start per function (Issue 7 item 3): a fresh interpreter importing one handler and serving
its first event, against the same interpreter doing only ``import boto3; boto3.client("dynamodb")``.

What is measured is what Lambda runs: ``sam build``'s output (``make bench`` builds for this
machine's architecture first), loaded the way tests.built loads it - a ``python -I -S`` child whose
import path is only the function's build folder, the built layer and the runtime's boto3 (compiled,
as the Lambda runtime ships it), reading bytecode but writing none (Lambda's /var/task and /opt are
read-only: what the build does not compile is compiled at every start). The baseline is the same
child with only the runtime's boto3 on its path. Inside the child ``time.perf_counter`` covers the
handler module's import plus its first event (interpreter start-up is excluded on both sides; the
process wall time is reported beside it). The function's AWS calls go to a moto server on loopback
over HTTP (a real request, as the first invocation makes one).

``make bench`` measures every function of template.yaml, 5 runs each (``EVERY_FUNCTION_ROUNDS``);
``python -m bench.cold_start`` alone measures a sample covering every route family (each handler
package's first write route and first read route, both authorizers, the turn worker), 5 runs each.
API functions and authorizers are held to the budget; workers, and the synchronous routes that run
or wait for a whole agent turn inside the request (``SYNCHRONOUS_TURN``), are reported beside it:
their first event includes a model turn, not only a cold start.

The events are realistic: before measuring, a workspace is set up on the moto server through the
handlers themselves (an API key, the scripted starter agent, a conversation with an answered
message, a job), and every sample event (``events/<LogicalId>.json``) has its sample ids and API key
replaced by those real ones, so a read finds its item and a send really writes its transaction and
queues its turn. DELETE routes keep the sample ids (they would otherwise delete what the next
child reads), so they answer 404 after their read, as a delete of a missing item does.

Runs are interleaved: each round visits every function in a shuffled order with a baseline child
before every few functions, so a burst of load on the shared machine hits both sides alike. The
ratio is the median of a function's runs over the median of all baselines.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from devstack.motoserver import MotoProcess
from devstack.resources import LocalResources, create_resources
from devstack.runtime import aws_environment, code_paths
from devstack.template import FunctionSpec, Template, load_template
from tests.built.run_built_functions import BUILD_DIR, import_path, lambda_runtime_packages

# ``python -m bench.cold_start`` measures the route-family sample, 5 runs each, in about a minute and a
# half on an idle 2-core machine; ``--all`` measures all ~150 functions (make bench: 5 runs each, about
# four minutes: with 3, the functions near the budget swapped places from run to run);
# ``python -m bench.cold_start SendMessageFunction ...`` the named ones.
ROUNDS = 5
EVERY_FUNCTION_ROUNDS = 5
BUDGET_RATIO = 1.3
BASELINE_EVERY = 2

# Routes whose first event runs (chat completions) or waits for (Odyssey's synchronous chat) a whole
# agent turn: reported, held to no cold-start budget. With no worker here, Odyssey's would wait out
# its deadline, so it is left out of the sample.
SYNCHRONOUS_TURN = {"ChatCompletionsFunction", "OdysseySendChatMessageFunction"}
NOT_SAMPLED = {"OdysseySendChatMessageFunction"}

# Run by the child (python -I -S -c): nothing is imported before the clock starts but json/sys/time.
CHILD = """
import json, sys, time
sys.dont_write_bytecode = True
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["paths"]
started = time.perf_counter()
if spec["baseline"]:
    import boto3
    boto3.client("dynamodb")
    print(json.dumps({"seconds": time.perf_counter() - started}))
    raise SystemExit(0)
import importlib
module = importlib.import_module(spec["module"])
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
if isinstance(response, dict) and "isAuthorized" in response:
    status = "authorized" if response["isAuthorized"] else "denied"
elif isinstance(response, dict) and "batchItemFailures" in response:
    status = "failed records: %d" % len(response["batchItemFailures"])
print(json.dumps({"seconds": served - started, "import_seconds": imported - started, "status": status}))
"""

# Run with -c in a child against the moto server: set up a workspace through the handlers and print
# the ids the sample events name, as {sample value: real value}.
SEED = """
import json, sys
from bench.cold_start import seed_workspace
print(json.dumps(seed_workspace(json.loads(sys.argv[1]))))
"""


def seed_workspace(created: dict[str, Any]) -> dict[str, str]:
    """In a child whose environment points at the moto server: a set-up workspace's real ids, keyed
    by the sample values the sample events carry (tests.built.sample_events).

    ``created``: the parent's LocalResources (parameters and queue URLs), to find the turns queue."""
    from bench.inprocess import CallRecorder, Functions, set_up
    from devstack.runtime import prepare_process
    from tests.built.sample_events import SAMPLE_API_KEY, SAMPLE_IDS

    template = load_template()
    resources = LocalResources(template, created["parameters"], created["queue_urls"])
    prepare_process({"PARLEY_STARTER_AGENT": "scripted"}, code_paths(template, template.functions()))
    functions = Functions(template, resources, CallRecorder())
    workspace = set_up(functions)
    real = {
        "workspace_id": workspace.workspace_id,
        "conversation_id": workspace.conversation_id,
        "message_id": workspace.message_id,
        "turn_id": workspace.turn_id,
        "job_id": workspace.job_id,
        "agent_id": workspace.agent_id,
        "provider_id": workspace.provider_id,
    }
    replacements = {SAMPLE_IDS[name]: value for name, value in real.items()}
    replacements[SAMPLE_API_KEY] = workspace.key
    return replacements


def route_family_sample(template: Template) -> list[FunctionSpec]:
    """Per handler package (api.messages, compat.shinkai, auth, workers, ...): its first write route
    and its first read route (the first function of a package without routes)."""
    families: dict[str, list[FunctionSpec]] = {}
    for spec in template.functions():
        if spec.logical_id in NOT_SAMPLED:
            continue
        families.setdefault(spec.handler.rsplit(".", 2)[0], []).append(spec)
    sample: list[FunctionSpec] = []
    for members in families.values():
        writes = [
            spec for spec in members if spec.routes and spec.routes[0].method in ("POST", "PUT", "PATCH")
        ]
        reads = [spec for spec in members if spec.routes and spec.routes[0].method == "GET"]
        if not writes and not reads:  # the authorizers are both measured; of the workers, the first
            picked = members if members[0].logical_id.endswith("AuthorizerFunction") else members[:1]
        else:
            picked = writes[:1] + reads[:1]
        sample += [spec for spec in picked if spec not in sample]
    return sample


def run(
    functions: list[str] | None = None, rounds: int = ROUNDS, *, everything: bool = False
) -> dict[str, Any]:
    """Cold starts of ``functions`` (default: the route-family sample; ``everything``: all functions)."""
    template = load_template()
    if functions:
        chosen = [template.function(name) for name in functions]
    else:
        chosen = template.functions() if everything else route_family_sample(template)
    # A Lambda Web Adapter function's handler is a start script, not a module to import: its start (the
    # server's readiness) is timed by tests/built instead. Listed, not hidden.
    web_adapter = [spec.logical_id for spec in chosen if spec.web_adapter]
    chosen = [spec for spec in chosen if not spec.web_adapter]
    # A function still without its sample event (being written) cannot be measured: listed, not hidden.
    specs = [spec for spec in chosen if spec.event_path.exists()]
    without_event = [spec.logical_id for spec in chosen if not spec.event_path.exists()]
    _require_current_build(template, specs)
    runtime = lambda_runtime_packages()
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
        shared_env = dict(baseline_env)
        for spec in template.functions():
            shared_env.update(resources.environment(spec))
        replacements = _seed(shared_env, resources)
        with tempfile.TemporaryDirectory() as folder:
            events = {spec.logical_id: _realistic_event(spec, replacements, Path(folder)) for spec in specs}
            baseline, samples = _measure(specs, events, resources, baseline_env, rounds, runtime)
    finally:
        moto.stop()
    base = statistics.median(sample["seconds"] for sample in baseline)
    base_wall = statistics.median(sample["wall_seconds"] for sample in baseline)
    rows = []
    for spec in specs:
        row = _row(spec, samples[spec.logical_id])
        row["ratio"] = round(row["seconds_p50"] / base, 2)
        row["wall_ratio"] = round(row["wall_seconds_p50"] / base_wall, 2)
        row["met"] = row["ratio"] <= BUDGET_RATIO if row["kind"] in ("api", "authorizer") else None
        rows.append(row)
    budgeted = [row for row in rows if row["met"] is not None]
    return {
        "what": "fresh process: import the handler + serve one realistic first event, "
        "vs import boto3 + one client (medians, interleaved)",
        "rounds": rounds,
        "coverage": "named functions"
        if functions
        else (
            "every function"
            if everything
            else "route-family sample: each handler package's first write and first read route"
        ),
        "budget_ratio": BUDGET_RATIO,
        "baseline": {
            "n": len(baseline),
            "seconds_p50": round(base, 4),
            "wall_seconds_p50": round(base_wall, 4),
        },
        "functions": rows,
        "not_measured_no_sample_event": without_event,
        "not_measured_web_adapter": web_adapter,
        "summary": {
            "functions": len(budgeted),
            "met": sum(1 for row in budgeted if row["met"]),
            "worst": max(budgeted, key=lambda row: row["ratio"])["function"] if budgeted else None,
            "worst_ratio": max((row["ratio"] for row in budgeted), default=None),
            "median_ratio": round(statistics.median(row["ratio"] for row in budgeted), 2)
            if budgeted
            else None,
        },
    }


def _seed(env: dict[str, str], resources: LocalResources) -> dict[str, str]:
    created = {"parameters": dict(resources.parameters), "queue_urls": resources.queue_urls}
    finished = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", SEED, json.dumps(created)],
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        capture_output=True,
        timeout=300,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"seeding the workspace failed:\n{finished.stderr.decode()[-3000:]}")
    replacements: dict[str, str] = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    return replacements


def _realistic_event(spec: FunctionSpec, replacements: dict[str, str], folder: Path) -> Path:
    text = spec.event_path.read_text(encoding="utf-8")
    if not any(route.method == "DELETE" for route in spec.routes):
        for sample, real in replacements.items():
            text = text.replace(sample, real)
    path = folder / f"{spec.logical_id}.json"
    path.write_text(text, encoding="utf-8")
    return path


def _require_current_build(template: Template, specs: list[FunctionSpec]) -> None:
    built = BUILD_DIR / "template.yaml"
    if not built.is_file():
        raise RuntimeError(f"no build in {BUILD_DIR}: run `make build ARCH=<this machine's>` first")
    handlers = {spec.logical_id: spec.handler for spec in load_template(built).functions()}
    stale = [spec.logical_id for spec in specs if handlers.get(spec.logical_id) != spec.handler]
    if stale:
        raise RuntimeError(f"the build is older than template.yaml ({stale[:5]}): run `make build` again")


def _measure(
    specs: list[FunctionSpec],
    events: dict[str, Path],
    resources: LocalResources,
    baseline_env: dict[str, str],
    rounds: int,
    runtime: Path,
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    baseline: list[dict[str, Any]] = []
    samples: dict[str, list[dict[str, Any]]] = {spec.logical_id: [] for spec in specs}
    shuffler = random.Random(7)  # a fixed order per run of the bench, not a secret
    for _ in range(rounds):
        order = list(specs)
        shuffler.shuffle(order)
        for index, spec in enumerate(order):
            if index % BASELINE_EVERY == 0:
                baseline.append(_child({"baseline": True, "paths": [str(runtime)]}, baseline_env))
            env = {**baseline_env, **resources.environment(spec)}
            samples[spec.logical_id].append(
                _child(_function_spec(spec, events[spec.logical_id], runtime), env)
            )
    return baseline, samples


def _function_spec(spec: FunctionSpec, event: Path, runtime: Path) -> dict[str, Any]:
    return {
        "baseline": False,
        "name": spec.logical_id,
        "module": spec.handler.rpartition(".")[0],
        "handler": spec.function_name,
        "event": str(event),
        "paths": import_path(spec, runtime),
    }


def _clean_environment() -> dict[str, str]:
    """This process's environment without what would point boto3 elsewhere or put code on the path."""
    drop = ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "PYTHONPATH")
    return {name: value for name, value in os.environ.items() if name not in drop}


def _child(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    finished = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-I", "-S", "-c", CHILD, json.dumps(spec)],
        env=env,
        cwd=spec["paths"][0],
        capture_output=True,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"{spec.get('name', 'baseline')} failed:\n{finished.stderr.decode()[-3000:]}")
    last_line = finished.stdout.decode().strip().splitlines()[-1]
    return {**json.loads(last_line), "wall_seconds": wall}


def _kind(spec: FunctionSpec) -> str:
    if spec.logical_id in SYNCHRONOUS_TURN:
        return "synchronous turn"
    if spec.routes:
        return "api"
    return "authorizer" if "Authorizer" in spec.logical_id else "worker"


def _row(spec: FunctionSpec, samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "function": spec.logical_id,
        "kind": _kind(spec),
        "n": len(samples),
        "seconds_p50": round(statistics.median(s["seconds"] for s in samples), 4),
        "import_seconds_p50": round(statistics.median(s["import_seconds"] for s in samples), 4),
        "wall_seconds_p50": round(statistics.median(s["wall_seconds"] for s in samples), 4),
        "first_status": samples[0]["status"],
    }


def table(result: dict[str, Any]) -> str:
    base, summary = result["baseline"], result["summary"]
    lines = [
        f"baseline (import boto3 + client): {base['seconds_p50'] * 1000:.0f} ms in-process, "
        f"{base['wall_seconds_p50'] * 1000:.0f} ms process wall (median of {base['n']}); "
        f"{summary['met']} of {summary['functions']} API functions and authorizers within "
        f"{result['budget_ratio']}x (median {summary['median_ratio']}x, worst {summary['worst']} "
        f"{summary['worst_ratio']}x); {result['rounds']} runs each; {result['coverage']}",
        "",
        f"| function | kind | import ms | import + first event ms | ratio (≤ {result['budget_ratio']}) "
        "| process wall ms | wall ratio | first status | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in sorted(result["functions"], key=lambda row: -row["ratio"]):
        met = "—" if row["met"] is None else ("yes" if row["met"] else "NO")
        lines.append(
            f"| {row['function']} | {row['kind']} | {row['import_seconds_p50'] * 1000:.0f} "
            f"| {row['seconds_p50'] * 1000:.0f} | {row['ratio']} | {row['wall_seconds_p50'] * 1000:.0f} "
            f"| {row['wall_ratio']} | {row['first_status']} | {met} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    rounds = int(arguments.pop(arguments.index("--rounds") + 1)) if "--rounds" in arguments else ROUNDS
    chosen = [arg for arg in arguments if not arg.startswith("-")] or None
    print(table(run(chosen, rounds, everything="--all" in arguments)))
