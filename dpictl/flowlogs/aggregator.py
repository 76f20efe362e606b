"""Fold the kernel's per-key counters into Calico flow log records, one flush interval at
a time.

Felix aggregates per (source, destination, dest port, proto, action, reporter) and writes
one record per key and interval; so does this. The kernel's counters are cumulative, so the
aggregator remembers the last values it read per key and adds only the difference: a
connection live across three intervals adds to three records, each with that interval's
packets and bytes. `num_flows` is the number of connections started in the interval (at
least 1 for a record with traffic).

Reporter: Felix writes a `src` record on the source's node and a `dst` record on the
destination's. On the local cluster every workload is on the one node, so both are written
for a pod-to-pod connection (as Felix does when both ends share a node); a connection with a
non-workload peer gets only the workload's side. On Kubernetes each node's agent writes the
records of its own workloads only, as each Felix does. Whoever counts connections (the graph)
should take one reporter, `src` unless the source is not a workload.
`action` is always `allow`: the local cluster enforces no policy, so every connection the
node forwarded was allowed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, Iterable

from dpictl.flowlogs.kernel_counters import KeyCounters
from dpictl.flowlogs.record import FlowLog

# Calico's names for peers that are not workloads (namespace "-").
PRIVATE_NET = "pvt"
PUBLIC_NET = "pub"
NO_NAMESPACE = "-"
_IMPLICIT_LABEL_PREFIX = "projectcalico.org/"   # the WEP's own labels, not the pod's


@dataclass(frozen=True, slots=True)
class Peer:
    """One end of a connection as a flow log names it."""

    name: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    workload: bool = False
    local: bool = False               # a workload on this agent's node: it reports the flow


def network_peer(ip: str) -> Peer:
    """A non-workload address: `pvt` for private ranges, `pub` otherwise (as Calico)."""
    try:
        private = ipaddress.ip_address(ip).is_private
    except ValueError:
        private = False
    return Peer(PRIVATE_NET if private else PUBLIC_NET, NO_NAMESPACE)


def workload_peer(name: str, namespace: str, labels: dict[str, str],
                  local: bool = True) -> Peer:
    return Peer(name, namespace, {k: v for k, v in labels.items()
                                  if not k.startswith(_IMPLICIT_LABEL_PREFIX)}, True, local)


_Key = tuple                              # (src ip, dst ip, port, proto, reporter) + peers


@dataclass(slots=True)
class _Totals:
    source: Peer
    dest: Peer
    started: int = 0
    packets_orig: int = 0
    bytes_orig: int = 0
    packets_reply: int = 0
    bytes_reply: int = 0


class FlowAggregator:
    """Turns cumulative per-key counters into per-interval records. Not thread-safe: the
    collector calls it under its own lock."""

    def __init__(self, resolve: Callable[[str], Peer], host: str = "") -> None:
        self.resolve = resolve
        self.host = host
        self._last: dict[tuple, tuple[int, ...]] = {}
        self._totals: dict[_Key, _Totals] = {}

    def baseline(self, counters: Iterable[KeyCounters]) -> None:
        """Take these counts as already reported: what a previous agent flushed before it
        stopped (the kernel's counters outlive the agent) is not reported twice."""
        self._last = {c.key: _values(c) for c in counters}

    def observe(self, counters: Iterable[KeyCounters]) -> None:
        """Add what each key counted since the last read. A key gone from the sets expired
        (idle for the element timeout); one that comes back starts again from zero."""
        last: dict[tuple, tuple[int, ...]] = {}
        for c in counters:
            now = _values(c)
            last[c.key] = now
            before = self._last.get(c.key)
            if before is None or any(n < b for n, b in zip(now, before)):
                delta = now
            else:
                delta = tuple(n - b for n, b in zip(now, before))
            if any(delta):
                self._add(c, delta)
        self._last = last

    def _add(self, c: KeyCounters, delta: tuple[int, ...]) -> None:
        source, dest = self.resolve(c.source_ip), self.resolve(c.dest_ip)
        reporters = [r for r, peer in (("src", source), ("dst", dest)) if peer.local]
        for reporter in reporters:
            key = (c.source_ip, c.dest_ip, c.dest_port, c.proto, reporter,
                   source.name, source.namespace, dest.name, dest.namespace)
            totals = self._totals.get(key)
            if totals is None:
                totals = self._totals[key] = _Totals(source, dest)
            totals.packets_orig += delta[0]
            totals.bytes_orig += delta[1]
            totals.packets_reply += delta[2]
            totals.bytes_reply += delta[3]
            totals.started += delta[4]

    @property
    def pending(self) -> int:
        return len(self._totals)

    def flush(self, start: float, end: float) -> list[FlowLog]:
        """The interval's records; starts the next interval empty."""
        records = []
        for key, t in self._totals.items():
            source_ip, dest_ip, port, proto, reporter = key[:5]
            # Direction as Calico: the reporter's own in/out.
            if reporter == "src":
                p_in, b_in, p_out, b_out = (t.packets_reply, t.bytes_reply, t.packets_orig,
                                            t.bytes_orig)
            else:
                p_in, b_in, p_out, b_out = (t.packets_orig, t.bytes_orig, t.packets_reply,
                                            t.bytes_reply)
            records.append(FlowLog(
                start_time=start, end_time=end, source_ip=source_ip,
                source_name=t.source.name, source_namespace=t.source.namespace,
                dest_ip=dest_ip, dest_name=t.dest.name, dest_namespace=t.dest.namespace,
                dest_port=port, proto=proto, action="allow", reporter=reporter,
                # connections started in the interval; one still open from an earlier
                # interval that carried traffic in this one counts as one
                num_flows=max(t.started, 1), packets_in=p_in, packets_out=p_out,
                bytes_in=b_in, bytes_out=b_out, source_labels=dict(t.source.labels),
                dest_labels=dict(t.dest.labels), host=self.host))
        self._totals = {}
        records.sort(key=lambda r: (r.source_namespace, r.source_name, r.dest_namespace,
                                    r.dest_name, r.dest_port, r.proto, r.reporter))
        return records


def _values(c: KeyCounters) -> tuple[int, ...]:
    return (c.packets_orig, c.bytes_orig, c.packets_reply, c.bytes_reply, c.started)


__all__ = ["FlowAggregator", "Peer", "network_peer", "workload_peer", "PRIVATE_NET",
           "PUBLIC_NET", "NO_NAMESPACE"]
