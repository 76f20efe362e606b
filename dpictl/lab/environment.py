"""Where a lab runs: a backend, where its alerts can be read, and how inspection is started.

The runner only talks to these three, so the same scenario runs on the local netns cluster
and on Kubernetes; each backend supplies its own `LabEnvironment` (local: `local_lab()`;
kubernetes: `dpictl.backends.kubernetes.lab.kubernetes_lab`, provided by that backend).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from dpictl.alerts.record import Alert
from dpictl.backends.base import Backend
from dpictl.errors import UsageError


class AlertsSource(Protocol):
    def alerts(self, since: float) -> list[Alert]:
        """Alerts raised at or after `since` (unix seconds), oldest first."""


class InspectionControl(Protocol):
    """The DPI agent as a lab drives it."""

    def start(self, rules: Sequence[Path]) -> None:
        """Make inspection run with these rule files ([] = built-in rules)."""

    def changed(self) -> None:
        """A DPI-relevant object was applied: reconcile now rather than within a second."""

    def wait_ready(self, timeout: float) -> None:
        """Until the agent runs the rules given to start(); raises ClusterError on timeout."""

    def status(self) -> dict: ...

    def finish(self, backend: Backend, cluster_was_empty: bool) -> list[str]:
        """After the scenario's objects are deleted: stop what the lab started."""


@dataclass
class LabEnvironment:
    backend: Backend
    alerts: AlertsSource
    inspection: InspectionControl

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()


def open_lab(backend: str, *, db: Path | None = None, kubeconfig: Path | None = None,
             context: str | None = None) -> LabEnvironment:
    """The composition root for lab environments."""
    if backend == "local":
        from dpictl.lab.local_environment import local_lab

        return local_lab(db)
    if backend == "kubernetes":
        try:
            from dpictl.backends.kubernetes.lab import kubernetes_lab  # type: ignore
        except ImportError:
            raise UsageError("the kubernetes backend cannot run labs in this build",
                             hint="use --backend local") from None
        return kubernetes_lab(kubeconfig=kubeconfig, context=context, db=db)
    raise UsageError(f"unknown backend {backend!r}", hint="use local or kubernetes")


__all__ = ["AlertsSource", "InspectionControl", "LabEnvironment", "open_lab"]
