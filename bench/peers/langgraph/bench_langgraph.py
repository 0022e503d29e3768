#!/usr/bin/env python3
# Vendored from the peer benchmark unchanged but for these four lines (see ../README.md):
# ruff: noqa
# fmt: off
# mypy: ignore-errors
"""Peer benchmark: LangGraph in-memory dev server (`langgraph dev`).

Measures, against a server on loopback only:
  (a) create-thread latency            POST /threads
  (b) send-and-get-reply, background   POST /threads/{id}/runs, poll
                                       GET /threads/{id}/runs/{run_id} until
                                       success, then GET /threads/{id}/state
  (c) send-and-get-reply, blocking     POST /threads/{id}/runs/wait
  (d) throughput: C concurrent clients, each doing K /runs/wait cycles on its
      own thread; messages/s and p50/p95/p99 latency
plus server startup time (spawn -> first 200 on GET /ok), server RSS
(/proc/<pid>/status VmRSS / VmHWM) and a check that the server process tree
holds no non-loopback TCP sockets.

All loops are bounded in count and time. Only loopback URLs are accepted.

Usage (launches and stops the server itself, recommended):
  python bench_langgraph.py --launch --app-dir ./app --port 2124 \
      [--server-arg=--no-reload] [--server-arg=--n-jobs-per-worker=10]
Or against an already running server (give its PID for RSS):
  python bench_langgraph.py --url http://127.0.0.1:2124 --server-pid 12345
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from importlib import metadata
from urllib.parse import urlparse

import httpx

EXPECTED_REPLY = "Hello! This is a fixed reply from the fake chat model."
TERMINAL_BAD = {"error", "timeout", "interrupted"}
HARD_DEADLINE_S = 1800  # the whole benchmark never runs longer than this


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def pct(values: list[float], p: float) -> float:
    """Nearest-rank-with-interpolation percentile (same as numpy 'linear')."""
    if not values:
        return float("nan")
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarize(lat_s: list[float]) -> dict:
    ms = [x * 1000.0 for x in lat_s]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 3),
        "p95_ms": round(pct(ms, 95), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "min_ms": round(min(ms), 3),
        "max_ms": round(max(ms), 3),
    }


def assert_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    sys.exit(f"refusing non-loopback target {url!r}")


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    # also refuse if something is bound on the wildcard address
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def proc_children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def descendants(root: int) -> list[int]:
    kids = proc_children_map()
    out, stack = [], [root]
    while stack and len(out) < 1000:
        p = stack.pop()
        out.append(p)
        stack.extend(kids.get(p, []))
    return out


def proc_mem(pid: int) -> dict:
    info = {"pid": pid}
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            info["cmd"] = f.read().replace(b"\0", b" ").decode(errors="replace")[:160]
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    info[k + "_MiB"] = round(int(v.split()[0]) / 1024.0, 1)
    except OSError:
        info["gone"] = True
    return info


def server_memory(root_pid: int) -> dict:
    procs = [proc_mem(p) for p in descendants(root_pid)]
    procs = [p for p in procs if not p.get("gone")]
    return {
        "processes": procs,
        "total_VmRSS_MiB": round(sum(p.get("VmRSS_MiB", 0) for p in procs), 1),
        "max_single_VmRSS_MiB": max((p.get("VmRSS_MiB", 0) for p in procs), default=0),
    }


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


def _parse_addr(hexaddr: str) -> str:
    ip_hex, port_hex = hexaddr.split(":")
    raw = bytes.fromhex(ip_hex)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # /proc stores IPv6 as four little-endian 32-bit words
        words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(words))
    return f"{ip}:{int(port_hex, 16)}"


def non_loopback_sockets(root_pid: int) -> list[str]:
    """TCP sockets of the server tree whose remote end is not loopback."""
    inodes = set()
    for p in descendants(root_pid):
        inodes |= _socket_inodes(p)
    bad = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[9] not in inodes:
                        continue
                    remote = _parse_addr(cols[2])
                    ip = remote.rsplit(":", 1)[0]
                    addr = ipaddress.ip_address(ip)
                    if getattr(addr, "ipv4_mapped", None):
                        addr = addr.ipv4_mapped
                    if addr.is_unspecified or addr.is_loopback:
                        continue
                    bad.append(remote)
        except OSError:
            continue
    return bad


class SocketWatcher(threading.Thread):
    """Samples the server tree's sockets every second (bounded by --max-watch-s)."""

    def __init__(self, root_pid: int, max_s: float):
        super().__init__(daemon=True)
        self.root_pid, self.max_s = root_pid, max_s
        self.bad: set[str] = set()
        self.samples = 0
        self._halt = threading.Event()

    def run(self):
        t_end = time.monotonic() + self.max_s
        while not self._halt.is_set() and time.monotonic() < t_end:
            self.bad |= set(non_loopback_sockets(self.root_pid))
            self.samples += 1
            self._halt.wait(1.0)

    def stop(self):
        self._halt.set()


# --------------------------------------------------------------------------- #
# server launch / stop
# --------------------------------------------------------------------------- #
OFFLINE_ENV = {
    # no CLI analytics (supabase), no PyPI version check, no LangSmith tracing
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
}


def launch_server(args) -> tuple[subprocess.Popen, float, dict]:
    if not port_is_free(args.host, args.port):
        sys.exit(f"port {args.port} is in use; `langgraph dev` would silently pick "
                 "another port. Choose a free --port.")
    exe = args.langgraph_bin or shutil.which("langgraph") or os.path.join(
        os.path.dirname(sys.executable), "langgraph")
    cmd = [exe, "dev", "--no-browser", "--host", args.host, "--port", str(args.port),
           *args.server_arg]
    env = dict(os.environ)
    for k in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGGRAPH_CLOUD_LICENSE_KEY",
              "LANGSMITH_CONTROL_PLANE_API_KEY"):
        env.pop(k, None)
    env.update(OFFLINE_ENV)
    state_dir = os.path.join(args.app_dir, ".langgraph_api")
    if not args.keep_state and os.path.isdir(state_dir):
        # the dev server pickles its in-memory store here and reloads it on start;
        # start every benchmark from an empty store
        shutil.rmtree(state_dir)
    log = open(args.server_log, "w")
    base = f"http://{args.host}:{args.port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=args.app_dir, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    startup = {"cmd": cmd, "cwd": os.path.abspath(args.app_dir),
               "env": OFFLINE_ENV, "pid": proc.pid}
    deadline = t0 + args.startup_timeout
    with httpx.Client(timeout=2.0) as c:
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                sys.exit(f"server exited early rc={proc.returncode}; see {args.server_log}")
            try:
                if c.get(base + "/ok").status_code == 200:
                    t_ok = time.perf_counter() - t0
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.01)
        else:
            stop_server(proc)
            sys.exit(f"server not ready in {args.startup_timeout}s; see {args.server_log}")
        startup["startup_to_first_ok_s"] = round(t_ok, 3)
        t1 = time.perf_counter()
        r = c.get(base + "/info")
        startup["first_info_status"] = r.status_code
        startup["startup_to_first_info_s"] = round(t_ok + (time.perf_counter() - t1), 3)
    return proc, t_ok, startup


def stop_server(proc: subprocess.Popen) -> None:
    """Stop only the processes we started: the CLI pid and its descendants, by pid."""
    pids = descendants(proc.pid)
    try:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for p in pids:
        if p == proc.pid:
            continue
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------- #
# workload
# --------------------------------------------------------------------------- #
def user_input(i: int) -> dict:
    return {"messages": [{"role": "user", "content": f"hello #{i}, how are you?"}]}


def last_ai_text(values: dict) -> str | None:
    msgs = (values or {}).get("messages") or []
    if not msgs:
        return None
    m = msgs[-1]
    if m.get("type") != "ai":
        return None
    return m.get("content")


class ThreadRotator:
    """Gives a thread id, opening a new one (untimed) every `per_thread` messages."""

    def __init__(self, client: httpx.Client, per_thread: int):
        self.c, self.per, self.used, self.tid = client, per_thread, 0, None

    def get(self) -> str:
        if self.tid is None or self.used >= self.per:
            r = self.c.post("/threads", json={})
            r.raise_for_status()
            self.tid, self.used = r.json()["thread_id"], 0
        self.used += 1
        return self.tid


def bench_create_thread(c: httpx.Client, warmup: int, n: int) -> dict:
    lat = []
    for i in range(warmup + n):
        t = time.perf_counter()
        r = c.post("/threads", json={"metadata": {"bench": "a", "i": i}})
        dt = time.perf_counter() - t
        r.raise_for_status()
        assert r.json().get("thread_id")
        if i >= warmup:
            lat.append(dt)
    return summarize(lat)


def bench_background(c: httpx.Client, args) -> dict:
    rot = ThreadRotator(c, args.msgs_per_thread)
    lat, t_create, t_state, polls, errors = [], [], [], [], 0
    for i in range(args.warmup + args.n):
        tid = rot.get()
        t = time.perf_counter()
        r = c.post(f"/threads/{tid}/runs",
                   json={"assistant_id": args.assistant, "input": user_input(i)})
        r.raise_for_status()
        run_id = r.json()["run_id"]
        t_c = time.perf_counter()
        n_polls, status = 0, None
        poll_deadline = t + args.run_timeout
        while n_polls < args.max_polls and time.perf_counter() < poll_deadline:
            n_polls += 1
            rr = c.get(f"/threads/{tid}/runs/{run_id}")
            rr.raise_for_status()
            status = rr.json()["status"]
            if status == "success" or status in TERMINAL_BAD:
                break
            if args.poll_interval > 0:
                time.sleep(args.poll_interval)
        t_s = time.perf_counter()
        st = c.get(f"/threads/{tid}/state")
        st.raise_for_status()
        dt = time.perf_counter() - t
        ok = status == "success" and last_ai_text(st.json().get("values")) == EXPECTED_REPLY
        if not ok:
            errors += 1
        if i >= args.warmup and ok:
            lat.append(dt)
            t_create.append(t_c - t)
            t_state.append(dt - (t_s - t))
            polls.append(n_polls)
    out = summarize(lat)
    out.update({
        "errors": errors,
        "poll_interval_ms": args.poll_interval * 1000,
        "mean_polls": round(statistics.fmean(polls), 2) if polls else None,
        "create_run_p50_ms": round(pct([x * 1000 for x in t_create], 50), 3),
        "get_state_p50_ms": round(pct([x * 1000 for x in t_state], 50), 3),
    })
    return out


def bench_wait(c: httpx.Client, args) -> dict:
    rot = ThreadRotator(c, args.msgs_per_thread)
    lat, errors = [], 0
    for i in range(args.warmup + args.n):
        tid = rot.get()
        t = time.perf_counter()
        r = c.post(f"/threads/{tid}/runs/wait",
                   json={"assistant_id": args.assistant, "input": user_input(i)})
        dt = time.perf_counter() - t
        ok = r.status_code == 200 and last_ai_text(r.json()) == EXPECTED_REPLY
        if not ok:
            errors += 1
        elif i >= args.warmup:
            lat.append(dt)
    out = summarize(lat)
    out["errors"] = errors
    return out


async def _client_loop(base: str, args, cid: int, lat: list, errs: list) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=args.run_timeout) as c:
        r = await c.post("/threads", json={"metadata": {"bench": "d", "client": cid}})
        r.raise_for_status()
        tid = r.json()["thread_id"]
        for k in range(args.cycles):
            t = time.perf_counter()
            try:
                r = await c.post(f"/threads/{tid}/runs/wait",
                                 json={"assistant_id": args.assistant,
                                       "input": user_input(cid * 10000 + k)})
                ok = r.status_code == 200 and last_ai_text(r.json()) == EXPECTED_REPLY
            except httpx.HTTPError:
                ok = False
            dt = time.perf_counter() - t
            (lat if ok else errs).append(dt)


async def _throughput(base: str, args) -> dict:
    lat: list[float] = []
    errs: list[float] = []
    t0 = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*[_client_loop(base, args, i, lat, errs) for i in range(args.clients)]),
        timeout=args.throughput_timeout)
    wall = time.perf_counter() - t0
    out = summarize(lat)
    out.update({
        "clients": args.clients,
        "cycles_per_client": args.cycles,
        "ok": len(lat),
        "errors": len(errs),
        "wall_s": round(wall, 3),
        "messages_per_s": round(len(lat) / wall, 2),
        "note": "wall includes each client's initial POST /threads",
    })
    return out


# --------------------------------------------------------------------------- #
def versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform(),
           "cpus": os.cpu_count()}
    for pkg in ("langgraph", "langgraph-api", "langgraph-runtime-inmem", "langgraph-cli",
                "langgraph-checkpoint", "langgraph-sdk", "langchain-core", "langsmith",
                "uvicorn", "starlette", "httpx"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--launch", action="store_true", help="start `langgraph dev` ourselves")
    ap.add_argument("--app-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "app"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2124)
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra arg for `langgraph dev`, e.g. --server-arg=--no-reload")
    ap.add_argument("--langgraph-bin", default=None)
    ap.add_argument("--keep-state", action="store_true",
                    help="keep <app-dir>/.langgraph_api (persisted dev store) instead of wiping it")
    ap.add_argument("--server-log", default="server.log")
    ap.add_argument("--startup-timeout", type=float, default=120.0)
    ap.add_argument("--url", default=None, help="use a running server instead of --launch")
    ap.add_argument("--server-pid", type=int, default=None, help="PID for RSS with --url")
    ap.add_argument("--assistant", default="chat", help="assistant_id (graph id)")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--msgs-per-thread", type=int, default=50,
                    help="(b)/(c): open a new thread (untimed) every N messages")
    ap.add_argument("--poll-interval", type=float, default=0.01, help="seconds between polls, (b)")
    ap.add_argument("--max-polls", type=int, default=20000)
    ap.add_argument("--run-timeout", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--throughput-timeout", type=float, default=600.0)
    ap.add_argument("--only", default="abcd", help="subset of phases, e.g. 'ad'")
    ap.add_argument("--out", default=None, help="write JSON summary here too")
    args = ap.parse_args()

    # global safety net: the process ends by itself no matter what
    killer = threading.Timer(HARD_DEADLINE_S, lambda: os._exit(3))
    killer.daemon = True
    killer.start()

    result: dict = {"tool": "langgraph dev (in-memory)", "versions": versions(),
                    "params": {k: v for k, v in vars(args).items()}}
    proc = None
    if args.launch:
        proc, _, startup = launch_server(args)
        base = f"http://{args.host}:{args.port}"
        root_pid = proc.pid
        result["startup"] = startup
    else:
        if not args.url:
            sys.exit("give --launch or --url")
        base = args.url.rstrip("/")
        root_pid = args.server_pid
    assert_loopback(base)

    watcher = SocketWatcher(root_pid, HARD_DEADLINE_S) if root_pid else None
    if watcher:
        watcher.start()
    try:
        with httpx.Client(base_url=base, timeout=args.run_timeout) as c:
            info = c.get("/info")
            result["server_info"] = info.json() if info.status_code == 200 else info.status_code
            if root_pid:
                result["rss_idle"] = server_memory(root_pid)
            if "a" in args.only:
                result["a_create_thread"] = bench_create_thread(c, args.warmup, args.n)
            if "b" in args.only:
                result["b_send_background_poll_state"] = bench_background(c, args)
            if "c" in args.only:
                result["c_send_runs_wait"] = bench_wait(c, args)
        if "d" in args.only:
            result["d_throughput_runs_wait"] = asyncio.run(_throughput(base, args))
        if root_pid:
            result["rss_after_run"] = server_memory(root_pid)
    finally:
        try:
            if watcher:
                watcher.stop()
                watcher.join(timeout=5)
                result["non_loopback_tcp_seen"] = sorted(watcher.bad)
                result["socket_samples"] = watcher.samples
        finally:
            if proc is not None:
                stop_server(proc)
                result["server_stopped_rc"] = proc.returncode

    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    os._exit(0)


if __name__ == "__main__":
    main()
