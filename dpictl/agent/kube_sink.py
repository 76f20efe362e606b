"""The agent's AlertSink on Kubernetes: an EVE line on stdout and a DPIAlert Event per alert.

The EVE line goes first: the container log is durable as soon as it is written and any log
shipper reads EVE. The Event is what `kubectl describe pod` and `dpictl alerts list --backend
kubernetes` see. When the API server cannot be reached the alerts are kept (up to
`max_pending`) and sent with the next batch, so a restart of the API server loses nothing.
"""

from __future__ import annotations

import logging
from typing import Sequence, TextIO

from dpictl.alerts import Alert, eve_line
from dpictl.backends.kubernetes.events import publish_alerts
from dpictl.errors import DpictlError

log = logging.getLogger(__name__)

MAX_PENDING = 10_000


class KubeSink:
    """Publishes alerts as Kubernetes Events (and EVE lines on `eve_out` when given)."""

    def __init__(self, backend, eve_out: TextIO | None = None,
                 max_pending: int = MAX_PENDING) -> None:
        self.backend = backend
        self.eve_out = eve_out
        self.max_pending = max_pending
        self._pending: list[Alert] = []
        self.published = 0
        self.dropped = 0

    def add(self, alerts: Sequence[Alert]) -> list[Alert]:
        alerts = list(alerts)
        if self.eve_out is not None:
            for alert in alerts:
                self.eve_out.write(eve_line(alert) + "\n")
            self.eve_out.flush()
        batch = self._pending + alerts
        try:
            self.published += publish_alerts(self.backend, batch)
            self._pending = []
        except DpictlError as exc:
            overflow = max(len(batch) - self.max_pending, 0)
            self.dropped += overflow
            self._pending = batch[overflow:]
            log.warning("could not publish %d alert(s) as Events (kept %d for retry, "
                        "dropped %d): %s", len(batch), len(self._pending), overflow, exc)
        return alerts

    @property
    def pending(self) -> int:
        return len(self._pending)


__all__ = ["KubeSink"]
