"""The agent's view of the local netns cluster: resources, endpoints and status via LocalBackend.

Everything goes through the backend's public operations on the shared state file, so the
agent sees exactly what `dpictl get` shows, and the status it writes is what
`dpictl get dpi -n NS NAME -o yaml` prints.
"""

from __future__ import annotations

from datetime import datetime, timezone

from dpictl.agent.sources import AgentSettings, settings_from_manifests
from dpictl.backends.base import Backend, WorkloadEndpoint
from dpictl.errors import NotFound
from dpictl.resources.models.dpi import record_node_status

DPI_KIND = "DeepPacketInspection"


class BackendSource:
    """A `ClusterSource` over any Backend whose objects can carry a patched `status`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def resources(self) -> list[dict]:
        return self.backend.get(DPI_KIND, all_namespaces=True)

    def endpoints(self) -> list[WorkloadEndpoint]:
        return self.backend.endpoints()

    def settings(self) -> AgentSettings:
        return settings_from_manifests(self._one("IntrusionDetection", "tigera-secure"),
                                       self._one("FelixConfiguration", "default"))

    def report_status(self, dpi: dict, node: str, success: bool,
                      error: str | None = None) -> None:
        meta = dpi.get("metadata") or {}
        name, namespace = meta.get("name"), meta.get("namespace")
        try:
            current = self.backend.get(DPI_KIND, namespace=namespace, name=name)[0]
        except NotFound:
            return                      # deleted meanwhile: nothing to report on
        status = record_node_status(current.get("status"), node, success=success,
                                    now=now_rfc3339(), error=error)
        self.backend.patch(DPI_KIND, name, {"status": status}, namespace=namespace)

    def _one(self, kind: str, name: str) -> dict | None:
        try:
            found = self.backend.get(kind, name=name)
        except NotFound:
            return None
        return found[0] if found else None


def now_rfc3339() -> str:
    """Kubernetes `metav1.Time`: seconds, UTC, `Z`."""
    return datetime.now(tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["BackendSource", "now_rfc3339"]
