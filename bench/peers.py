"""The peer side by side: LangGraph's in-memory dev server, then Parley's devstack, 8 clients each.

The peer is the benchmark vendored in ``bench/peers/langgraph/`` (its README says where it comes
from): ``langgraph dev`` as that benchmark starts it by default (reload on, 1 job per worker), a
one-node graph on a fake chat model that always replies the same text. Its workload ``d``: 8
asyncio clients, each opens its own thread and runs 50 ``POST /threads/{id}/runs/wait`` in turn;
messages/s over the wall time (which includes each client's ``POST /threads``), p50/p95/p99.

Ours, right after it in the same run, on the same workload: ``bench.e2e.run_concurrent``, 8 clients,
each on its own conversation, ``CYCLES_PER_CLIENT`` (the peer's 50) exchanges each (POST a
message, then long-poll its turn; scripted provider) after one warm-up; messages/s over that phase's
wall time, the warm-ups and the conversations' creation not included.

The peer runs in its own venv, Python 3.12.1 (pyenv's, or ``$PARLEY_PEER_PYTHON``), installed from
the vendored ``requirements.lock`` into ``${XDG_CACHE_HOME:-~/.cache}/parley-bench/peer-langgraph``
the first time (this needs PyPI); a stamp holds the lock's hash, so a changed lock rebuilds it.
Without that Python, or without PyPI on a first run, the part fails and says why: no peer numbers.

Loopback only: the peer's client refuses other hosts and samples the server's sockets every second;
a non-loopback peer seen fails the part. Every wait is bounded: pip by ``INSTALL_TIMEOUT_SECONDS``,
the peer's run by ``PEER_TIMEOUT_SECONDS`` (at the limit its process group, server included, is
killed), the peer's clients by the client's own ``--throughput-timeout``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import e2e
from tests.e2e.devstack_process import free_port

PEER_DIR = Path(__file__).parent / "peers" / "langgraph"
LOCK = PEER_DIR / "requirements.lock"
PEER_PYTHON_VERSION = "3.12.1"
CLIENTS = 8
CYCLES_PER_CLIENT = 50
INSTALL_TIMEOUT_SECONDS = 600
PEER_TIMEOUT_SECONDS = 300
PEER_THROUGHPUT_TIMEOUT_SECONDS = 240  # the client's own limit on its 8 x 50 runs, inside the above
PEER_STARTUP_TIMEOUT_SECONDS = 60
BUDGET_RATIO = 2.0
PEER_VERSIONS = ("python", "langgraph", "langgraph-api", "langgraph-runtime-inmem", "langgraph-cli")


class PeerUnavailable(RuntimeError):
    """The peer could not be installed or run: the part fails with this reason, and no peer numbers."""


def cache_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "parley-bench" / "peer-langgraph"


def run(log_dir: Path) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    venv = ensure_venv(cache_dir() / "venv")
    seconds["venv"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    peer = run_peer(venv["python"], log_dir)
    seconds["peer"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    concurrent = e2e.run_concurrent(log_dir, CYCLES_PER_CLIENT)
    seconds["ours"] = round(time.perf_counter() - started, 1)

    ours = {
        "what": "Parley devstack, bench.e2e's 8-client phase: POST a message, long-poll its turn "
        f"({concurrent['clients']} clients x {CYCLES_PER_CLIENT}, scripted provider)",
        **concurrent,
    }
    return {
        "what": "8 concurrent clients, each on its own thread/conversation, send a message and wait for "
        "the reply, in turn: the peer first, then ours, back to back in one run",
        "peer": peer,
        "ours": ours,
        "ratio_ours_to_peer": round(ours["messages_per_second"] / peer["messages_per_second"], 2),
        "venv": {key: value for key, value in venv.items() if key != "python"},
        "seconds": seconds,
    }


def peer_python() -> str:
    """Python 3.12.1 for the peer's venv: ``$PARLEY_PEER_PYTHON``, else pyenv's 3.12.1."""
    if configured := os.environ.get("PARLEY_PEER_PYTHON"):
        candidate = Path(configured)
    else:
        root = os.environ.get("PYENV_ROOT")
        pyenv = shutil.which("pyenv")
        if not root and pyenv:
            found = subprocess.run(  # noqa: S603 - pyenv, found on PATH
                [pyenv, "root"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
            root = found or None
        candidate = Path(root or Path.home() / ".pyenv") / "versions" / PEER_PYTHON_VERSION / "bin" / "python"
    if not os.access(candidate, os.X_OK):
        raise PeerUnavailable(
            f"the peer needs Python {PEER_PYTHON_VERSION} (`pyenv install {PEER_PYTHON_VERSION}`, or set "
            f"PARLEY_PEER_PYTHON): {candidate} is not there"
        )
    return str(candidate)


def ensure_venv(venv: Path) -> dict[str, Any]:
    """The peer's venv, from the vendored lock: reused when its stamp matches the lock, else rebuilt."""
    lock_hash = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    stamp = venv / ".parley-lock-sha256"
    python = venv / "bin" / "python"
    if stamp.is_file() and stamp.read_text().strip() == lock_hash and (venv / "bin" / "langgraph").is_file():
        return {
            "path": str(venv),
            "python": str(python),
            "created": False,
            "python_version": _version(python),
        }
    base = peer_python()
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    _install_step([base, "-m", "venv", str(venv)], "creating the peer's venv")
    pip = [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
    _install_step(
        [*pip, "--timeout", "30", "--retries", "2", "-r", str(LOCK)],
        f"installing the peer's lock from PyPI ({LOCK.relative_to(PEER_DIR.parents[2])})",
    )
    stamp.write_text(lock_hash + "\n")
    return {
        "path": str(venv),
        "python": str(python),
        "created": True,
        "install_seconds": round(time.perf_counter() - started, 1),
        "python_version": _version(python),
    }


def _install_step(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - the peer's Python, pip and the vendored lock
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as timed_out:
        raise PeerUnavailable(f"{what}: no result in {INSTALL_TIMEOUT_SECONDS} s") from timed_out
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise PeerUnavailable(f"{what} failed (exit {done.returncode}; no network?):\n{tail}")


def _version(python: Path) -> str:
    done = subprocess.run(  # noqa: S603 - the peer's venv's Python
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def run_peer(python: str, log_dir: Path) -> dict[str, Any]:
    """The peer's workload d on ``langgraph dev`` (its default command): its client starts and stops it."""
    work = cache_dir()
    app = work / "app"  # a copy: the dev server writes its store (.langgraph_api/) beside the graph
    shutil.rmtree(app, ignore_errors=True)
    shutil.copytree(PEER_DIR / "app", app)
    out = log_dir / "peer-langgraph-result.json"
    client_log = log_dir / "peer-langgraph-client.log"
    command = [
        python,
        str(PEER_DIR / "bench_langgraph.py"),
        "--launch",
        "--app-dir",
        str(app),
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        "--only",
        "d",
        "--clients",
        str(CLIENTS),
        "--cycles",
        str(CYCLES_PER_CLIENT),
        "--throughput-timeout",
        str(PEER_THROUGHPUT_TIMEOUT_SECONDS),
        "--startup-timeout",
        str(PEER_STARTUP_TIMEOUT_SECONDS),
        "--server-log",
        str(log_dir / "peer-langgraph-server.log"),
        "--out",
        str(out),
    ]
    with client_log.open("w") as log:
        # Its own process group: at the time limit, the client and the server it started go together.
        process = subprocess.Popen(  # noqa: S603 - the peer's venv's Python and the vendored client
            command, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            returncode = process.wait(PEER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _end_group(process)
            raise PeerUnavailable(f"the peer's run took over {PEER_TIMEOUT_SECONDS} s; stopped") from None
        finally:
            _end_group(process)  # whatever the client left of its server (it stops it itself)
    if returncode != 0 or not out.is_file():
        tail = "\n".join(client_log.read_text(errors="replace").strip().splitlines()[-15:])
        raise PeerUnavailable(f"the peer's benchmark failed (exit {returncode}):\n{tail}")
    result = json.loads(out.read_text())
    if result.get("non_loopback_tcp_seen"):
        raise PeerUnavailable(
            f"the peer's server talked to non-loopback hosts: {result['non_loopback_tcp_seen']}"
        )
    measured = result["d_throughput_runs_wait"]
    if not measured.get("ok"):
        raise PeerUnavailable(f"the peer answered no run correctly: {measured}")
    versions = result.get("versions", {})
    return {
        "what": "LangGraph `langgraph dev` (in-memory), its benchmark's workload d: "
        f"{measured['clients']} asyncio clients x {measured['cycles_per_client']} runs/wait, "
        "each on its own thread",
        "n": measured["ok"],
        "errors": measured["errors"],
        "p50_ms": round(measured["p50_ms"], 1),
        "p95_ms": round(measured["p95_ms"], 1),
        "p99_ms": round(measured["p99_ms"], 1),
        "clients": measured["clients"],
        "messages_per_second": round(measured["messages_per_s"], 1),
        "wall_s": measured["wall_s"],
        "startup_to_first_ok_s": result.get("startup", {}).get("startup_to_first_ok_s"),
        "server_command": result.get("startup", {}).get("cmd"),
        "versions": {name: versions.get(name) for name in PEER_VERSIONS},
        "non_loopback_tcp_seen": result.get("non_loopback_tcp_seen", []),
    }


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, the process group of the peer's client (by its id), if any of it is left."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(process):
            time.sleep(0.1)
    if process.returncode is None:
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            print(f"bench: the peer's client {process.pid} did not stop", file=sys.stderr)


def _group_alive(process: subprocess.Popen[bytes]) -> bool:
    process.poll()  # reaps the client itself once it has ended
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def table(result: dict[str, Any]) -> str:
    rows = [
        result["what"],
        "",
        "| server | clients | n | errors | p50 ms | p95 ms | p99 ms | msg/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in (
        ("the peer: LangGraph `langgraph dev`", result["peer"]),
        ("Parley (devstack)", result["ours"]),
    ):
        rows.append(
            f"| {name} | {row['clients']} | {row['n']} | {row.get('errors', 0)} | {row['p50_ms']} "
            f"| {row['p95_ms']} | {row['p99_ms']} | {row['messages_per_second']} |"
        )
    versions = ", ".join(f"{name} {version}" for name, version in result["peer"]["versions"].items())
    rows.append(
        f"\nours / the peer: {result['ratio_ours_to_peer']}x (budget ≥ {BUDGET_RATIO}x); the peer's "
        f"versions: {versions}; seconds: {result['seconds']}"
    )
    return "\n".join(rows)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as logs:
        outcome = run(Path(logs))
        print(json.dumps(outcome, indent=2))
        print(table(outcome))
