"""Fold flow logs and alerts into one workload graph: who talked to whom, and what it set off.

Calico's Service Graph is drawn from flow logs, with alerts laid over it; this is the same
picture from dpictl's store, with no cluster needed. Every pair of workloads that talked is an
edge, pointing the way the connections were opened (a flow log's source to its destination),
so a request and its response are one edge, not two. An alert joins the edge its packet
belongs to, whichever way that packet travelled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Iterable

from dpictl.alerts.record import Alert
from dpictl.flowlogs.record import FlowLog

# What Calico writes for "no such thing" in a flow log's name/namespace/ip fields.
_NONE = ("", "-")


@dataclass(frozen=True, slots=True)
class Node:
    """A workload (`namespace`/`name`) or, for traffic from outside the cluster, an IP (or
    Calico's `pub`/`pvt` when the flow log aggregated the address away)."""

    key: str
    name: str
    namespace: str = ""
    ip: str = ""

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(slots=True)
class Traffic:
    """What one reporter's flow logs say about an edge, oriented source → destination."""

    flows: int = 0
    packets_forward: int = 0        # source → destination (the requests)
    packets_back: int = 0           # destination → source (the responses)
    bytes_forward: int = 0
    bytes_back: int = 0

    def add(self, record: FlowLog) -> None:
        # A `src` reporter is the source: what it sent out went forward. A `dst` reporter is
        # the destination: what it took in came forward.
        sent_forward = record.reporter != "dst"
        self.flows += record.num_flows
        self.packets_forward += record.packets_out if sent_forward else record.packets_in
        self.packets_back += record.packets_in if sent_forward else record.packets_out
        self.bytes_forward += record.bytes_out if sent_forward else record.bytes_in
        self.bytes_back += record.bytes_in if sent_forward else record.bytes_out


@dataclass(slots=True)
class Edge:
    source: str
    dest: str
    alerts: int = 0
    signatures: Counter = field(default_factory=Counter)   # (sid, msg) -> count
    seen_on: set[str] = field(default_factory=set)         # endpoints whose interface saw it
    ports: set[tuple[str, int]] = field(default_factory=set)       # (proto, dest port)
    by_reporter: dict[str, Traffic] = field(default_factory=dict)  # "src"/"dst" -> totals

    @property
    def traffic(self) -> Traffic:
        """The edge's traffic. When both ends report the same connections (Felix on both
        nodes), counting both would double them; each side saw all of it, so the larger
        report is kept, field by field (one side may have missed a flush interval)."""
        reports = list(self.by_reporter.values())
        return Traffic(*(max((getattr(r, f.name) for r in reports), default=0)
                         for f in fields(Traffic)))

    @property
    def flows(self) -> int:
        return self.traffic.flows

    @property
    def sids(self) -> list[int]:
        return sorted({sid for sid, _ in self.signatures})

    def to_dict(self) -> dict:
        traffic = self.traffic
        return {
            "source": self.source, "dest": self.dest,
            "flows": traffic.flows,
            "ports": [f"{proto}/{port}" for proto, port in sorted(self.ports)],
            "packets_forward": traffic.packets_forward, "packets_back": traffic.packets_back,
            "bytes_forward": traffic.bytes_forward, "bytes_back": traffic.bytes_back,
            "alerts": self.alerts,
            "signatures": [{"sid": sid, "signature": msg, "count": n}
                           for (sid, msg), n in self.signatures.most_common()],
            "seen_on": sorted(self.seen_on),
        }


@dataclass(slots=True)
class WorkloadGraph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)
    inspected: set[str] = field(default_factory=set)        # node keys that are DPI endpoints

    @property
    def namespaces(self) -> list[str]:
        return sorted({n.namespace for n in self.nodes.values() if n.namespace})

    def alerts_from(self, key: str) -> int:
        return sum(e.alerts for e in self.edges.values() if e.source == key)

    def alerts_to(self, key: str) -> int:
        return sum(e.alerts for e in self.edges.values() if e.dest == key)

    def alerting_only(self) -> "WorkloadGraph":
        """The edges that set something off and the nodes at their ends. Built from the
        full graph, so each alert keeps the direction its connection was opened in."""
        edges = {k: e for k, e in self.edges.items() if e.alerts}
        ends = {key for pair in edges for key in pair}
        return WorkloadGraph(nodes={k: n for k, n in self.nodes.items() if k in ends},
                             edges=edges, inspected=set(self.inspected))

    def to_dict(self) -> dict:
        return {
            "nodes": [{"key": n.key, "name": n.name, "namespace": n.namespace, "ip": n.ip,
                       "inspected": n.key in self.inspected}
                      for n in sorted(self.nodes.values(), key=lambda n: n.key)],
            "edges": [e.to_dict() for e in sorted(self.edges.values(),
                                                  key=lambda e: (e.source, e.dest))],
        }


def _node(name: str, namespace: str, ip: str) -> Node:
    if name not in _NONE and namespace not in _NONE:
        return Node(key=f"{namespace}/{name}", name=name, namespace=namespace,
                    ip="" if ip in _NONE else ip)
    where = ip if ip not in _NONE else (name if name not in _NONE else "?")
    return Node(key=where, name=where, ip="" if ip in _NONE else ip)


def _edge(graph: WorkloadGraph, src: Node, dst: Node) -> Edge:
    graph.nodes.setdefault(src.key, src)
    graph.nodes.setdefault(dst.key, dst)
    return graph.edges.setdefault((src.key, dst.key), Edge(src.key, dst.key))


def _add_flow(graph: WorkloadGraph, record: FlowLog) -> None:
    src = _node(record.source_name, record.source_namespace, record.source_ip)
    dst = _node(record.dest_name, record.dest_namespace, record.dest_ip)
    edge = _edge(graph, src, dst)
    edge.by_reporter.setdefault(record.reporter, Traffic()).add(record)
    edge.ports.add((record.proto.lower(), record.dest_port))


def _add_alert(graph: WorkloadGraph, alert: Alert, by_ip: dict[str, Node]) -> None:
    src = _node(alert.source_name, alert.source_namespace, alert.source_ip)
    dst = _node(alert.dest_name, alert.dest_namespace, alert.dest_ip)
    # An alert from `inspect` knows addresses only; the flow logs may name their workloads.
    src, dst = by_ip.get(src.key, src), by_ip.get(dst.key, dst)
    # A rule can fire on a response (flow:to_client): its packet runs destination → source
    # of the connection. Put it on the connection's edge rather than draw a reverse one.
    if (src.key, dst.key) not in graph.edges and (dst.key, src.key) in graph.edges:
        src, dst = dst, src
    edge = _edge(graph, src, dst)
    edge.alerts += 1
    edge.signatures[(alert.sid, alert.signature)] += 1
    if alert.endpoint is not None:
        seen = f"{alert.endpoint.namespace}/{alert.endpoint.name}"
        edge.seen_on.add(seen)
        graph.inspected.add(seen)


def build_graph(alerts: Iterable[Alert] = (), flows: Iterable[FlowLog] = ()) -> WorkloadGraph:
    """One node per workload or outside address, one edge per (source, destination) pair
    that talked (flow logs) or alerted (alerts). Flows go first so that alerts find the
    direction their connection was opened in and the workloads behind bare addresses; with
    no flows the graph is the alerts alone."""
    graph = WorkloadGraph()
    for record in flows:
        _add_flow(graph, record)
    by_ip = {n.ip: n for n in graph.nodes.values() if n.namespace and n.ip}
    for alert in alerts:
        _add_alert(graph, alert, by_ip)
    return graph


__all__ = ["Edge", "Node", "Traffic", "WorkloadGraph", "build_graph"]
