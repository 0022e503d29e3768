"""Send → reply available, end to end on the devstack with the `scripted` provider.

Each sample is one message: POST it, then long-poll its turn until it has ended; the time covers
the API call, the FIFO queue, the worker and the reply's write, over real HTTP on loopback.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.e2e.devstack_process import ApiClient, start_devstack

SEQUENTIAL_MESSAGES = 60
CLIENTS = 8
MESSAGES_PER_CLIENT = 15


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 1),
    }


def one_exchange(api: ApiClient, headers: dict[str, str], conversation: str, text: str) -> float:
    started = time.perf_counter()
    status, _, sent = api.post(
        f"/v1/conversations/{conversation}/messages", headers=headers, json={"content": text}
    )
    assert status == 202, sent
    status, _, turn = api.get(
        f"/v1/conversations/{conversation}/turns/{sent['turn']['id']}?wait=20", headers=headers
    )
    assert turn["status"] == "completed", turn
    return time.perf_counter() - started


def run(log_dir: Path) -> dict[str, Any]:
    stack = start_devstack(log_dir / "bench-devstack.log")
    try:
        api = ApiClient(stack.url)
        _, _, setup = api.post("/v1/setup", json={"workspace_name": "bench"})
        headers = {"authorization": f"Bearer {setup['api_key']['secret']}"}

        def new_conversation() -> str:
            return str(api.post("/v1/conversations", headers=headers, json={}).json["id"])

        conversation = new_conversation()
        one_exchange(api, headers, conversation, "warm up")  # loads the functions' warm copies
        sequential = [one_exchange(api, headers, conversation, f"m{i}") for i in range(SEQUENTIAL_MESSAGES)]

        def client(_: int) -> list[float]:
            own = new_conversation()
            return [one_exchange(api, headers, own, f"c{i}") for i in range(MESSAGES_PER_CLIENT)]

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            concurrent = [sample for samples in pool.map(client, range(CLIENTS)) for sample in samples]
        elapsed = time.perf_counter() - started
    finally:
        stack.stop()
    return {
        "what": "POST a message, then long-poll its turn until completed (scripted provider, devstack)",
        "sequential": summary(sequential),
        "concurrent": {
            **summary(concurrent),
            "clients": CLIENTS,
            "messages_per_second": round(len(concurrent) / elapsed, 1),
        },
    }
