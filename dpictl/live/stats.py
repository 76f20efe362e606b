"""The counters of a live run, and their shape as a Suricata EVE `stats` event.

Suricata's names are kept (`capture.kernel_packets`, `capture.kernel_drops`,
`decoder.pkts`, `decoder.bytes`, `flow.*`, `detect.alert`) so that the dashboards and jq
recipes people already point at Suricata's eve.json read dpictl's too. What Suricata has no
name for goes under `dpictl`: per-interface counters, the number of workers, and the worst
single-packet time, which is how a stall shows up before it turns into drops.

Every worker reports cumulative counters; merging sums them. The invariant, exact once the
rings were quiesced at the end of a run and approximate (packets in flight) before:

    decoder.pkts == capture.kernel_packets - capture.kernel_drops - capture.discarded

(`discarded` is dpictl's own: loopback echoes it reads but does not inspect; 0 elsewhere).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

KERNEL_KEYS = ("kernel_packets", "kernel_drops", "discarded")


@dataclass(slots=True)
class WorkerStats:
    """One worker's cumulative counters (picklable: it crosses the worker's pipe)."""

    worker: int = 0
    interfaces: dict[str, dict[str, int]] = field(default_factory=dict)
    pkts: int = 0                         # frames handed to the engine
    bytes: int = 0
    invalid: int = 0                      # frames the decoder could not decode
    alerts: int = 0
    flows_total: int = 0
    flows_active: int = 0
    flows_timeout: int = 0
    flows_evicted: int = 0
    worst_packet_us: float = 0.0          # the slowest single frame through the engine
    final: bool = False                   # the worker has quiesced its rings and stopped

    def take_engine(self, engine_stats: Mapping[str, int]) -> None:
        """Copy the counters an Engine keeps (its `stats` property) into this record."""
        get = engine_stats.get
        self.pkts = int(get("packets", 0))
        self.bytes = int(get("bytes", 0))
        self.invalid = int(get("decode_errors", 0))
        self.flows_total = int(get("flows.flows", 0))
        self.flows_active = int(get("flows.active", 0))
        self.flows_timeout = int(get("flows.timeouts", 0))
        self.flows_evicted = int(get("flows.evictions", 0))


@dataclass
class LiveStats:
    """The merged view over every worker: what the summary line and the stats events say."""

    started: float = field(default_factory=time.time)
    workers: dict[int, WorkerStats] = field(default_factory=dict)

    def update(self, snapshot: WorkerStats) -> None:
        self.workers[snapshot.worker] = snapshot

    def _sum(self, name: str) -> int:
        return sum(getattr(w, name) for w in self.workers.values())

    def interfaces(self) -> dict[str, dict[str, int]]:
        """Kernel counters per interface, summed over the workers' sockets (fanout)."""
        out: dict[str, dict[str, int]] = {}
        for w in self.workers.values():
            for iface, counts in w.interfaces.items():
                mine = out.setdefault(iface, dict.fromkeys(KERNEL_KEYS, 0))
                for key in KERNEL_KEYS:
                    mine[key] += int(counts.get(key, 0))
        return out

    @property
    def kernel_packets(self) -> int:
        return sum(c["kernel_packets"] for c in self.interfaces().values())

    @property
    def kernel_drops(self) -> int:
        return sum(c["kernel_drops"] for c in self.interfaces().values())

    @property
    def discarded(self) -> int:
        return sum(c["discarded"] for c in self.interfaces().values())

    @property
    def decoded(self) -> int:
        return self._sum("pkts")

    @property
    def bytes(self) -> int:
        return self._sum("bytes")

    @property
    def alerts(self) -> int:
        return self._sum("alerts")

    @property
    def drop_percent(self) -> float:
        packets = self.kernel_packets
        return 100.0 * self.kernel_drops / packets if packets else 0.0

    @property
    def worst_packet_us(self) -> float:
        return max((w.worst_packet_us for w in self.workers.values()), default=0.0)

    def to_eve(self, now: float | None = None) -> dict:
        """A Suricata-compatible `"event_type": "stats"` event."""
        now = time.time() if now is None else now
        interfaces = self.interfaces()
        return {
            "timestamp": _eve_time(now),
            "event_type": "stats",
            "stats": {
                "uptime": int(now - self.started),
                "capture": {
                    "kernel_packets": sum(c["kernel_packets"] for c in interfaces.values()),
                    "kernel_drops": sum(c["kernel_drops"] for c in interfaces.values()),
                    "discarded": sum(c["discarded"] for c in interfaces.values()),
                },
                "decoder": {"pkts": self.decoded, "bytes": self.bytes,
                            "invalid": self._sum("invalid")},
                "flow": {"total": self._sum("flows_total"), "active": self._sum("flows_active"),
                         "timeout": self._sum("flows_timeout"),
                         "evicted": self._sum("flows_evicted")},
                "detect": {"alert": self.alerts},
                "dpictl": {"workers": len(self.workers),
                           "worst_packet_us": round(self.worst_packet_us, 1),
                           "interfaces": interfaces},
            },
        }


def _eve_time(ts: float) -> str:
    """EVE's timestamp format, in UTC as dpictl's alert events are."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f%z")


__all__ = ["WorkerStats", "LiveStats", "KERNEL_KEYS"]
