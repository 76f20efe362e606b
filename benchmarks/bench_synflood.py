"""A SYN flood through the dpictl engine: does the per-packet rate hold once the table is full?

Feeds N unique TCP SYNs (default 1,000,000; every one opens a new flow, so past the flow
table's 65,536 flows every packet forces an eviction) through `dpictl.engine.Engine`, then
an ordinary capture through a fork of the same engine (same compiled rules, fresh flows) for
comparison, and prints: packets, CPU seconds, packets/s, the worst single packet (wall
clock, so on a loaded machine it includes preemption), the longest full garbage collection
(what the worst packet usually is), flows active, evictions and timeouts, peak RSS, and the
memory one SYN-only flow costs. `--gc-freeze` calls gc.freeze() after the rules are compiled,
so full collections skip the rule objects (the engine itself does not do this).

Frames are built without scapy: one Ethernet/IPv4/TCP SYN template made with `struct`,
into which each frame's source address, source port and sequence number are patched
(building a million frames with scapy takes minutes; patching takes about a second). The
IPv4 and TCP checksums are kept valid incrementally (RFC 1624 style sums), so the frames
are real SYNs should anyone write them to a pcap. Frames are built in batches and only the
`feed()` calls are timed, so neither frame building nor a million prebuilt frames count.

Measured on 2 shared cores with the all-enabled community rules (CPU of feed() only):
before the LRU flow table, 67,536 SYNs took 19.5 s (3,470 packets/s; every new flow past
65,536 swept the whole table); after, 1,000,000 SYNs take 11.0 s (90,600 packets/s, 89,500
with the table full), 2.6x the per-packet rate of ec-ultra_lab_03-14.pcap.

This is a measurement script, not a test:

    .venv/bin/python benchmarks/bench_synflood.py [--syns 1000000] [--pps 100000]
        [--builtin-rules | --rules FILE] [--normal PCAP] [--gc-freeze]
"""

from __future__ import annotations

import argparse
import gc
import inspect
import resource
import struct
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
RULES = SHARED / "rules" / "snort2-community-all-enabled.rules"
NORMAL = SHARED / "pcaps" / "ec-ultra_lab_03-14.pcap"
LINKTYPE_ETHERNET = 1
BATCH = 4096

_ETH = bytes.fromhex("020000000002" "020000000001" "0800")
_DST_IP = bytes([192, 168, 50, 10])
_DST_PORT = 80


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _template() -> tuple[bytearray, int, int]:
    """A SYN frame with zero source address/port/seq, and the one's complement sums of its
    IPv4 header and of its TCP pseudo-header + header without those fields."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0, bytes(4), _DST_IP)
    tcp = struct.pack("!HHIIBBHHH", 0, _DST_PORT, 0, 0, 5 << 4, 0x02, 64240, 0, 0)
    ip_sum = sum(struct.unpack("!10H", ip))
    tcp_sum = sum(struct.unpack("!10H", tcp)) + sum(struct.unpack("!2H", _DST_IP)) + 6 + 20
    return bytearray(_ETH + ip + tcp), ip_sum, tcp_sum


def syn_frames(count: int, pps: float, start: float = 1_700_000_000.0
               ) -> Iterator[list[tuple[float, bytes]]]:
    """Batches of (timestamp, frame): `count` SYNs from distinct (address, port) pairs."""
    frame, ip_sum, tcp_sum = _template()
    pack_into = struct.pack_into
    step = 1.0 / pps
    batch: list[tuple[float, bytes]] = []
    for i in range(count):
        src = 0x0A000000 | (i >> 4 & 0xFFFFFF)          # 10.x.y.z, 16 ports per address
        sport = 1024 + (i & 0xF) * 4000 + (i >> 20 & 0xFFF)
        seq = (i * 2654435761) & 0xFFFFFFFF
        hi, lo = src >> 16, src & 0xFFFF
        pack_into("!4s", frame, 26, src.to_bytes(4, "big"))
        pack_into("!H", frame, 24, 0xFFFF - _fold(ip_sum + hi + lo))
        pack_into("!HHI", frame, 34, sport, _DST_PORT, seq)
        pack_into("!H", frame, 50, 0xFFFF - _fold(tcp_sum + hi + lo + sport + (seq >> 16)
                                                  + (seq & 0xFFFF)))
        batch.append((start + i * step, bytes(frame)))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def pcap_frames(path: Path) -> list[tuple[float, bytes, int, str | None]]:
    from dpictl.capture import open_pcap

    with open_pcap(str(path)) as frames:
        return [(ts, bytes(frame), linktype, iface) for ts, frame, linktype, iface in frames]


class FullCollections:
    """Counts full (generation 2) garbage collections and the longest one, in CPU seconds."""

    def __init__(self) -> None:
        self.count = 0
        self.longest = 0.0
        self._start = 0.0
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._start = time.process_time()
        else:
            self.count += 1
            self.longest = max(self.longest, time.process_time() - self._start)


class Run:
    """CPU time of `feed()` calls only, and the slowest single call (wall clock)."""

    def __init__(self) -> None:
        self.packets = 0
        self.cpu = 0.0
        self.worst = 0.0
        self.last_worst = 0.0
        self.alerts = 0

    def feed(self, engine, frames) -> None:
        feed, clock, worst, alerts = engine.feed, time.perf_counter, 0.0, 0
        cpu0 = time.process_time()
        for ts, frame, linktype, iface in frames:
            t0 = clock()
            alerts += len(feed(ts, frame, linktype, iface))
            took = clock() - t0
            if took > worst:
                worst = took
        self.cpu += time.process_time() - cpu0
        self.packets += len(frames)
        self.last_worst = worst
        self.worst = max(self.worst, worst)
        self.alerts += alerts

    def row(self, name: str) -> str:
        rate = self.packets / self.cpu if self.cpu else float("inf")
        return (f"{name:22} {self.packets:>10,} {self.cpu:8.2f} {rate:>10,.0f} "
                f"{self.worst * 1e3:9.2f} {self.alerts:>7,}")


def syn_flow_bytes(engine, count: int = 20_000) -> float:
    """Bytes one SYN-only flow holds in an engine (tracemalloc, on a fork with no flows)."""
    probe = engine.fork()
    frames = [(ts, f, LINKTYPE_ETHERNET, None) for batch in syn_frames(count, 1e6)
              for ts, f in batch]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for ts, frame, linktype, iface in frames:
        probe.feed(ts, frame, linktype, iface)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held / count


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--syns", type=int, default=1_000_000, help="unique SYNs (flows) to feed")
    ap.add_argument("--pps", type=float, default=100_000.0,
                    help="flood rate in packet time (sets timestamps; default 100000)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--rules", type=Path, default=RULES, help="rule file (default: "
                       "the all-enabled community rules)")
    group.add_argument("--builtin-rules", action="store_true", help="dpictl's built-in rules")
    ap.add_argument("--normal", type=Path, default=NORMAL,
                    help="ordinary capture to compare the per-packet rate with")
    ap.add_argument("--gc-freeze", action="store_true",
                    help="gc.freeze() after compiling the rules")
    args = ap.parse_args()

    from dpictl.engine import Engine
    from dpictl.engine.flow_table import FlowTable
    from dpictl.rules import builtin_rules, load_rules

    t0 = time.process_time()
    rules = builtin_rules() if args.builtin_rules else load_rules([args.rules])
    engine = Engine(rules.rules)
    source = "built-in rules" if args.builtin_rules else args.rules.name
    if args.gc_freeze:
        gc.freeze()
    print(f"rules: {source}, {len(rules.rules)} loaded; start-up "
          f"{time.process_time() - t0:.2f} s CPU; peak RSS {peak_rss_mb():.0f} MB")

    normal = Run()
    normal_frames = pcap_frames(args.normal)
    warm = engine.fork()                   # first packets of a kind may warm caches up
    normal.feed(warm, normal_frames)
    normal = Run()
    ordinary = engine.fork()
    normal.feed(ordinary, normal_frames)
    ordinary.flush()
    del normal_frames, warm

    # the flood is timed as a whole and in two phases: filling the flow table, then full
    # (every new flow evicts one); the default table size is FlowTable's
    table_size = inspect.signature(FlowTable).parameters["max_flows"].default
    flood, filling, full = Run(), Run(), Run()
    victim = engine.fork()
    collections = FullCollections()
    rss_before = peak_rss_mb()
    for batch in syn_frames(args.syns, args.pps):
        frames = [(ts, frame, LINKTYPE_ETHERNET, None) for ts, frame in batch]
        phase = filling if flood.packets < table_size else full
        cpu = flood.cpu
        flood.feed(victim, frames)
        phase.packets += len(frames)
        phase.cpu += flood.cpu - cpu
        phase.worst = max(phase.worst, flood.last_worst)
    stats = victim.stats
    rss_after = peak_rss_mb()
    victim.flush()

    print(f"{'traffic':22} {'packets':>10} {'CPU s':>8} {'pkt/s':>10} {'worst ms':>9} "
          f"{'alerts':>7}")
    print(normal.row(args.normal.name))
    print(flood.row(f"{args.syns:,} unique SYNs"))
    print(filling.row("  filling the table"))
    if full.packets:
        print(full.row("  table full"))
    ratio = (flood.packets / flood.cpu) / (normal.packets / normal.cpu)
    print(f"flood rate / ordinary rate: {ratio:.2f}")
    print(f"flood end: flows active {stats['flows.active']:,}, created "
          f"{stats['flows.flows']:,}, evictions {stats['flows.evictions']:,}, "
          f"timeouts {stats['flows.timeouts']:,}")
    print(f"full garbage collections during the flood: {collections.count}, longest "
          f"{collections.longest * 1e3:.0f} ms CPU{' (gc.freeze)' if args.gc_freeze else ''}")
    print(f"peak RSS: {rss_before:.0f} MB before the flood, {rss_after:.0f} MB after")
    print(f"memory per SYN-only flow (tracemalloc, engine + flow table): "
          f"{syn_flow_bytes(engine):.0f} bytes")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
