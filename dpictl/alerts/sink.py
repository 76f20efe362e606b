"""`AlertSink`: where alerts go to stay (the SQLite store, Kubernetes Events, a test list).

One name for one thing: a sink makes alerts durable. Showing them (a table, EVE lines) is a
plain callback, `AlertCallback`, called only after the sink has them.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence, runtime_checkable

from dpictl.alerts.record import Alert

AlertCallback = Callable[[list[Alert]], None]


@runtime_checkable
class AlertSink(Protocol):
    """`add` must have made the alerts durable when it returns."""

    def add(self, alerts: Sequence[Alert]) -> Any: ...


__all__ = ["AlertSink", "AlertCallback"]
