"""Detections of one monitor -> alerts tagged the way Calico tags DPI events.

Each alert carries the origin `dpi.<ns>/<name>` of the resource, the node as `host`, the
endpoint whose interface saw the packet (and whether it was the packet's source or
destination), and pod names for both addresses, looked up by IP in an index of every
endpoint in the cluster (Calico's WEP cache), so traffic to a pod on another node is named.
"""

from __future__ import annotations

from typing import Iterable

from dpictl.agent.selection import MonitorKey
from dpictl.alerts import Alert, Endpoint, alert_from_detection
from dpictl.backends.base import WorkloadEndpoint
from dpictl.engine.packet import Detection


class AlertFactory:
    """Builds alerts for one node; `index()` refreshes the IP -> pod attribution table."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._names: dict[str, tuple[str, str]] = {}

    def index(self, endpoints: Iterable[WorkloadEndpoint]) -> None:
        # Build then swap: the capture thread never sees a half-built table.
        self._names = {ep.ip: (ep.name, ep.namespace) for ep in endpoints if ep.ip}

    def name_of(self, ip: str) -> tuple[str, str]:
        return self._names.get(ip, ("", ""))

    def make(self, key: MonitorKey, endpoint: WorkloadEndpoint, det: Detection) -> Alert:
        if det.src_ip == endpoint.ip:
            role = "source"
        elif det.dst_ip == endpoint.ip:
            role = "destination"
        else:
            role = ""
        ep = Endpoint(name=endpoint.name, namespace=endpoint.namespace,
                      interface=key.interface, role=role)
        return alert_from_detection(det, origin=key.origin, host=self.node, endpoint=ep,
                                    names=self.name_of)


__all__ = ["AlertFactory"]
