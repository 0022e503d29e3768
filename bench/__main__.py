"""``python -m bench``: run the benchmarks, write bench/results.json and print their tables.

Parts: e2e (send → reply on the devstack), load (load without loss), aws_calls (AWS calls per
warm request), overhead (in-handler time outside AWS calls), cold_start (fresh process vs boto3).
``python -m bench aws_calls overhead`` runs only those parts.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import aws_calls, cold_start, e2e, load, overhead

RESULTS = Path(__file__).parent / "results.json"
# make bench stays under 10 minutes on a 2-core machine: 100 warm runs per route, 5 per cold start.
OVERHEAD_RUNS = 100


def main(argv: list[str]) -> int:
    parts: dict[str, Callable[[Path], dict[str, Any]]] = {
        "e2e": e2e.run,
        "load": load.run,
        "aws_calls": lambda _: aws_calls.run(),
        "overhead": lambda _: overhead.run(OVERHEAD_RUNS),
        "cold_start": lambda _: cold_start.run(),
    }
    chosen = argv or list(parts)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "arch": platform.machine()},
        "seconds": {},
    }
    with tempfile.TemporaryDirectory() as logs:
        for name in chosen:
            started = time.perf_counter()
            try:
                results[name] = parts[name](Path(logs))
            except Exception:  # one broken part must not lose the others' numbers
                results.setdefault("errors", {})[name] = traceback.format_exc()
                print(results["errors"][name], file=sys.stderr)
            results["seconds"][name] = round(time.perf_counter() - started, 1)
            print(f"bench: {name} took {results['seconds'][name]} s", file=sys.stderr, flush=True)
    results["budgets"] = budgets(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(report(results))
    return 1 if results.get("errors") else 0


def budgets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per budget of Issues 6 and 7: what was observed and whether it was met."""
    rows: list[dict[str, Any]] = []

    def add(name: str, budget: str, observed: Any, met: bool) -> None:
        rows.append({"name": name, "budget": budget, "observed": observed, "met": met})

    if "e2e" in results:
        seq, conc = results["e2e"]["sequential"], results["e2e"]["concurrent"]
        add("e2e send → reply p50, 1 client (ms)", "≤ 100", seq["p50_ms"], seq["p50_ms"] <= 100)
        rate = conc["messages_per_second"]
        add("e2e 8 clients (messages/s)", "≥ 90", rate, rate >= 90)
    if "load" in results:
        loaded = results["load"]
        add("load: duplicated replies", "= 0", loaded["duplicated"], loaded["duplicated"] == 0)
        add("load: lost messages", "= 0", loaded["lost"], loaded["lost"] == 0)
    for row in results.get("aws_calls", {}).get("routes", []):
        if row["budget"] is not None:
            add(f"AWS calls: {row['function']}", f"≤ {row['budget']}", row["calls"], row["met"])
    for row in results.get("overhead", {}).get("routes", []):
        observed = f"{row['overhead_p50_ms']} / {row['overhead_p99_ms']}"
        add(f"overhead p50 / p99 ms: {row['function']}", "≤ 1 / ≤ 5", observed, row["met"])
    for row in results.get("cold_start", {}).get("functions", []):
        add(f"cold start ratio: {row['function']}", f"≤ {cold_start.BUDGET_RATIO}", row["ratio"], row["met"])
    return rows


def report(results: dict[str, Any]) -> str:
    sections = [f"machine: {results['machine']}; seconds per part: {results['seconds']}"]
    if results.get("errors"):
        sections.append(f"parts that failed (see results.json): {', '.join(results['errors'])}")
    if "e2e" in results:
        seq, conc = results["e2e"]["sequential"], results["e2e"]["concurrent"]
        sections.append(
            "\n".join(
                [
                    "## send → reply (devstack)",
                    "| measurement | n | p50 ms | p95 ms | p99 ms | messages/s |",
                    "| --- | --- | --- | --- | --- | --- |",
                    f"| 1 client | {seq['n']} | {seq['p50_ms']} | {seq['p95_ms']} | {seq['p99_ms']} | |",
                    f"| {conc['clients']} clients | {conc['n']} | {conc['p50_ms']} | {conc['p95_ms']} "
                    f"| {conc['p99_ms']} | {conc['messages_per_second']} |",
                ]
            )
        )
    titled = [
        ("load", "## load without loss (devstack)", load.table),
        ("aws_calls", "## AWS calls per warm request (moto in-process)", aws_calls.table),
        ("overhead", "## in-handler overhead, warm (moto in-process)", overhead.table),
        ("cold_start", "## cold start (fresh process, moto server on loopback)", cold_start.table),
    ]
    sections += [f"{title}\n{render(results[name])}" for name, title, render in titled if name in results]
    met = sum(1 for row in results["budgets"] if row["met"])
    sections.append(
        "\n".join(
            [
                f"## budgets: {met} of {len(results['budgets'])} met",
                "| budget | observed | met |",
                "| --- | --- | --- |",
                *(
                    f"| {row['name']} {row['budget']} | {row['observed']} | {_verdict(row['met'])} |"
                    for row in results["budgets"]
                ),
            ]
        )
    )
    return "\n\n".join(sections)


def _verdict(met: bool) -> str:
    return "yes" if met else "NOT met"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
