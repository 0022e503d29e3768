"""``python -m bench``: run the benchmarks, write bench/results.json and print a table."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from bench import e2e

RESULTS = Path(__file__).parent / "results.json"

# Issue 7's budgets for what is measured here (more benchmarks, more budgets, land with it).
BUDGETS = {
    "e2e sequential p50 (ms)": ("≤", 100.0),
    "e2e 8 clients (messages/s)": ("≥", 90.0),
}


def main() -> int:
    with tempfile.TemporaryDirectory() as logs:
        measured = e2e.run(Path(logs))
    observed = {
        "e2e sequential p50 (ms)": measured["sequential"]["p50_ms"],
        "e2e 8 clients (messages/s)": measured["concurrent"]["messages_per_second"],
    }
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "arch": platform.machine()},
        "e2e": measured,
        "budgets": {
            name: {
                "budget": f"{op} {limit}",
                "observed": observed[name],
                "met": _met(op, observed[name], limit),
            }
            for name, (op, limit) in BUDGETS.items()
        },
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    return 0


def _met(op: str, value: float, limit: float) -> bool:
    return value <= limit if op == "≤" else value >= limit


def table(results: dict[str, Any]) -> str:
    seq, conc = results["e2e"]["sequential"], results["e2e"]["concurrent"]
    lines = [
        "| measurement | n | p50 ms | p95 ms | p99 ms | messages/s |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| send → reply, 1 client | {seq['n']} | {seq['p50_ms']} | {seq['p95_ms']} | {seq['p99_ms']} | |",
        f"| send → reply, {conc['clients']} clients | {conc['n']} | {conc['p50_ms']} | {conc['p95_ms']} "
        f"| {conc['p99_ms']} | {conc['messages_per_second']} |",
        "",
        "| budget | observed | met |",
        "| --- | --- | --- |",
        *(
            f"| {name} {b['budget']} | {b['observed']} | {'yes' if b['met'] else 'NO'} |"
            for name, b in results["budgets"].items()
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
