"""What the DPI controller needs from the world, as two small Protocols.

The controller is the same code on the local netns cluster and on Kubernetes; only these
change. A `ClusterSource` says which DeepPacketInspection resources exist, which workload
endpoints there are, what resources the agent may use, and takes status back. An `AlertSink`
receives alerts (the local SQLite `AlertStore`, or Kubernetes Events). Settings are derived
from the manifests by `settings_from_manifests` so that both sources read them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable

from dpictl.backends.base import WorkloadEndpoint
from dpictl.errors import DpictlError
from dpictl.duration import parse_duration

DPI_COMPONENT = "DeepPacketInspection"
DEFAULT_FLUSH_INTERVAL = 300.0          # Felix's default flowLogsFlushInterval, 5m0s


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """The knobs the cluster gives the agent.

    `cpu` and `memory` are the Kubernetes quantities of IntrusionDetection
    `componentResources[DeepPacketInspection].resourceRequirements.limits` (None: unlimited).
    `flush_interval` is FelixConfiguration `flowLogsFlushInterval` in seconds: the flow log
    collector flushes every interval (dpictl.flowlogs.collector). Calico does not gate DPI
    alerts on it, and neither do we (alerts are committed as they happen); the agent also
    uses it as the period of its stats heartbeat.
    """

    cpu: str | None = None
    memory: str | None = None
    flush_interval: float = DEFAULT_FLUSH_INTERVAL


@runtime_checkable
class ClusterSource(Protocol):
    """Where DPI resources and endpoints come from, and where status goes back."""

    def resources(self) -> list[dict]:
        """Every DeepPacketInspection manifest, all namespaces."""

    def endpoints(self) -> list[WorkloadEndpoint]:
        """Every workload endpoint of the cluster (all nodes: IP attribution is cluster-wide)."""

    def settings(self) -> AgentSettings: ...

    def report_status(self, dpi: dict, node: str, success: bool,
                      error: str | None = None) -> None:
        """Record this node's state on the resource (`status.nodes[]`, see agent.status)."""


def dpi_limits(intrusion_detection: dict | None) -> tuple[str | None, str | None]:
    """(cpu, memory) limits IntrusionDetection gives the DeepPacketInspection component."""
    spec = (intrusion_detection or {}).get("spec") or {}
    for item in spec.get("componentResources") or []:
        if isinstance(item, dict) and item.get("componentName") == DPI_COMPONENT:
            limits = ((item.get("resourceRequirements") or {}).get("limits")) or {}
            cpu, mem = limits.get("cpu"), limits.get("memory")
            return (str(cpu) if cpu is not None else None,
                    str(mem) if mem is not None else None)
    return None, None


def settings_from_manifests(intrusion_detection: dict | None,
                            felix: dict | None) -> AgentSettings:
    """AgentSettings from the `tigera-secure` IntrusionDetection and `default` Felix config."""
    cpu, memory = dpi_limits(intrusion_detection)
    flush = DEFAULT_FLUSH_INTERVAL
    raw = ((felix or {}).get("spec") or {}).get("flowLogsFlushInterval")
    if raw is not None:
        try:
            flush = max(parse_duration(raw), 1.0)
        except DpictlError:
            pass  # a bad value must not stop inspection; the resource layer validates it
    return AgentSettings(cpu=cpu, memory=memory, flush_interval=flush)


__all__ = ["AgentSettings", "ClusterSource", "settings_from_manifests",
           "dpi_limits", "DEFAULT_FLUSH_INTERVAL"]
