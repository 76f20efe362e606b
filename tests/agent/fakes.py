"""Test doubles for the controller: a cluster source, an alert sink, a capture, an engine.

The fake engine is deliberately dumb (it alerts on any TCP payload holding b"smk=") so that
controller tests exercise selection, fan-out and attribution, not detection; the real engine
is used by the end-to-end tests.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import dpkt

from dpictl.agent.sources import AgentSettings
from dpictl.backends.base import WorkloadEndpoint
from dpictl.engine.packet import Detection
from dpictl.resources import workload_labels
from dpictl.resources.models.dpi import record_node_status
from dpictl.rules.ast import AddressSpec, PortSpec, Rule

NODE = "dagl-node"
SMK_RULE = Rule(action="alert", proto="tcp", src=AddressSpec(), src_ports=PortSpec(),
                bidirectional=False, dst=AddressSpec(), dst_ports=PortSpec(), sid=9000001,
                msg="fake smk rule", text="alert tcp any any -> any any (sid:9000001;)")


def endpoint(ns: str, name: str, ip: str, iface: str, node: str = NODE,
             labels: dict | None = None) -> WorkloadEndpoint:
    return WorkloadEndpoint(namespace=ns, name=name, ip=ip, node=node, interface=iface,
                            labels=workload_labels(ns, labels or {"app": name}))


def dpi(ns: str, name: str, selector: str = "all()") -> dict:
    return {"apiVersion": "projectcalico.org/v3", "kind": "DeepPacketInspection",
            "metadata": {"name": name, "namespace": ns}, "spec": {"selector": selector}}


class FakeSource:
    def __init__(self, resources: list[dict], endpoints: list[WorkloadEndpoint]) -> None:
        self._resources = resources
        self._endpoints = endpoints
        self.statuses: list[tuple[str, bool, str | None]] = []
        self.settings_value = AgentSettings()

    def resources(self) -> list[dict]:
        return list(self._resources)

    def endpoints(self) -> list[WorkloadEndpoint]:
        return list(self._endpoints)

    def settings(self) -> AgentSettings:
        return self.settings_value

    def report_status(self, dpi: dict, node: str, success: bool, error: str | None = None):
        key = f"{dpi['metadata']['namespace']}/{dpi['metadata']['name']}"
        self.statuses.append((key, success, error))
        for m in self._resources:
            if m["metadata"] == dpi["metadata"]:
                m["status"] = record_node_status(m.get("status"), node, success=success,
                                                 now="2026-01-01T00:00:00Z", error=error)


class FakeSink:
    def __init__(self) -> None:
        self.alerts: list = []

    def add(self, alerts):
        self.alerts.extend(alerts)
        return list(alerts)


class FakeCapture:
    """The controller's view of a CaptureLoop; `fail` names interfaces that cannot open."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.interfaces: set[str] = set()
        self.fail = fail or set()
        self.counts: dict[str, dict[str, int]] = {}     # what stats() reports, set by tests

    def stats(self) -> dict[str, dict[str, int]]:
        return {iface: dict(c) for iface, c in self.counts.items()}

    def add(self, iface: str) -> None:
        if iface in self.fail:
            raise OSError(f"no such device: {iface}")
        self.interfaces.add(iface)

    def remove(self, iface: str) -> list:
        self.interfaces.discard(iface)
        return []


class FakeEngine:
    """Alerts once per TCP segment whose payload holds b"smk="; counts forks and flushes."""

    def __init__(self, shared: dict | None = None) -> None:
        self.shared = shared if shared is not None else {"forks": 0, "flushes": 0}

    def fork(self) -> "FakeEngine":
        self.shared["forks"] += 1
        return FakeEngine(self.shared)

    def feed(self, ts, frame, linktype, iface=None):
        ip = dpkt.ethernet.Ethernet(frame).data
        if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP):
            return []
        if b"smk=" not in ip.data.data:
            return []
        return [Detection(ts=ts, rule=SMK_RULE, src_ip=socket.inet_ntoa(ip.src),
                          src_port=ip.data.sport, dst_ip=socket.inet_ntoa(ip.dst),
                          dst_port=ip.data.dport, proto="TCP", iface=iface)]

    def flush(self):
        self.shared["flushes"] += 1
        return []

    stats: dict = {}
    rule_report: list = []


def pcap_frames(path: Path) -> list[tuple[float, bytes]]:
    with path.open("rb") as fh:
        return [(float(ts), bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)]


class QueueSource:
    """A PacketSource fed by the test: `put(frame, iface)`; iteration ends on stop()."""

    def __init__(self, ifaces: list[str]) -> None:
        self.ifaces = set(ifaces)
        self._items: list = []
        self._cond = threading.Condition()
        self._stopped = False
        self.closed = False

    def put(self, ts: float, frame: bytes, iface: str) -> None:
        with self._cond:
            self._items.append((ts, frame, 1, iface))
            self._cond.notify_all()

    def add(self, iface: str) -> None:
        self.ifaces.add(iface)

    def remove(self, iface: str) -> None:
        self.ifaces.discard(iface)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def close(self) -> None:
        self.closed = True

    def stats(self) -> dict[str, dict[str, int]]:
        return {iface: {"kernel_packets": 0, "kernel_drops": 0, "discarded": 0}
                for iface in self.ifaces}

    def __iter__(self):
        while True:
            with self._cond:
                while not self._items and not self._stopped:
                    self._cond.wait(0.1)
                if self._stopped:
                    return
                item = self._items.pop(0)
            if item[3] in self.ifaces:
                yield item
