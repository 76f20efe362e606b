"""Throughput, single-packet cost and start-up of the dpictl engine against Suricata 7.

Builds (once) a bench pcap of N time-shifted copies of the shared pcaps in a scratch
directory outside the repo (as shared/oracle/README.md describes: each file shifted so
timestamps only increase, 60 s apart), and a 10-packet pcap for start-up. Then, each in a
child process so that start-up (rule load and compile) is counted:

* start-up: `dpictl inspect` on the 10-packet pcap with a cold rule cache (an empty
  $XDG_CACHE_HOME), again with the cache warm, and Suricata on the same pcap (the issue's
  definition of start-up: the CPU of a run on a 10-packet pcap);
* dpictl: `python benchmarks/bench_engine.py --child PCAP RULES` (load rules through the
  rule cache, build the Engine, feed every frame, flush);
* dpictl per-packet cost: the same run again, timing each `feed` call in thread CPU time
  (a separate run, because the clock reads would weigh on the throughput figure); prints
  the worst single packet, p99 and p99.9;
* suricata (when installed): the oracle command line with `--runmode single`.

It prints CPU seconds (user+sys of the child, from getrusage(RUSAGE_CHILDREN)), wall
seconds, packets/s and Mbit/s by CPU, peak RSS, alert counts, and the CPU ratios.
This is a measurement script, not a test. It needs editcap, capinfos and mergecap (Debian:
`apt-get install wireshark-common`).

    .venv/bin/python benchmarks/bench_engine.py [--copies 4] [--scratch /tmp/dpictl-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
RULES = SHARED / "rules" / "snort2-community-all-enabled.rules"
SMALL_SOURCE = SHARED / "pcaps" / "ec-malware_infection.pcap"


def build_bench_pcap(scratch: Path, copies: int) -> Path:
    out = scratch / f"bench-{copies}x.pcap"
    if out.exists():
        return out
    parts = scratch / "parts"
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    pcaps = sorted(SHARED.glob("pcaps/*.pcap")) + sorted(SHARED.glob("pcaps/*.pcapng"))
    table = subprocess.run(["capinfos", "-T", "-r", "-a", "-e", "-S", *map(str, pcaps)],
                           check=True, capture_output=True, text=True).stdout
    rows = [line.split("\t") for line in table.splitlines() if line.strip()]
    t, index = 1700000000.0, 0
    for _ in range(copies):
        for name, start, end in rows:
            offset = t - float(start)
            index += 1
            subprocess.run(["editcap", "-F", "pcap", "-t", f"{offset:.6f}", name,
                            str(parts / f"{index:05d}.pcap")], check=True)
            t = float(end) + offset + 60
    subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", str(out),
                    *sorted(map(str, parts.glob("*.pcap")))], check=True)
    shutil.rmtree(parts)
    return out


def build_small_pcap(scratch: Path) -> Path:
    """The first 10 packets of a shared pcap: a run on it is (almost) all start-up."""
    out = scratch / "small-10.pcap"
    if not out.exists():
        subprocess.run(["editcap", "-F", "pcap", "-r", str(SMALL_SOURCE), str(out), "1-10"],
                       check=True)
    return out


def pcap_size(pcap: Path) -> tuple[int, int]:
    """(packets, packet bytes) from capinfos."""
    text = subprocess.run(["capinfos", "-c", "-d", "-M", "-T", str(pcap)], check=True,
                          capture_output=True, text=True).stdout.splitlines()
    fields = dict(zip(text[0].split("\t"), text[1].split("\t")))
    packets = int(fields.get("Number of packets", "0"))
    data = int(fields.get("Data size (bytes)", "0"))
    return packets, data


def run_child(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> dict:
    """Run one measured child through a fresh wrapper process, so that its
    getrusage(RUSAGE_CHILDREN) (CPU and peak RSS) covers that child alone."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--measure", *cmd], capture_output=True,
                          text=True, cwd=cwd, env=env)
    wall = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    usage = json.loads(lines[-1])
    usage.update(wall=wall, stdout="\n".join(lines[:-1]))
    return usage


def measure(cmd: list[str]) -> None:
    """Wrapper body: run cmd, then print its CPU seconds and peak RSS as the last line."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if proc.returncode not in (0, 1):   # suricata -r exits 1 when some rules failed to load
        raise SystemExit(proc.returncode)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.write(proc.stdout)
    print(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}))


def child(pcap: str, rules: str) -> None:
    """The measured dpictl run: everything a user's `dpictl inspect` would do."""
    from dpictl.capture import open_pcap
    from dpictl.engine import Engine, load_compiled

    t0 = time.process_time()
    loaded = load_compiled([rules])
    engine = Engine(loaded.ruleset.rules, compiled=loaded.compiled)
    startup = time.process_time() - t0
    alerts = 0
    feed = engine.feed
    with open_pcap(pcap) as frames:
        for ts, frame, linktype, iface in frames:
            alerts += len(feed(ts, frame, linktype, iface))
    alerts += len(engine.flush())
    print(json.dumps({"alerts": alerts, "startup_cpu": startup,
                      "from_cache": loaded.from_cache, "stats": engine.stats}))


def latency_child(pcap: str, rules: str) -> None:
    """Each `feed` call timed in this thread's CPU time (preemption by other processes on
    a shared machine does not count); prints the distribution and the worst packets."""
    from dpictl.capture import open_pcap
    from dpictl.engine import Engine, load_compiled

    loaded = load_compiled([rules])
    engine = Engine(loaded.ruleset.rules, compiled=loaded.compiled)
    clock = time.thread_time_ns
    feed = engine.feed
    costs: list[tuple[int, int]] = []
    with open_pcap(pcap) as frames:
        for num, (ts, frame, linktype, iface) in enumerate(frames, 1):
            start = clock()
            feed(ts, frame, linktype, iface)
            costs.append((clock() - start, num))
    start = clock()
    engine.flush()
    flush_ns = clock() - start
    ordered = sorted(ns for ns, _ in costs)
    n = len(ordered)
    print(json.dumps({
        "packets": n, "p50_us": ordered[n // 2] / 1e3,
        "p99_ms": ordered[min(n - 1, int(n * 0.99))] / 1e6,
        "p999_ms": ordered[min(n - 1, int(n * 0.999))] / 1e6,
        "max_ms": ordered[-1] / 1e6, "flush_ms": flush_ns / 1e6,
        "worst": [(num, ns / 1e6) for ns, num in sorted(costs, reverse=True)[:5]]}))


def startup_runs(scratch: Path, suricata: bool) -> dict:
    """CPU of `dpictl inspect` on 10 packets, cold and warm rule cache, and Suricata's."""
    small = build_small_pcap(scratch)
    cache = scratch / "xdg-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    env.pop("DPICTL_NO_RULE_CACHE", None)
    cmd = [sys.executable, "-m", "dpictl", "inspect", "-r", str(small), "-R", str(RULES),
           "--no-store", "-o", "eve"]
    out = {"cold": run_child(cmd, env=env)["cpu"]}
    out["warm"] = min(run_child(cmd, env=env)["cpu"] for _ in range(3))
    if suricata:
        theirs = suricata_run(small, scratch)
        if theirs is not None:
            out["suricata"] = theirs["cpu"]
    return out


def suricata_run(pcap: Path, scratch: Path) -> dict | None:
    if shutil.which("suricata") is None:
        return None
    outdir = scratch / "suricata-out"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    # the oracle config names classification/reference files relative to the steering root
    result = run_child(["suricata", "-c", str(SHARED / "oracle" / "suricata.yaml"), "-S",
                        str(RULES), "-r", str(pcap), "-l", str(outdir), "-k", "none",
                        "--runmode", "single"], cwd=SHARED.parent)
    alerts = 0
    eve = outdir / "eve.json"
    if eve.exists():
        with eve.open() as fh:
            alerts = sum(1 for line in fh if '"event_type":"alert"' in line)
    result["alerts"] = alerts
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/dpictl-bench"))
    ap.add_argument("--child", nargs=2, metavar=("PCAP", "RULES"), help=argparse.SUPPRESS)
    ap.add_argument("--latency-child", nargs=2, metavar=("PCAP", "RULES"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--no-suricata", action="store_true")
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measure(sys.argv[2:])
        return
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.latency_child:
        latency_child(*args.latency_child)
        return
    args.scratch.mkdir(parents=True, exist_ok=True)
    with_suricata = not args.no_suricata and shutil.which("suricata") is not None

    start = startup_runs(args.scratch, with_suricata)
    line = (f"start-up (dpictl inspect, 10 packets, CPU s): cold cache {start['cold']:.2f}, "
            f"warm cache {start['warm']:.2f}")
    if "suricata" in start:
        line += (f"; suricata {start['suricata']:.2f}; ratio cold "
                 f"{start['cold'] / start['suricata']:.2f}, warm "
                 f"{start['warm'] / start['suricata']:.2f} (goal <= 0.2)")
    print(line)

    pcap = build_bench_pcap(args.scratch, args.copies)
    packets, data = pcap_size(pcap)
    print(f"bench pcap {pcap}: {packets} packets, {data / 1e6:.1f} MB of packet data")
    # the rule cache is warm from the start-up runs, as on any start after the first
    env = dict(os.environ, XDG_CACHE_HOME=str(args.scratch / "xdg-cache"))
    ours = run_child([sys.executable, __file__, "--child", str(pcap), str(RULES)], env=env)
    info = json.loads(ours["stdout"].strip().splitlines()[-1])
    rows = [("dpictl", ours, info["alerts"])]
    print(f"dpictl start-up in the run (rule load + compile): {info['startup_cpu']:.2f} s CPU"
          f" ({'warm' if info['from_cache'] else 'cold'} rule cache)")
    lat = json.loads(run_child([sys.executable, __file__, "--latency-child", str(pcap),
                                str(RULES)], env=env)["stdout"].strip().splitlines()[-1])
    worst = ", ".join(f"#{num} {ms:.1f} ms" for num, ms in lat["worst"][:3])
    print(f"dpictl per packet (thread CPU): p50 {lat['p50_us']:.0f} us, p99 "
          f"{lat['p99_ms']:.2f} ms, p99.9 {lat['p999_ms']:.2f} ms, worst {lat['max_ms']:.1f} ms"
          f" ({worst}); flush {lat['flush_ms']:.1f} ms")
    theirs = suricata_run(pcap, args.scratch) if with_suricata else None
    if theirs is not None:
        rows.append(("suricata", theirs, theirs["alerts"]))
    print(f"{'engine':10} {'CPU s':>8} {'wall s':>8} {'pkt/s':>9} {'Mbit/s':>8} "
          f"{'peak RSS MB':>12} {'alerts':>7}")
    for name, r, alerts in rows:
        print(f"{name:10} {r['cpu']:8.2f} {r['wall']:8.2f} {packets / r['cpu']:9.0f} "
              f"{data * 8 / 1e6 / r['cpu']:8.1f} {r['rss_mb']:12.0f} {alerts:7d}")
    if theirs is not None:
        print(f"CPU ratio dpictl/suricata: {ours['cpu'] / theirs['cpu']:.2f} (goal <= 1.0)")


if __name__ == "__main__":
    main()
