"""``python -m bench``: run the benchmarks, write bench/results.json and bench/RESULTS.md, print them.

Parts: e2e (send → reply on the devstack), load (load without loss), aws_calls (AWS calls per
warm request), overhead (in-handler time outside AWS calls), cold_start (fresh process vs boto3),
growth (a conversation and a workspace growing to 10,000), retrieval (10,000 chunks), streaming
(first delta, streaming's overhead, posts per second), peers (the peer, LangGraph's dev server, and ours
with 8 clients, back to back),
cost (USD per million exchanges, from the others' numbers: always last).
``python -m bench cold_start growth`` runs only those parts, into bench/results-partial.json (results.json,
RESULTS.md and the README's table are written by a full run only).
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

from bench import aws_calls, cold_start, cost, e2e, growth, load, overhead, peers, retrieval, streaming

RESULTS = Path(__file__).parent / "results.json"
PARTIAL_RESULTS = Path(__file__).parent / "results-partial.json"
RESULTS_MD = Path(__file__).parent / "RESULTS.md"
README = Path(__file__).parent.parent / "README.md"
README_MARKERS = ("<!-- bench-table:start -->", "<!-- bench-table:end -->")
TOTAL_BUDGET_SECONDS = 900  # Issue 20: under 15 minutes, the peer included


def main(argv: list[str]) -> int:
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "arch": platform.machine()},
        "seconds": {},
    }
    parts: dict[str, Callable[[Path], dict[str, Any]]] = {
        "e2e": e2e.run,
        "load": load.run,
        "aws_calls": lambda _: aws_calls.run(),
        "overhead": lambda _: overhead.run(),
        "cold_start": lambda _: cold_start.run(rounds=cold_start.EVERY_FUNCTION_ROUNDS, everything=True),
        "growth": lambda _: growth.run(),
        "retrieval": lambda _: retrieval.run(),
        "streaming": streaming.run,
        "peers": peers.run,  # the peer, then ours, back to back (needs Python 3.12.1; PyPI once)
    }
    parts["cost"] = lambda _: cost.run(results)  # last: it prices the others' measurements
    chosen = argv or list(parts)
    unknown = [name for name in chosen if name not in parts]
    if unknown:
        print(f"bench: unknown parts {unknown}; the parts are {list(parts)}", file=sys.stderr)
        return 2
    began = time.perf_counter()
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
    results["seconds"]["total"] = round(time.perf_counter() - began, 1)
    results["complete"] = chosen == list(parts)
    results["budgets"] = budgets(results)
    # A partial run leaves the committed results of the last full run as they are.
    written = RESULTS if results["complete"] else PARTIAL_RESULTS
    written.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    text = report(results)
    if results["complete"]:
        RESULTS_MD.write_text(_markdown(text), encoding="utf-8")
        _update_readme("#" + budget_table(results))  # a subsection of the README's Performance
    print(text)
    return 1 if results.get("errors") else 0


def _update_readme(budget_table: str) -> None:
    """README's Performance section shows the budget table of the latest full run (between markers)."""
    readme = README.read_text(encoding="utf-8")
    start, end = README_MARKERS
    if start in readme and end in readme:
        before, rest = readme.split(start, 1)
        README.write_text(f"{before}{start}\n{budget_table}\n{end}{rest.split(end, 1)[1]}", encoding="utf-8")


def _markdown(text: str) -> str:
    return (
        "# Benchmark results\n\n"
        "Written by `make bench` (`python -m bench`); the numbers behind it are in `bench/results.json`. "
        "What each number includes is stated in each part's module docstring (bench/*.py) and in "
        "README.md's Performance section.\n\n" + text + "\n"
    )


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
    elif "peers" in results:  # `python -m bench peers`: its own run of e2e's 8 clients
        rate = results["peers"]["ours"]["messages_per_second"]
        add("e2e 8 clients (messages/s)", "≥ 90", rate, rate >= 90)
    if "peers" in results:
        compared = results["peers"]
        ours, peer = compared["ours"]["messages_per_second"], compared["peer"]["messages_per_second"]
        add(
            "8 clients: ours / the peer (LangGraph `langgraph dev`), same run",
            f"≥ {peers.BUDGET_RATIO}x",
            f"{compared['ratio_ours_to_peer']}x ({ours} / {peer} msg/s)",
            compared["ratio_ours_to_peer"] >= peers.BUDGET_RATIO,
        )
    elif "peers" in results.get("errors", {}):  # no peer numbers: the budget is not met, and says why
        lines = results["errors"]["peers"].strip().splitlines()
        reason = next((line for line in lines if "PeerUnavailable: " in line), lines[-1])
        add(
            "8 clients: ours / the peer (LangGraph `langgraph dev`), same run",
            f"≥ {peers.BUDGET_RATIO}x",
            f"not measured: {reason}",
            False,
        )
    if "streaming" in results:
        streamed = results["streaming"]
        first = streamed["first_delta"]
        add(
            "streaming: model start → first delta p50 / p99 (ms)",
            "p50 ≤ 100",
            f"{first['p50_ms']} / {first['p99_ms']}",
            first["p50_ms"] <= 100,
        )
        rate = streamed["posts"]["frames_per_second"]
        add("streaming: frames (posts) per second per connection", "≤ 20", rate, rate <= 20)
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
    if "cold_start" in results:
        measured = results["cold_start"]
        summary = measured["summary"]
        add(
            "cold start / baseline, every API function and authorizer "
            f"(worst: {summary['worst']}; {summary['met']} of {summary['functions']} within)",
            f"≤ {cold_start.BUDGET_RATIO}",
            summary["worst_ratio"],
            summary["met"] == summary["functions"] and not measured.get("not_measured_no_sample_event"),
        )
        for row in measured["functions"]:
            if row["met"] is False:
                add(
                    f"cold start / baseline: {row['function']}",
                    f"≤ {cold_start.BUDGET_RATIO}",
                    row["ratio"],
                    False,
                )
    if "growth" in results:
        grown = results["growth"]
        for scope, size in (
            ("conversation", "10 → 10,000 messages"),
            ("workspace", "10 → 10,000 conversations"),
        ):
            for row in grown[scope]:
                observed = f"{row['own_p50_ratio_largest_smallest']}x; calls and items flat: " + (
                    "yes" if row["calls_and_items_flat"] else "no"
                )
                add(f"growth {size}: {row['route']}", f"≤ {growth.BUDGET_RATIO}x, flat", observed, row["met"])
        history = grown["history"]
        add(
            f"history load on {history['conversation_messages']:,} messages: items read",
            f"≤ {history['history_messages_budget']} (the agent's history_messages)",
            history["items_read"],
            history["met"],
        )
    if "retrieval" in results:
        for scope, row in results["retrieval"]["results"].items():
            add(
                f"retrieval at {results['retrieval']['chunks']:,} chunks, p95 ms ({scope})",
                f"≤ {retrieval.BUDGET_P95_MS}",
                row["p95_ms"],
                row["p95_ms"] <= retrieval.BUDGET_P95_MS,
            )
    if "cost" in results:
        priced = results["cost"]
        total_usd = priced["usd_per_million_exchanges_total"]
        add(
            "cost model: USD per million exchanges (prices printed beside it)",
            f"≤ {cost.BUDGET_USD_PER_MILLION}",
            total_usd,
            total_usd <= cost.BUDGET_USD_PER_MILLION,
        )
    if results.get("complete"):
        total = results["seconds"]["total"]
        add("make bench wall time (s)", f"< {TOTAL_BUDGET_SECONDS}", total, total < TOTAL_BUDGET_SECONDS)
    return rows


def budget_table(results: dict[str, Any]) -> str:
    met = sum(1 for row in results["budgets"] if row["met"])
    return "\n".join(
        [
            f"## budgets (Issue 7): {met} of {len(results['budgets'])} met",
            "",
            "| budget | limit | measured | met |",
            "| --- | --- | --- | --- |",
            *(
                f"| {row['name']} | {row['budget']} | {row['observed']} | {_verdict(row['met'])} |"
                for row in results["budgets"]
            ),
        ]
    )


def report(results: dict[str, Any]) -> str:
    sections = [
        budget_table(results),
        f"machine: {results['machine']}; seconds per part: {results['seconds']}",
    ]
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
        ("growth", "## growth (moto in-process)", growth.table),
        ("retrieval", "## retrieval at 10,000 chunks (moto in-process)", _retrieval_table),
        ("peers", "## the peer side by side (8 clients, same run)", peers.table),
        ("cost", "## cost per million exchanges", cost.table),
    ]
    sections += [f"{title}\n\n{render(results[name])}" for name, title, render in titled if name in results]
    return "\n\n".join(sections)


def _retrieval_table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['what']}; {result['chunks']} chunks, {result['queries']} queries",
        "",
        "| scope | p50 ms | p95 ms | p99 ms |",
        "| --- | --- | --- | --- |",
    ]
    for scope, row in result["results"].items():
        lines.append(f"| {scope} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} |")
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "yes" if met else "NOT met"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
