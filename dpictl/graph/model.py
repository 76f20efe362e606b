"""Fold alerts into a namespace/pod graph: nodes are workloads (or bare IPs), edges carry counts.

Calico's Service Graph answers "which workloads set off which signatures, talking to whom";
this is the same question answered from the alert store, with no cluster needed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from dpictl.alerts.record import Alert


@dataclass(frozen=True, slots=True)
class Node:
    """A workload (`namespace`/`name`) or, for traffic from outside the cluster, an IP."""

    key: str
    name: str
    namespace: str = ""
    ip: str = ""

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(slots=True)
class Edge:
    source: str
    dest: str
    alerts: int = 0
    signatures: Counter = field(default_factory=Counter)   # (sid, msg) -> count
    seen_on: set[str] = field(default_factory=set)         # endpoints whose interface saw it


@dataclass(slots=True)
class AlertGraph:
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


def _node(name: str, namespace: str, ip: str) -> Node:
    if name:
        return Node(key=f"{namespace}/{name}", name=name, namespace=namespace, ip=ip)
    return Node(key=ip or "?", name=ip or "?", ip=ip)


def build_graph(alerts: Iterable[Alert]) -> AlertGraph:
    """One node per workload or outside IP, one edge per (source, destination) pair."""
    graph = AlertGraph()
    for alert in alerts:
        src = _node(alert.source_name, alert.source_namespace, alert.source_ip)
        dst = _node(alert.dest_name, alert.dest_namespace, alert.dest_ip)
        graph.nodes.setdefault(src.key, src)
        graph.nodes.setdefault(dst.key, dst)
        edge = graph.edges.setdefault((src.key, dst.key), Edge(src.key, dst.key))
        edge.alerts += 1
        edge.signatures[(alert.sid, alert.signature)] += 1
        if alert.endpoint is not None:
            seen = f"{alert.endpoint.namespace}/{alert.endpoint.name}"
            edge.seen_on.add(seen)
            graph.inspected.add(seen)
    return graph


__all__ = ["AlertGraph", "Edge", "Node", "build_graph"]
