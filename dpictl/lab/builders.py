"""The one home of the lab builders: each backend's alerts and inspection, put together.

`open_lab` opens the backend through `dpictl.backends.open_backend` (the one place that
picks a backend by name) and adds the parts that backend's labs use: on the local netns
cluster the SQLite alert store and the supervised agent daemon, on Kubernetes the DPIAlert
Events and the cluster's DPI DaemonSet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from dpictl.backends import open_backend
from dpictl.lab.environment import AlertsSource, InspectionControl

if TYPE_CHECKING:
    from dpictl.backends.base import Backend
    from dpictl.backends.kubernetes import KubernetesBackend
    from dpictl.backends.local import LocalBackend


@dataclass
class Lab:
    """A `LabEnvironment`."""

    backend: Backend
    alerts: AlertsSource
    inspection: InspectionControl

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()


def local_lab(backend: LocalBackend) -> Lab:
    from dpictl.lab.local_environment import LocalInspection, StoreAlerts

    return Lab(backend=backend, alerts=StoreAlerts(backend.db_path),
               inspection=LocalInspection(backend.db_path))


def kubernetes_lab(backend: KubernetesBackend) -> Lab:
    from dpictl.backends.kubernetes.lab import EventAlerts, KubernetesInspection

    alerts = EventAlerts(backend)
    return Lab(backend=backend, alerts=alerts,
               inspection=KubernetesInspection(backend, alerts))


BUILDERS: dict[str, Callable[[Any], Lab]] = {"local": local_lab, "kubernetes": kubernetes_lab}


def open_lab(backend: str, *, db: Path | None = None, kubeconfig: Path | None = None,
             context: str | None = None) -> Lab:
    """The lab environment on the named backend."""
    opened = open_backend(backend, db=db, kubeconfig=kubeconfig, context=context)
    return BUILDERS[opened.name](opened)


__all__ = ["Lab", "open_lab", "local_lab", "kubernetes_lab"]
