"""A live Suricata's EVE `stats` record, read as dpictl's own live counters.

Suricata writes a stats record every `stats.interval` seconds and a last one as it shuts
down, after its capture threads stopped (so that one is exact: `decoder.pkts ==
capture.kernel_packets - capture.kernel_drops`). dpictl asks for per-thread records too: in
workers mode each capture thread is named `W#NN-<interface>`, which is how the kernel
counters of each interface (each pod) are told apart - the totals alone cannot say which
endpoint lost packets.

`SuricataStats` answers the questions `dpictl.live.stats.LiveStats` answers (kernel packets
and drops, per-interface counters, the summary line's figures) and re-emits the record in
exactly the Python live engine's stats event shape, so one jq recipe reads both engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dpictl.live.stats import KERNEL_KEYS

_WORKER = re.compile(r"^W#\d+-(?P<iface>.+)$")


def _int(node: Any, *path: str) -> int:
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, int) else 0


@dataclass
class SuricataStats:
    """One EVE stats record (`record["stats"]`), with LiveStats' properties."""

    record: dict = field(default_factory=dict)

    @classmethod
    def from_eve(cls, event: dict) -> "SuricataStats | None":
        if event.get("event_type") != "stats" or not isinstance(event.get("stats"), dict):
            return None
        return cls(event)

    @property
    def stats(self) -> dict:
        return self.record.get("stats") or {}

    @property
    def uptime(self) -> int:
        return _int(self.stats, "uptime")

    @property
    def workers(self) -> list[str]:
        """The capture (worker) threads, by Suricata's names."""
        threads = self.stats.get("threads") or {}
        return [name for name in threads if _WORKER.match(name)]

    def interfaces(self) -> dict[str, dict[str, int]]:
        """Per interface: kernel_packets (drops included), kernel_drops, discarded (always
        0: Suricata reads no loopback echoes) and inspected (what its decoder saw), summed
        over that interface's worker threads."""
        out: dict[str, dict[str, int]] = {}
        for name, thread in (self.stats.get("threads") or {}).items():
            match = _WORKER.match(name)
            if match is None or not isinstance(thread, dict):
                continue
            mine = out.setdefault(match["iface"], {**dict.fromkeys(KERNEL_KEYS, 0),
                                                   "inspected": 0})
            mine["kernel_packets"] += _int(thread, "capture", "kernel_packets")
            mine["kernel_drops"] += _int(thread, "capture", "kernel_drops")
            mine["inspected"] += _int(thread, "decoder", "pkts")
        return out

    @property
    def kernel_packets(self) -> int:
        return _int(self.stats, "capture", "kernel_packets")

    @property
    def kernel_drops(self) -> int:
        return _int(self.stats, "capture", "kernel_drops")

    @property
    def discarded(self) -> int:
        return 0

    @property
    def decoded(self) -> int:
        return _int(self.stats, "decoder", "pkts")

    @property
    def bytes(self) -> int:
        return _int(self.stats, "decoder", "bytes")

    @property
    def alerts(self) -> int:
        return _int(self.stats, "detect", "alert")

    @property
    def drop_percent(self) -> float:
        packets = self.kernel_packets
        return 100.0 * self.kernel_drops / packets if packets else 0.0

    @property
    def worst_packet_us(self) -> None:
        """Suricata does not time single packets: unknown, not zero."""
        return None

    def to_eve(self) -> dict:
        """The Python live engine's stats event (`LiveStats.to_eve`), from this record."""
        stats = self.stats
        interfaces = {iface: {k: counts[k] for k in KERNEL_KEYS}
                      for iface, counts in self.interfaces().items()}
        return {
            "timestamp": self.record.get("timestamp"),
            "event_type": "stats",
            "stats": {
                "uptime": self.uptime,
                "capture": {"kernel_packets": self.kernel_packets,
                            "kernel_drops": self.kernel_drops, "discarded": 0},
                "decoder": {"pkts": self.decoded, "bytes": self.bytes,
                            "invalid": _int(stats, "decoder", "invalid")},
                "flow": {"total": _int(stats, "flow", "total"),
                         "active": _int(stats, "flow", "active"),
                         "timeout": _int(stats, "flow", "mgr", "flows_timeout"),
                         "evicted": _int(stats, "flow", "mgr", "flows_evicted")
                         + _int(stats, "flow", "wrk", "flows_evicted")},
                "detect": {"alert": self.alerts},
                "dpictl": {"engine": "suricata", "workers": len(self.workers),
                           "worst_packet_us": None, "interfaces": interfaces},
            },
        }


_DEVICE_LINE = re.compile(r"device: (?P<iface>\S+): packets: (?P<packets>\d+), "
                          r"drops: (?P<drops>\d+)")


def final_device_counts(log_text: str) -> dict[str, dict[str, int]]:
    """Per interface, the kernel counters Suricata logs as it exits (`device: caliX:
    packets: N, drops: M (x%), ...`): read after its socket closed, so nothing comes after
    them - unlike its last stats record, written just before."""
    out: dict[str, dict[str, int]] = {}
    for match in _DEVICE_LINE.finditer(log_text):
        packets, drops = int(match["packets"]), int(match["drops"])
        out[match["iface"]] = {"kernel_packets": packets, "kernel_drops": drops,
                               "discarded": 0, "inspected": packets - drops}
    return out


def add_counts(into: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    """Sum per-interface counters (a restarted Suricata counts from zero again)."""
    for iface, counts in more.items():
        mine = into.setdefault(iface, {})
        for key, value in counts.items():
            mine[key] = mine.get(key, 0) + value


__all__ = ["SuricataStats", "final_device_counts", "add_counts"]
