"""One inspection run: packets from a source -> engine -> alerts, stored before anyone sees them.

`dpictl inspect` uses it for pcaps and live interfaces alike; it owns the order that matters
(store, then hand on) and makes sure the engine is flushed even when the source fails half
way, so a truncated pcap still yields the alerts found before the damage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from dpictl.alerts.builder import PACKET_LIMIT, NameLookup, alert_from_detection
from dpictl.alerts.record import Endpoint
from dpictl.alerts.sink import AlertCallback
from dpictl.alerts.store import AlertStore
from dpictl.capture.frame import Frame
from dpictl.engine.contract import InspectionEngine


@dataclass
class InspectionCounts:
    """What one run saw, for the summary line."""

    packets: int = 0
    bytes: int = 0
    alerts: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Inspection:
    """Feeds sources through one engine; every batch of alerts is committed to `store`
    (when given) and then passed to `show`."""

    def __init__(self, engine: InspectionEngine, show: AlertCallback, store: AlertStore | None = None, *,
                 origin: str = "inspect", host: str = "", endpoint: Endpoint | None = None,
                 names: NameLookup | None = None, classifications: Any = None,
                 packet_limit: int = PACKET_LIMIT) -> None:
        self.engine = engine
        self.show = show
        self.store = store
        self.counts = InspectionCounts()
        self._build = dict(origin=origin, host=host, endpoint=endpoint, names=names,
                           packet_limit=packet_limit)
        self._classifications = classifications

    def run(self, source: Iterable[Frame],
            on_packet: Callable[[int], None] | None = None) -> None:
        """Inspect every frame of `source`, then flush the engine. The flush also happens
        when the source raises (truncated file, Ctrl-C), before the error propagates."""
        try:
            for ts, frame, linktype, iface in source:
                self.counts.packets += 1
                self.counts.bytes += len(frame)
                detections = self.engine.feed(ts, frame, linktype, iface)
                if detections:
                    self.emit(detections)
                if on_packet is not None:
                    on_packet(self.counts.packets)
        finally:
            self.emit(self.engine.flush())

    def emit(self, detections: list) -> None:
        """Detections -> alerts, committed to the store, then shown (live workers call this
        for the detections they send back)."""
        if not detections:
            return
        alerts = [alert_from_detection(d, self._classifications, **self._build)
                  for d in detections]
        if self.store is not None:
            alerts = self.store.add(alerts)
        self.counts.alerts += len(alerts)
        self.show(alerts)


__all__ = ["Inspection", "InspectionCounts"]
