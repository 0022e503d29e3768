"""Send → reply available, end to end on the devstack with the `scripted` provider.

Each sample is one message: POST it, then long-poll its turn (``?wait=20``) until it has ended. The
time covers, over real HTTP on loopback: the gateway and the authorizer (twice), SendMessage, the
FIFO queue and its poller, the worker (history, the scripted model, the reply's write, the turn
event), and the long poll noticing the end. Every client keeps one keep-alive connection, as a real
one would, so the numbers are not those of TCP set-up, nor of the bench's own CPU.

Wall-clock numbers depend on what else the machine runs; so each phase also reports the devstack's
own CPU per exchange (its process and its local AWS child, from /proc), which bounds what the
machine could sustain: ``cpu_bound_messages_per_second`` = cores * 1000 / total CPU ms per exchange.
Queue pickup (record sent → function started) is measured on its own, in ``pickup``.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import pickup
from bench.stats import summary
from tests.e2e.devstack_process import RunningDevstack, start_devstack

SEQUENTIAL_MESSAGES = 100
CLIENTS = 8
MESSAGES_PER_CLIENT = 25
WARM_UP_MESSAGES = 3


class Client:
    """One API client: a keep-alive connection and the workspace's key."""

    def __init__(self, url: str, key: str | None = None) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"content-type": "application/json"}
        if key:
            self.headers["authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        self.connection.request(method, path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"null")

    def new_conversation(self) -> str:
        status, conversation = self.call("POST", "/v1/conversations", {})
        assert status == 201, conversation
        return str(conversation["id"])

    def exchange(self, conversation: str, text: str) -> float:
        started = time.perf_counter()
        status, sent = self.call("POST", f"/v1/conversations/{conversation}/messages", {"content": text})
        assert status == 202, sent
        status, turn = self.call(
            "GET", f"/v1/conversations/{conversation}/turns/{sent['turn']['id']}?wait=20"
        )
        assert status == 200, turn
        assert turn["status"] == "completed", turn
        return time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


class CpuMeter:
    """CPU seconds used by the devstack's process and by its children (the local AWS)."""

    def __init__(self, stack: RunningDevstack) -> None:
        self.pid = stack.process.pid
        self.children = _children(self.pid)

    def read(self) -> dict[str, float]:
        return {"devstack": _cpu_seconds(self.pid), "local_aws": sum(map(_cpu_seconds, self.children))}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as file:
                found += [int(child) for child in file.read().split()]
        except FileNotFoundError:
            continue  # a thread that ended since the listing
    return found


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_per_exchange(before: dict[str, float], after: dict[str, float], exchanges: int) -> dict[str, float]:
    used = {name: (after[name] - before[name]) * 1000 / exchanges for name in before}
    total = sum(used.values())
    return {
        "devstack_cpu_ms": round(used["devstack"], 1),
        "local_aws_cpu_ms": round(used["local_aws"], 1),
        "total_cpu_ms": round(total, 1),
        "cpu_bound_messages_per_second": round((os.cpu_count() or 1) * 1000 / total, 1) if total else 0.0,
    }


def started(log_dir: Path) -> tuple[RunningDevstack, str]:
    """A fresh devstack and its workspace's key."""
    stack = start_devstack(log_dir / "bench-devstack.log")
    status, setup = Client(stack.url).call("POST", "/v1/setup", {"workspace_name": "bench"})
    assert status == 201, setup
    return stack, str(setup["api_key"]["secret"])


def concurrent(
    stack: RunningDevstack, key: str, clients: int = CLIENTS, per_client: int = MESSAGES_PER_CLIENT
) -> dict[str, Any]:
    """``clients`` clients, each on its own conversation, ``per_client`` exchanges each in turn (after
    one warm-up each, not counted): messages/s over the phase's wall time, and CPU per exchange."""
    meter = CpuMeter(stack)
    connected = [Client(stack.url, key) for _ in range(clients)]
    conversations = [client.new_conversation() for client in connected]
    for client, own in zip(connected, conversations, strict=True):
        client.exchange(own, "warm up")  # each client's connection and a warm copy per worker

    def client_run(number: int) -> list[float]:
        client, own = connected[number], conversations[number]
        return [client.exchange(own, f"c{i}") for i in range(per_client)]

    before = meter.read()
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        samples = [sample for run in pool.map(client_run, range(clients)) for sample in run]
    elapsed = time.perf_counter() - began
    used = cpu_per_exchange(before, meter.read(), len(samples))
    for client in connected:
        client.close()
    return {
        **summary(samples),
        "clients": clients,
        "messages_per_client": per_client,
        "messages_per_second": round(len(samples) / elapsed, 1),
        **used,
    }


def run_concurrent(log_dir: Path, per_client: int) -> dict[str, Any]:
    """Only the concurrent phase, on a devstack of its own (what the peers part compares)."""
    stack, key = started(log_dir)
    try:
        return concurrent(stack, key, per_client=per_client)
    finally:
        stack.stop()


def run(log_dir: Path) -> dict[str, Any]:
    stack, key = started(log_dir)
    try:
        meter = CpuMeter(stack)
        one = Client(stack.url, key)
        conversation = one.new_conversation()
        for i in range(WARM_UP_MESSAGES):  # loads the functions' warm copies
            one.exchange(conversation, f"warm up {i}")
        before = meter.read()
        sequential = [one.exchange(conversation, f"m{i}") for i in range(SEQUENTIAL_MESSAGES)]
        sequential_cpu = cpu_per_exchange(before, meter.read(), SEQUENTIAL_MESSAGES)
        one.close()
        parallel = concurrent(stack, key)
    finally:
        stack.stop()
    return {
        "what": "POST a message, then long-poll its turn until completed (scripted provider, devstack, "
        "keep-alive connections); CPU is the devstack's and its local AWS's per exchange",
        "sequential": {**summary(sequential), **sequential_cpu},
        "concurrent": parallel,
        "pickup": pickup.run(),
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        "| phase | n | p50 ms | p95 ms | p99 ms | msg/s | devstack CPU ms | local AWS CPU ms "
        "| CPU-bound msg/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase in ("sequential", "concurrent"):
        row = result[phase]
        rows.append(
            f"| {phase} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} "
            f"| {row.get('messages_per_second', '')} | {row['devstack_cpu_ms']} | {row['local_aws_cpu_ms']} "
            f"| {row['cpu_bound_messages_per_second']} |"
        )
    pick = result["pickup"]
    rows.append(f"\nQueue pickup: p50 {pick['p50_ms']} ms, p95 {pick['p95_ms']} ms, max {pick['max_ms']} ms")
    return "\n".join(rows)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as logs:
        outcome = run(Path(logs))
        print(json.dumps(outcome, indent=2))
        print(table(outcome))
