"""What `dpictl run-lab --backend kubernetes` needs besides the backend: alerts and the agent.

On a cluster where Calico Enterprise/Cloud inspects (its `tigera-dpi` DaemonSet runs), the lab
applies Calico's resources and Calico does the work; its alerts go to Calico's own store, not
to the API, so they cannot be read back here (status.nodes still shows whether it runs). On
any other cluster dpictl's agent DaemonSet (`dpictl agent install`) inspects and writes
DPIAlert Events, which are the lab's alerts. Nothing is installed behind the user's back: a
cluster with neither agent is an error that says which command fixes it.

These are the kubernetes parts of a lab; `dpictl.lab.builders.kubernetes_lab` puts them
together with the backend (backends do not import the lab package). They satisfy the
Protocols of `dpictl.lab.environment`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from dpictl.alerts import Alert
from dpictl.backends.kubernetes.agent_manifests import CALICO_DPI_DAEMONSET
from dpictl.backends.kubernetes.backend import KubernetesBackend
from dpictl.backends.kubernetes.events import read_alerts
from dpictl.errors import ClusterError, NotFound, UsageError

CALICO_DPI = CALICO_DPI_DAEMONSET                      # namespace, DaemonSet name
AGENT_LABEL = "app.kubernetes.io/name=dpictl-agent"


class EventAlerts:
    """The lab's alerts: DPIAlert Events written by dpictl's agent."""

    def __init__(self, backend: KubernetesBackend) -> None:
        self.backend = backend
        self.readable = True

    def alerts(self, since: float) -> list[Alert]:
        if not self.readable:
            return []
        return read_alerts(self.backend, since=since)


def _ready(ds: dict) -> tuple[int, int]:
    status = ds.get("status") or {}
    return int(status.get("numberReady") or 0), int(status.get("desiredNumberScheduled") or 0)


class KubernetesInspection:
    """The DPI DaemonSet of the cluster (Calico's, else dpictl's) as the lab drives it."""

    def __init__(self, backend: KubernetesBackend, alerts: EventAlerts) -> None:
        self.backend = backend
        self.alerts = alerts
        self.provider: str | None = None
        self.daemonset: tuple[str, str] | None = None

    def _find(self) -> tuple[str, tuple[str, str]]:
        try:
            self.backend.get("DaemonSet", CALICO_DPI[0], CALICO_DPI[1])
            return "calico", CALICO_DPI
        except NotFound:
            pass
        ref = self.backend.ref("DaemonSet")
        found = self.backend.objects.list(ref, None, label_selector=AGENT_LABEL)
        if found:
            meta = found[0]["metadata"]
            return "dpictl", (meta["namespace"], meta["name"])
        raise ClusterError("no DPI agent runs on this cluster (neither Calico's tigera-dpi "
                           "nor dpictl's agent DaemonSet)",
                           hint="install it with `dpictl agent install`")

    def start(self, rules: Sequence[Path]) -> None:
        self.provider, self.daemonset = self._find()
        if rules:
            raise UsageError("--rules is not supported with --backend kubernetes: the agent "
                             "DaemonSet runs the rules of its image",
                             hint="run without --rules (built-in rules), or use --backend local")
        # Calico's alerts go to its own log store; only dpictl's agent writes Events.
        self.alerts.readable = self.provider == "dpictl"

    def changed(self) -> None:
        """Nothing to do: the agents watch the API."""

    def wait_ready(self, timeout: float) -> None:
        if self.daemonset is None:
            self.start(())
        ns, name = self.daemonset
        deadline = time.monotonic() + timeout
        while True:
            ready, desired = _ready(self.backend.get("DaemonSet", ns, name)[0])
            if desired and ready >= desired:
                return
            if time.monotonic() >= deadline:
                raise ClusterError(f"DaemonSet {ns}/{name} has {ready}/{desired} pods ready "
                                   f"after {timeout:g}s",
                                   hint=f"see `kubectl -n {ns} describe daemonset {name}`")
            time.sleep(0.5)

    def status(self) -> dict:
        if self.daemonset is None:
            try:
                self.provider, self.daemonset = self._find()
            except ClusterError as exc:
                return {"running": False, "provider": None, "error": str(exc)}
        ns, name = self.daemonset
        try:
            ready, desired = _ready(self.backend.get("DaemonSet", ns, name)[0])
        except NotFound:
            ready, desired = 0, 0
        return {"running": bool(desired) and ready >= desired, "provider": self.provider,
                "daemonset": f"{ns}/{name}", "ready": ready, "desired": desired,
                "alerts_readable": self.alerts.readable}

    def flush_flows(self) -> bool:
        """The agents publish their flow logs every flush interval; none is forced here."""
        return True

    def finish(self, backend, cluster_was_empty: bool) -> list[str]:
        """The lab started nothing on the cluster, so there is nothing to stop."""
        return []


__all__ = ["KubernetesInspection", "EventAlerts"]
