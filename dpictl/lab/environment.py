"""Where a lab runs, as the runner sees it: a backend, its alerts, and the inspection.

Only Protocols: the runner and `lab status` talk to these, so the same scenario runs on the
local netns cluster and on Kubernetes. This module imports nothing of the backends, so every
backend's parts can satisfy it without an import cycle; `dpictl.lab.builders` puts the parts
of each backend together (`open_lab`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

if TYPE_CHECKING:
    from dpictl.alerts.record import Alert
    from dpictl.backends.base import Backend


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

    def flush_flows(self) -> bool:
        """Have the agent write its pending flow logs now (run-lab's end, before checks);
        False when it did not (the report says so)."""

    def finish(self, backend: Backend, cluster_was_empty: bool) -> list[str]:
        """After the scenario's objects are deleted: stop what the lab started."""


class LabEnvironment(Protocol):
    """A backend with its alerts and its inspection; `close()` releases the backend."""

    backend: Backend
    alerts: AlertsSource
    inspection: InspectionControl

    def close(self) -> None: ...


__all__ = ["AlertsSource", "InspectionControl", "LabEnvironment"]
