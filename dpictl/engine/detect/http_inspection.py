"""HTTP transactions -> app signatures (placeholder until the HTTP parser lands)."""

from __future__ import annotations


class HttpInspection:
    def __init__(self, detector) -> None:
        self._detector = detector

    def feed(self, pkt, flow, to_server, data, thresholds):
        return []

    def finish(self, flow, pkt, thresholds):
        return []
