"""Flow accounting against the live benchmark's traffic: what one flush costs the collector
for the bench pcap's flows, next to what inspecting the same packets costs the engine.

bench_live.py replays the bench pcap (bench_engine.py's, 4 copies of shared/pcaps) into a
veth; here the same replay goes through a node-like netns that forwards it (its addresses
routed out of a second veth, the destination MAC rewritten to the veth's), so the
kernel's flow sets count it as they count pod traffic. Then:

* collector: one flush (read the sets over nfnetlink, fold, make records, write them to a
  store) with every address of the pcap taken as a workload of this node - two records per
  key, the most work a flush can have for this traffic; thread CPU (time.thread_time);
* engine: `dpictl inspect --pcap` of the same pcap with the live benchmark's rules, CPU of
  the child process (RUSAGE_CHILDREN) - the per-packet work the agent's capture loop does.

Everything here is named `flowlogs-live*` and removed at the end. Needs root, nftables,
tcpreplay/tcprewrite and, to build the pcap, wireshark-common (`scripts/setup.sh --bench`):

    .venv/bin/python benchmarks/bench_flowlogs_live.py
    .venv/bin/python benchmarks/bench_flowlogs_live.py --rate 35000 --copies 4 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_live import RULES, bench_pcap  # noqa: E402

NETNS = "flowlogs-live"
OUTSIDE, INSIDE = "flowlogs-lv0", "flowlogs-lv1"
EXIT, SINK = "flowlogs-ex0", "flowlogs-ex1"     # where forwarded packets leave (a veth)
GATEWAY = "10.255.0.2"


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def set_up() -> str:
    """The forwarding netns; returns the MAC of its veth end."""
    tear_down()
    sh("ip", "netns", "add", NETNS)
    sh("ip", "link", "add", OUTSIDE, "mtu", "65535", "type", "veth", "peer", "name", INSIDE,
       "mtu", "65535", "netns", NETNS)
    sh("ip", "link", "set", OUTSIDE, "up")
    for cmd in (["link", "set", "lo", "up"], ["link", "set", INSIDE, "up"],
                ["link", "add", EXIT, "type", "veth", "peer", "name", SINK],
                ["link", "set", EXIT, "up"], ["link", "set", SINK, "up"],
                ["route", "add", "default", "via", GATEWAY, "dev", EXIT, "onlink"],
                ["neigh", "replace", GATEWAY, "lladdr", "02:00:00:00:00:02", "dev", EXIT,
                 "nud", "permanent"]):
        sh("ip", "-n", NETNS, *cmd)
    for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0", f"net.ipv4.conf.{INSIDE}.rp_filter=0"):
        sh("ip", "netns", "exec", NETNS, "sysctl", "-qw", key)
    out = sh("ip", "-n", NETNS, "-o", "link", "show", INSIDE)
    return out.split("link/ether")[1].split()[0]


def tear_down() -> None:
    subprocess.run(["ip", "link", "del", OUTSIDE], capture_output=True)
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=int, default=35000, help="replay rate, packets/s")
    ap.add_argument("--copies", type=int, default=4, help="copies in the bench pcap")
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/dpictl-bench"))
    ap.add_argument("--rules", type=Path, default=RULES)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2

    from dpictl.backends.base import WorkloadEndpoint
    from dpictl.flowlogs import kernel_counters
    from dpictl.flowlogs.collector import FlowCollector
    from dpictl.flowlogs.store import FlowLogStore

    args.scratch.mkdir(parents=True, exist_ok=True)
    pcap = bench_pcap(args.scratch, args.copies)
    work = Path(tempfile.mkdtemp(prefix="flowlogs-live-"))
    try:
        mac = set_up()
        rewritten = work / "routed.pcap"
        sh("tcprewrite", f"--enet-dmac={mac}", f"--infile={pcap}", f"--outfile={rewritten}")
        kernel_counters.enable_accounting(NETNS)
        store = FlowLogStore(work / "state" / "flows.db")
        seen: list[WorkloadEndpoint] = []
        collector = FlowCollector(NETNS, lambda: seen, store.write, lambda: 300.0,
                                  host="bench")
        assert collector.attach(), collector.stats["error"]

        replay = subprocess.run(["tcpreplay", "-i", OUTSIDE, f"--pps={args.rate}",
                                 "--preload-pcap", str(rewritten)],
                                capture_output=True, text=True)
        if replay.returncode != 0:
            print(replay.stdout + replay.stderr, file=sys.stderr)
            return 1
        time.sleep(0.5)
        keys = kernel_counters.read_counters(NETNS)
        # every address a workload of this node: two records per key
        ips = sorted({c.source_ip for c in keys} | {c.dest_ip for c in keys})
        seen.extend(WorkloadEndpoint("bench", f"w{i}", ip, "bench", "", {"app": f"w{i}"})
                    for i, ip in enumerate(ips))
        cpu = time.thread_time()
        records = collector.flush()
        flush_cpu = time.thread_time() - cpu
        collector.stop()
        store.close()

        before = children_cpu()
        inspect = subprocess.run([sys.executable, "-m", "dpictl", "inspect", "--pcap",
                                  str(rewritten), "--rules", str(args.rules), "-o", "json"],
                                 capture_output=True, text=True)
        engine_cpu = children_cpu() - before
        if inspect.returncode not in (0, 1):
            print(inspect.stderr[-2000:], file=sys.stderr)
            return 1
        packets = int(sh("capinfos", "-c", "-M", str(rewritten)).split()[-1])
        result = {"pcap": str(pcap), "packets": packets, "rate_pps": args.rate,
                  "flow_keys": len(keys), "records": len(records),
                  "collector_flush_cpu_s": round(flush_cpu, 4),
                  "engine_inspect_cpu_s": round(engine_cpu, 3),
                  "collector_vs_engine_percent": round(100.0 * flush_cpu / engine_cpu, 2)
                  if engine_cpu else None}
        print(json.dumps(result, indent=2 if args.json else None))
        return 0
    finally:
        tear_down()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
