"""Fold conntrack connections into Calico flow log records, one flush interval at a time.

Felix aggregates per (source, destination, dest port, proto, action, reporter) and writes
one record per key and interval; so does this. A connection's counters are cumulative in
conntrack, so the aggregator remembers what it already counted per connection and adds only
the difference: a connection live across three intervals adds to three records, each with
that interval's packets and bytes, and is counted in each one's `num_flows`.

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

from dpictl.flowlogs.conntrack import Connection
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
    flows: set = field(default_factory=set)
    packets_orig: int = 0
    bytes_orig: int = 0
    packets_reply: int = 0
    bytes_reply: int = 0


class FlowAggregator:
    """Not thread-safe: the collector calls it under its own lock."""

    def __init__(self, resolve: Callable[[str], Peer], host: str = "") -> None:
        self.resolve = resolve
        self.host = host
        self._counted: dict[tuple, tuple[int, int, int, int]] = {}
        self._totals: dict[_Key, _Totals] = {}
        self._missing: set[tuple] = set()

    @staticmethod
    def _identity(conn: Connection) -> tuple:
        # conntrack ids are reused after an entry dies; the tuple tells two apart.
        return (conn.ct_id, conn.proto, conn.source_ip, conn.source_port, conn.dest_ip,
                conn.dest_port)

    def observe(self, connections: Iterable[Connection]) -> None:
        """Add what each connection did since it was last seen (ended ones are forgotten)."""
        for conn in connections:
            ident = self._identity(conn)
            now = (conn.packets_orig, conn.bytes_orig, conn.packets_reply, conn.bytes_reply)
            before = self._counted.pop(ident, None) if conn.ended else \
                self._counted.get(ident)
            if not conn.ended:
                self._counted[ident] = now
            delta = tuple(max(0, a - b) for a, b in zip(now, before or (0, 0, 0, 0)))
            if before is not None and not any(delta):
                continue                  # idle since the last interval: not active in this one
            self._add(conn, ident, delta)

    def forget_missing(self, live: Iterable[Connection]) -> None:
        """After a dump: forget connections no longer in conntrack whose DESTROY event was
        lost. Only after two dumps in a row miss one: a connection that ended just before a
        dump has its event still queued, and forgetting it first would count it twice."""
        present = {self._identity(c) for c in live}
        missing = {i for i in self._counted if i not in present}
        for ident in missing & self._missing:
            del self._counted[ident]
        self._missing = missing - self._missing

    def _add(self, conn: Connection, ident: tuple, delta: tuple) -> None:
        source, dest = self.resolve(conn.source_ip), self.resolve(conn.dest_ip)
        reporters = [r for r, peer in (("src", source), ("dst", dest)) if peer.local]
        for reporter in reporters:
            key = (conn.source_ip, conn.dest_ip, conn.dest_port, conn.proto, reporter,
                   source.name, source.namespace, dest.name, dest.namespace)
            totals = self._totals.get(key)
            if totals is None:
                totals = self._totals[key] = _Totals(source, dest)
            totals.flows.add(ident)
            totals.packets_orig += delta[0]
            totals.bytes_orig += delta[1]
            totals.packets_reply += delta[2]
            totals.bytes_reply += delta[3]

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
                num_flows=len(t.flows), packets_in=p_in, packets_out=p_out, bytes_in=b_in,
                bytes_out=b_out, source_labels=dict(t.source.labels),
                dest_labels=dict(t.dest.labels), host=self.host))
        self._totals = {}
        records.sort(key=lambda r: (r.source_namespace, r.source_name, r.dest_namespace,
                                    r.dest_name, r.dest_port, r.proto, r.reporter))
        return records


__all__ = ["FlowAggregator", "Peer", "network_peer", "workload_peer", "PRIVATE_NET",
           "PUBLIC_NET", "NO_NAMESPACE"]
