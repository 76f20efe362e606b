"""What flow accounting costs the local agent: its CPU with flow logs on and off, under the
same traffic through the lab's cluster, and the collector thread's own CPU.

Goal (issue 10): flow accounting costs at most 5% of the agent's CPU. The kernel counts
(dpictl/flowlogs/kernel_counters.py); the agent reads the counters once per flush, at a cost
that grows with distinct flow keys, not packets or connections. `conns` (many short
connections) was the worst case of the conntrack-events collector this replaced; `bulk`
(few connections, many packets) is where DPI works hardest; `keys` sends one UDP datagram to
each of `--keys` ports, so the flush reads that many distinct keys (the collector's cost
grows with them).

Method: `dpictl run-lab --keep` on a private state file (cluster id `flowlogsbench`, netns
`flowlogsbench-*`) brings up the red/blue lab with its agent inspecting namespace red. For
each mode (flow logs on, off: DPICTL_FLOW_LOGS=0) the agent is restarted, then blue2 sends
traffic to red2 (inspected) for `--seconds`: `conns` opens `--rate` HTTP connections a second
(GET, response, close); `bulk` streams `--mbps` MB/s of POST bodies on one keep-alive
connection. The agent's CPU (utime+stime of it and its children, /proc) is read before and
after, and with flow logs on, the collector thread's own CPU (time.thread_time, published in
<db>.agent/flowlogs.json), with a flush at both ends of the window so both readings are
current (two flushes in a window of `--seconds`: more than the one per 30 s the lab sets).
The agent's figure includes reaped children (the one `nft` run that installs the table). Modes
alternate `--repeat` times; the cluster is taken down at the end. Needs root and nftables.

    .venv/bin/python benchmarks/bench_flowlogs.py --rate 200 --seconds 15
    .venv/bin/python benchmarks/bench_flowlogs.py --profile bulk --mbps 20
    .venv/bin/python benchmarks/bench_flowlogs.py --profile keys --keys 10000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLUSTER = "flowlogsbench"
GET = b"GET / HTTP/1.1\r\nHost: red2\r\nConnection: close\r\n\r\n"


def agent_cpu(pid: int) -> float:
    """CPU seconds of the agent, its live child processes (workers) and the children it has
    waited for (the collector's `nft` runs), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid] + [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(p) == pid]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        if p == pid:                                 # cutime + cstime: reaped children
            total += (int(fields[13]) + int(fields[14])) / tick
    return total


def _ppid(pid: str) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def drive_conns(dest: str, rate: float, seconds: float) -> tuple[int, int]:
    """`rate` HTTP connections a second for `seconds`; (completed, failed)."""
    done = failed = 0
    start = time.monotonic()
    total = int(rate * seconds)
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            with socket.create_connection((dest, 80), timeout=5) as s:
                s.sendall(GET)
                while s.recv(65536):
                    pass
            done += 1
        except OSError:
            failed += 1
    return done, failed


def drive_bulk(dest: str, mbps: float, seconds: float) -> tuple[int, int]:
    """`mbps` MB/s of POST bodies on one keep-alive connection; (requests, bytes sent)."""
    chunk = 256 * 1024
    head = (f"POST /upload HTTP/1.1\r\nHost: red2\r\nContent-Length: {chunk}\r\n\r\n").encode()
    body = b"a" * chunk
    sent = requests = 0
    start = time.monotonic()
    with socket.create_connection((dest, 80), timeout=10) as s:
        while time.monotonic() - start < seconds:
            delay = start + sent / (mbps * 1e6) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            s.sendall(head + body)
            answer = b""
            while b"</html>" not in answer:
                data = s.recv(65536)
                if not data:
                    raise OSError("red2 closed the connection")
                answer += data
            sent += chunk
            requests += 1
    return requests, sent


def drive_keys(dest: str, keys: int, seconds: float) -> tuple[int, int]:
    """One UDP datagram to each of `keys` ports, spread over `seconds`: that many distinct
    flow keys for the next flush to read; (datagrams, keys)."""
    sent = 0
    start = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for port in range(1, keys + 1):
            delay = start + sent * seconds / keys - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            s.sendto(b"k", (dest, 10000 + port % 50000))
            sent += 1
    return sent, min(keys, 50000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("conns", "bulk", "keys"), default="conns")
    parser.add_argument("--keys", type=int, default=10000, help="distinct flow keys (keys)")
    parser.add_argument("--rate", type=float, default=200.0, help="connections/s (conns)")
    parser.add_argument("--mbps", type=float, default=20.0, help="MB/s of POST bodies (bulk)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (the local cluster)", file=sys.stderr)
        return 2

    from dpictl.agent.daemon import AgentPaths, ensure_agent, running_pid, stop_agent
    from dpictl.agent.flow_logs import flow_status, request_flush
    from dpictl.backends.local import kernel
    from dpictl.backends.local.naming import pod_netns_name
    from dpictl.lab.local_environment import LocalInspection

    state = Path(tempfile.mkdtemp(prefix="flowlogs-bench-"))
    db = state / "bench.db"
    env = {**os.environ, "DPICTL_DB": str(db), "DPICTL_CLUSTER_ID": CLUSTER,
           "XDG_STATE_HOME": str(state / "xdg")}
    os.environ.update({k: env[k] for k in ("DPICTL_DB", "DPICTL_CLUSTER_ID",
                                           "XDG_STATE_HOME")})
    dpictl = [sys.executable, "-m", "dpictl"]
    results = []
    try:
        lab = subprocess.run(dpictl + ["run-lab", "--keep"], env=env, capture_output=True,
                             text=True, timeout=300)
        if lab.returncode != 0:
            print(lab.stdout[-2000:] + lab.stderr[-2000:], file=sys.stderr)
            return 1
        from dpictl.backends.local import LocalBackend

        backend = LocalBackend(db=db)
        try:
            red2 = next(e.ip for e in backend.endpoints() if e.name == "red2")
        finally:
            backend.close()
        client_netns = pod_netns_name(CLUSTER, "blue", "blue2")
        paths = AgentPaths.for_db(db)
        for attempt in range(args.repeat):
            for mode in ("on", "off"):
                stop_agent(db)
                os.environ["DPICTL_FLOW_LOGS"] = "1" if mode == "on" else "0"
                ensure_agent(db)
                LocalInspection(db).wait_ready(60)
                time.sleep(2.0)                          # start-up work done
                pid = running_pid(paths)
                if mode == "on":
                    request_flush(db)
                collector0 = (flow_status(db) or {}).get("cpu_seconds", 0.0)
                cpu0, wall0 = agent_cpu(pid), time.monotonic()
                if args.profile == "conns":
                    done, failed = kernel.run_in_netns(
                        client_netns, lambda: drive_conns(red2, args.rate, args.seconds))
                    load = {"connections": done, "failed": failed}
                elif args.profile == "bulk":
                    requests, sent = kernel.run_in_netns(
                        client_netns, lambda: drive_bulk(red2, args.mbps, args.seconds))
                    load = {"requests": requests, "bytes": sent}
                else:
                    sent, keys = kernel.run_in_netns(
                        client_netns, lambda: drive_keys(red2, args.keys, args.seconds))
                    load = {"datagrams": sent, "keys": keys}
                time.sleep(1.0)                          # the agent finishes the tail
                if mode == "on":
                    request_flush(db)
                cpu1, wall1 = agent_cpu(pid), time.monotonic()
                collector1 = (flow_status(db) or {}).get("cpu_seconds", 0.0)
                row = {"attempt": attempt + 1, "mode": mode, "profile": args.profile,
                       "seconds": round(wall1 - wall0, 2), **load,
                       "agent_cpu_s": round(cpu1 - cpu0, 3),
                       "collector_cpu_s": round(collector1 - collector0, 4)
                       if mode == "on" else None}
                results.append(row)
                if not args.json:
                    print(json.dumps(row), flush=True)
        with_logs = [r for r in results if r["mode"] == "on"]
        without = [r for r in results if r["mode"] == "off"]
        on_cpu = sum(r["agent_cpu_s"] for r in with_logs) / len(with_logs)
        off_cpu = sum(r["agent_cpu_s"] for r in without) / len(without)
        collector = sum(r["collector_cpu_s"] for r in with_logs) / len(with_logs)
        summary = {"profile": args.profile,
                   "load": {"conns": f"{args.rate:g} conn/s", "bulk": f"{args.mbps:g} MB/s",
                            "keys": f"{args.keys} keys"}[args.profile],
                   "seconds": args.seconds, "repeat": args.repeat,
                   "agent_cpu_on_s": round(on_cpu, 3), "agent_cpu_off_s": round(off_cpu, 3),
                   "on_vs_off_percent": round(100.0 * (on_cpu - off_cpu) / off_cpu, 1)
                   if off_cpu else None,
                   "collector_cpu_s": round(collector, 4),
                   "collector_share_percent": round(100.0 * collector / on_cpu, 2)
                   if on_cpu else None}
        print(json.dumps({"runs": results, "summary": summary}, indent=2) if args.json
              else "summary: " + json.dumps(summary))
        return 0
    finally:
        os.environ.pop("DPICTL_FLOW_LOGS", None)
        subprocess.run(dpictl + ["lab", "down"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
