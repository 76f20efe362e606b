"""The agent's ClusterSource on Kubernetes: DPI resources and pods from the API, status back.

Two watch caches (DeepPacketInspection in whatever group serves it, and every pod - IP
attribution is cluster-wide, as Calico's WEP cache is) keep reconciles local; settings are
read at most every `settings_ttl` seconds. Status goes back as Calico's DPI writes it: get
the resource, set this node's `status.nodes[]` entry, update the status subresource, and on a
409 (someone else wrote in between) read again and retry.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Callable

from dpictl.agent.kube_interfaces import InterfaceResolver
from dpictl.agent.sources import AgentSettings, settings_from_manifests
from dpictl.backends.base import WorkloadEndpoint
from dpictl.backends.kubernetes.api_errors import Conflict
from dpictl.backends.kubernetes.pods import endpoint_from_pod
from dpictl.backends.kubernetes.watch_cache import WatchCache
from dpictl.errors import ClusterError, NotFound
from dpictl.resources.models.dpi import record_node_status

log = logging.getLogger(__name__)

DPI = "DeepPacketInspection"
STATUS_RETRIES = 5


class KubeSource:
    """ClusterSource over a KubernetesBackend, for the agent on `node`."""

    def __init__(self, backend, node: str, netns: str | None = None,
                 resolver: InterfaceResolver | None = None, settings_ttl: float = 10.0,
                 on_change: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.node = node
        self.resolver = resolver or InterfaceResolver(netns)
        self.dpis = WatchCache(backend, DPI, on_change=on_change)
        self.pods = WatchCache(backend, "Pod", on_change=on_change)
        self._settings_ttl = settings_ttl
        self._settings: tuple[float, AgentSettings] | None = None
        self._clock = clock

    def start(self) -> "KubeSource":
        self.dpis.start()
        self.pods.start()
        return self

    def stop(self) -> None:
        self.dpis.stop()
        self.pods.stop()

    # -- ClusterSource --------------------------------------------------------------------

    def resources(self) -> list[dict]:
        try:
            return self.dpis.items()
        except NotFound:
            return []       # no DPI CRD yet: nothing to inspect (the watch keeps trying)

    def endpoints(self) -> list[WorkloadEndpoint]:
        eps = [ep for ep in map(endpoint_from_pod, self.pods.items()) if ep is not None]
        local = [ep for ep in eps if ep.node == self.node]
        if not local:
            return eps
        others = [ep for ep in eps if ep.node != self.node]
        return self.resolver.resolve(local) + others

    def settings(self) -> AgentSettings:
        now = self._clock()
        if self._settings is not None and now - self._settings[0] < self._settings_ttl:
            return self._settings[1]
        settings = settings_from_manifests(self._optional("IntrusionDetection", "tigera-secure"),
                                           self._optional("FelixConfiguration", "default"))
        self._settings = (now, settings)
        return settings

    def report_status(self, dpi: dict, node: str, success: bool,
                      error: str | None = None) -> None:
        meta = dpi.get("metadata") or {}
        namespace, name = meta.get("namespace"), meta.get("name")
        for _ in range(STATUS_RETRIES):
            current = self.backend.get(DPI, namespace=namespace, name=name)[0]
            now = datetime.now(tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            current["status"] = record_node_status(current.get("status"), node,
                                                   success=success, now=now, error=error)
            try:
                self.backend.update_status(DPI, current)
                return
            except Conflict:
                continue
        raise ClusterError(f"status of {DPI} {namespace}/{name} kept changing under us "
                           f"({STATUS_RETRIES} conflicts in a row)")

    # -- internals ------------------------------------------------------------------------

    def _optional(self, kind: str, name: str) -> dict | None:
        """A settings object, or None when the kind or the object does not exist here."""
        try:
            return self.backend.get(kind, name=name)[0]
        except NotFound:
            return None


__all__ = ["KubeSource"]
