"""Memory and cost of the engine's per-flow packet buffer (`dpictl.engine.flow_packets`).

Feeds N synthetic TCP flows (handshake, then data segments of a few hundred to 1448 bytes,
so every ring fills) through an Engine with no rules, in a child process per setting so that
each peak RSS is its own: the buffer off (`--flow-packets 0`), and on with its defaults.
Prints per setting the CPU per packet, peak RSS, the buffer's charged bytes at the end and
at their peak, how many rings were released to stay under the budget, and the flow table's
live flows. Then the cost of `FlowPacketBuffer.keep` alone, timed in a loop.

    .venv/bin/python benchmarks/bench_flow_packets.py [--flows 100000] [--segments 6]
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import time
import timeit

TS = 1700000000.0


def _frames(flows: int, segments: int):
    """(ts, frame) of every flow in turn: SYN, SYN/ACK, ACK, then data segments."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    def template(flags: str, to_server: bool, size: int = 0, seq: int = 1000,
                 ack: int = 5000) -> bytearray:
        ip = IP(src="10.9.0.0", dst="10.8.0.1") if to_server else IP(src="10.8.0.1",
                                                                   dst="10.9.0.0")
        ports = dict(sport=1024, dport=80) if to_server else dict(sport=80, dport=1024)
        return bytearray(bytes(Ether() / ip / TCP(flags=flags, seq=seq, ack=ack, **ports)
                               / (b"d" * size)))

    syn, ack = template("S", True, seq=999, ack=0), template("A", True)
    synack = template("SA", False, seq=4999, ack=1000)
    data = [template("PA", True, 200 + (i * 317) % 1249) for i in range(segments)]
    ts = TS
    for n in range(flows):
        host = struct.pack("!H", n >> 6)
        port = struct.pack("!H", 1024 + (n & 63))
        seq = 1000
        for frame, to_server in [(syn, True), (synack, False), (ack, True)] + [
                (d, True) for d in data]:
            # client address 10.9.x.y and port: at 26/34 to the server, 30/36 to the client
            if to_server:
                frame[28:30], frame[34:36] = host, port
            else:
                frame[32:34], frame[36:38] = host, port
            if to_server and frame is not syn:
                frame[38:42] = struct.pack("!I", seq)
                seq += len(frame) - 54
            ts += 1e-4
            yield ts, bytes(frame)


def child(flows: int, segments: int, depth: int) -> None:
    from dpictl.engine import Engine

    engine = Engine([], flow_packets=depth)
    feed = engine.feed
    peak = packets = 0
    started = time.process_time()
    for ts, frame in _frames(flows, segments):
        feed(ts, frame, 1)
        packets += 1
        if packets % 1000 == 0 and depth:
            peak = max(peak, engine.stats["flow_packets.bytes"])
    cpu = time.process_time() - started
    stats = engine.stats
    print(json.dumps({
        "packets": packets, "cpu_us": cpu / packets * 1e6,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "charged": stats.get("flow_packets.bytes", 0), "peak": peak,
        "released": stats.get("flow_packets.released", 0),
        "rings": stats.get("flow_packets.flows", 0), "flows": stats["flows.active"]}))


def keep_cost() -> tuple[float, float]:
    """ns per `keep`: the flow changes on every packet, or stays the same."""
    from dpictl.engine.flow_packets import FlowPacketBuffer

    buf = FlowPacketBuffer()
    frames = [bytes(1000) + struct.pack("!I", i) for i in range(1000)]
    flows = [object() for _ in range(50)]

    def mixed() -> None:
        keep = buf.keep
        for i in range(1000):
            keep(flows[i % 50], 1.0, frames[i], 1)

    def same() -> None:
        keep, flow = buf.keep, flows[0]
        for i in range(1000):
            keep(flow, 1.0, frames[i], 1)

    return tuple(min(timeit.repeat(fn, number=100, repeat=7)) / 100_000 * 1e9
                 for fn in (mixed, same))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=100_000)
    ap.add_argument("--segments", type=int, default=6)
    ap.add_argument("--child", type=int, metavar="DEPTH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.flows, args.segments, args.child)
        return
    from dpictl.engine.flow_packets import DEFAULT_BUDGET, DEFAULT_DEPTH, DEFAULT_SNAP, ring_bound

    print(f"{args.flows} TCP flows of {args.segments + 3} packets; buffer: {DEFAULT_DEPTH} "
          f"packets per flow cut at {DEFAULT_SNAP} bytes (at most {ring_bound(DEFAULT_DEPTH, DEFAULT_SNAP)} "
          f"bytes a ring), {DEFAULT_BUDGET >> 20} MiB per process")
    print(f"{'flow packets':>12} {'us/pkt CPU':>10} {'peak RSS MB':>11} {'charged MB':>10} "
          f"{'peak MB':>8} {'released':>9} {'rings':>7} {'flows':>7}")
    for depth in (0, DEFAULT_DEPTH):
        proc = subprocess.run([sys.executable, __file__, "--flows", str(args.flows),
                               "--segments", str(args.segments), "--child", str(depth)],
                              capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{depth:>12} {r['cpu_us']:10.1f} {r['rss_mb']:11.1f} {r['charged'] / 2**20:10.2f} "
              f"{r['peak'] / 2**20:8.2f} {r['released']:9d} {r['rings']:7d} {r['flows']:7d}")
    mixed, same = keep_cost()
    print(f"FlowPacketBuffer.keep: {mixed:.0f} ns a packet when the flow changes every packet, "
          f"{same:.0f} ns on one flow")


if __name__ == "__main__":
    main()
