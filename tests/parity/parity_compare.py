"""Run the engine over a pcap and compare its alerts with Suricata 7's (the oracle).

Shared by the parity test and by `python -m` style tuning runs. Alerts are compared on
unique keys (sid, proto, unordered pair of (ip, port) endpoints), leaving out the SIDs
Suricata could not load; counts are reported for information only.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from pathlib import Path
from typing import Iterable

# Suricata 7.0.10 rejected these SIDs of snort2-community-all-enabled.rules
# (shared/oracle/README.md, "Rule loading").
SURICATA_FAILED_SIDS = frozenset({
    11968, 26470, 26722, 27899, 27900, 27901, 27902, 27903, 27904, 28406, 28807, 29895,
    30997, 30998, 30999, 31000, 31001, 32041, 32042, 32607, 32608, 38562, 45400, 45983,
})

Key = tuple[int, str, frozenset]


def alert_key(sid: int, proto: str, a: tuple[str, int | None],
              b: tuple[str, int | None]) -> Key:
    """Ports are None for ICMP (EVE has none); IPv6 text is compressed (EVE expands it)."""
    proto = proto.upper()
    icmp = proto.startswith("ICMP") or proto == "IPV6-ICMP"
    ends = frozenset((_ip(ip), None if icmp else port) for ip, port in (a, b))
    return (sid, proto, ends)


def _ip(text: str) -> str:
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def expected_alerts(oracle_file: Path) -> list[Key]:
    data = json.loads(oracle_file.read_text())
    return [alert_key(a["sid"], a["proto"], (a["src_ip"], a["src_port"]),
                      (a["dest_ip"], a["dest_port"]))
            for a in data["alerts"] if a["sid"] not in SURICATA_FAILED_SIDS]


def engine_alerts(engine, frames: Iterable) -> list[Key]:
    out = []
    for ts, frame, linktype, iface in frames:
        for det in engine.feed(ts, frame, linktype, iface):
            out.append(_det_key(det))
    for det in engine.flush():
        out.append(_det_key(det))
    return [k for k in out if k[0] not in SURICATA_FAILED_SIDS]


def _det_key(det) -> Key:
    return alert_key(det.rule.sid, det.proto, (det.src_ip, det.src_port),
                     (det.dst_ip, det.dst_port))


class Comparison:
    """Unique-key comparison of one or many pcaps."""

    def __init__(self) -> None:
        self.expected: set[tuple[str, Key]] = set()
        self.got: set[tuple[str, Key]] = set()
        self.counts: dict[str, tuple[Counter, Counter]] = {}

    def add(self, name: str, expected: list[Key], got: list[Key]) -> None:
        self.expected |= {(name, k) for k in expected}
        self.got |= {(name, k) for k in got}
        self.counts[name] = (Counter(k[0] for k in expected), Counter(k[0] for k in got))

    @property
    def recall(self) -> float:
        if not self.expected:
            return 1.0
        return len(self.expected & self.got) / len(self.expected)

    @property
    def precision(self) -> float:
        if not self.got:
            return 1.0 if not self.expected else 0.0
        return len(self.expected & self.got) / len(self.got)

    def missed(self) -> list[tuple[str, Key]]:
        return sorted(self.expected - self.got, key=str)

    def extra(self) -> list[tuple[str, Key]]:
        return sorted(self.got - self.expected, key=str)

    def summary(self) -> str:
        lines = [f"recall {self.recall:.4f} precision {self.precision:.4f} "
                 f"(expected {len(self.expected)} keys, got {len(self.got)})"]
        for name, (exp, got) in sorted(self.counts.items()):
            if exp != got:
                lines.append(f"  {name}: suricata {dict(sorted(exp.items()))} "
                             f"dpictl {dict(sorted(got.items()))}")
        for tag, items in (("missed", self.missed()), ("extra", self.extra())):
            for name, (sid, proto, pair) in items:
                ends = sorted(pair)
                lines.append(f"  {tag}: {name} sid {sid} {proto} {ends}")
        return "\n".join(lines)


__all__ = ["SURICATA_FAILED_SIDS", "Comparison", "expected_alerts", "engine_alerts",
           "alert_key"]


def run_all(pcap_dir: Path, oracle_dir: Path, engine, only: tuple[str, ...] = ()) -> Comparison:
    """Every pcap of `pcap_dir` through a fork of `engine` (fresh state per pcap, as the
    oracle ran one Suricata process per pcap)."""
    from dpictl.capture import open_pcap

    cmp = Comparison()
    for pcap in sorted(pcap_dir.glob("*.pcap*")):
        if only and not any(o in pcap.name for o in only):
            continue
        oracle = oracle_dir / f"{pcap.name}.json"
        if not oracle.exists():
            continue
        with open_pcap(pcap) as frames:
            got = engine_alerts(engine.fork(), frames)
        cmp.add(pcap.name, expected_alerts(oracle), got)
    return cmp


if __name__ == "__main__":  # tuning aid: python tests/parity/parity_compare.py [name...]
    import sys
    import time

    from dpictl.engine import Engine
    from dpictl.rules import load_rules

    shared = Path(__file__).resolve().parents[3] / "shared"
    start = time.process_time()
    ruleset = load_rules([shared / "rules" / "snort2-community-all-enabled.rules"])
    base = Engine(ruleset.rules)
    result = run_all(shared / "pcaps", shared / "oracle" / "expected", base, tuple(sys.argv[1:]))
    print(result.summary())
    print(f"cpu {time.process_time() - start:.2f} s")
