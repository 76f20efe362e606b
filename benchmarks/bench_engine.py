"""Throughput of the dpictl engine against Suricata 7 on the same pcap and rules.

Builds (once) a bench pcap of N time-shifted copies of the shared pcaps in a scratch
directory outside the repo (as shared/oracle/README.md describes: each file shifted so
timestamps only increase, 60 s apart), then runs, each in a child process so that start-up
(rule load and compile) is counted:

* dpictl: `python benchmarks/bench_engine.py --child PCAP RULES` (load rules, build the
  Engine, feed every frame, flush),
* suricata (when installed): the oracle command line with `--runmode single`.

It prints CPU seconds (user+sys of the child, from getrusage(RUSAGE_CHILDREN)), wall
seconds, packets/s and Mbit/s by CPU, peak RSS, alert counts, and the CPU ratio.
This is a measurement script, not a test.

    .venv/bin/python benchmarks/bench_engine.py [--copies 4] [--scratch /tmp/dpictl-bench]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
RULES = SHARED / "rules" / "snort2-community-all-enabled.rules"


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


def pcap_size(pcap: Path) -> tuple[int, int]:
    """(packets, packet bytes) from capinfos."""
    text = subprocess.run(["capinfos", "-c", "-d", "-M", "-T", str(pcap)], check=True,
                          capture_output=True, text=True).stdout.splitlines()
    fields = dict(zip(text[0].split("\t"), text[1].split("\t")))
    packets = int(fields.get("Number of packets", "0"))
    data = int(fields.get("Data size (bytes)", "0"))
    return packets, data


def run_child(cmd: list[str], cwd: Path | None = None) -> dict:
    """Run one measured child through a fresh wrapper process, so that its
    getrusage(RUSAGE_CHILDREN) (CPU and peak RSS) covers that child alone."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--measure", *cmd], capture_output=True,
                          text=True, cwd=cwd)
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
    from dpictl.engine import Engine
    from dpictl.rules import load_rules

    t0 = time.process_time()
    engine = Engine(load_rules([rules]).rules)
    startup = time.process_time() - t0
    alerts = 0
    feed = engine.feed
    with open_pcap(pcap) as frames:
        for ts, frame, linktype, iface in frames:
            alerts += len(feed(ts, frame, linktype, iface))
    alerts += len(engine.flush())
    print(json.dumps({"alerts": alerts, "startup_cpu": startup, "stats": engine.stats}))


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
    ap.add_argument("--no-suricata", action="store_true")
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measure(sys.argv[2:])
        return
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    args.scratch.mkdir(parents=True, exist_ok=True)
    pcap = build_bench_pcap(args.scratch, args.copies)
    packets, data = pcap_size(pcap)
    print(f"bench pcap {pcap}: {packets} packets, {data / 1e6:.1f} MB of packet data")
    ours = run_child([sys.executable, __file__, "--child", str(pcap), str(RULES)])
    info = json.loads(ours["stdout"].strip().splitlines()[-1])
    rows = [("dpictl", ours, info["alerts"])]
    print(f"dpictl start-up (rule load + compile): {info['startup_cpu']:.2f} s CPU")
    theirs = None if args.no_suricata else suricata_run(pcap, args.scratch)
    if theirs is not None:
        rows.append(("suricata", theirs, theirs["alerts"]))
    print(f"{'engine':10} {'CPU s':>8} {'wall s':>8} {'pkt/s':>9} {'Mbit/s':>8} "
          f"{'peak RSS MB':>12} {'alerts':>7}")
    for name, r, alerts in rows:
        print(f"{name:10} {r['cpu']:8.2f} {r['wall']:8.2f} {packets / r['cpu']:9.0f} "
              f"{data * 8 / 1e6 / r['cpu']:8.1f} {r['rss_mb']:12.0f} {alerts:7d}")
    if theirs is not None:
        print(f"CPU ratio dpictl/suricata: {ours['cpu'] / theirs['cpu']:.2f} (goal <= 4)")


if __name__ == "__main__":
    main()
