"""TLS flows: drive the parser at Suricata's pace and run the ssl_state/ssl_version rules.

In Suricata 7 (IDS mode) a packet first hands the app layer the peer's bytes it
acknowledges, then detection runs for the packet's own direction: rules with ssl_* keywords
(app-layer rules whose contents are payload contents) see that direction's raw stream, the
acknowledged bytes not inspected yet, once a TLS record of that direction completed or a
chunk's worth waits, and the TLS state as it is after the ACK. Checked on crafted
sessions: a `flow:to_server; ssl_state:client_hello; content:...` rule does not match an
ordinary handshake, because by the next client packet the server's hello was parsed.

Each such rule alerts at most once per flow direction (TLS has a single transaction; once
a signature fully matched it, it is not inspected again). After application data the flow's
payload is not inspected at all (`TlsState.no_inspection`), which the engine applies to
every rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dpictl.engine.app.tls import TlsState
from dpictl.engine.detect.detector import Detector
from dpictl.engine.detect.matcher import chains_ok, conditions_ok, post_match
from dpictl.engine.detect.signature import Signature
from dpictl.engine.detect.stream_state import CHUNK_LIMIT
from dpictl.engine.detect.thresholds import ThresholdTable
from dpictl.engine.packet import TH_ACK, Packet

if TYPE_CHECKING:
    from dpictl.engine.flow_table import Flow


class TlsInspection:
    """One per engine; the per-flow state lives in the flow's `TlsState`."""

    def __init__(self, detector: Detector) -> None:
        self._sigs = detector.tls_sigs

    def on_packet(self, pkt: Packet, flow: Flow, to_server: bool,
                  thresholds: ThresholdTable) -> list[Signature]:
        """A packet of a TLS flow, before its own payload is reassembled."""
        tls: TlsState = flow.app
        if pkt.tcp_flags & TH_ACK:
            tls.ack(not to_server, pkt.ack)
        if tls.no_inspection:
            tls.take_raw(True), tls.take_raw(False)
            return self._inspect(pkt, flow, tls, to_server, None, thresholds)
        if not tls.started:
            return []          # Suricata knows the flow is TLS once the first bytes are acked
        data = tls.take_raw(to_server) if tls.raw_ready(to_server, CHUNK_LIMIT) else None
        return self._inspect(pkt, flow, tls, to_server, data, thresholds)

    def finish(self, flow: Flow, last: Packet, oriented,
               thresholds: ThresholdTable) -> list[Signature]:
        """The flow ended: everything sent counts as acknowledged, then the rest is
        inspected (client side first). `oriented(to_server)` gives a header packet."""
        tls: TlsState = flow.app
        out: list[Signature] = []
        for direction in (True, False):
            tls.ack(direction, None)
        for direction in (True, False):
            data = tls.take_raw(direction)
            if tls.started:
                out += self._inspect(oriented(direction), flow, tls, direction,
                                     data if data and not tls.no_inspection else None,
                                     thresholds)
        return out

    def _inspect(self, pkt: Packet, flow: Flow, tls: TlsState, to_server: bool,
                 data: bytes | None, thresholds: ThresholdTable) -> list[Signature]:
        """Rules with contents need `data` (a raw chunk); the others run on every packet."""
        out: list[Signature] = []
        if not self._sigs:
            return out
        buffers = {"pkt_data": data, "raw_data": data} if data else None
        for sig in self._sigs:
            key = (sig.order, to_server)
            if key in tls.alerted or sig.chains and buffers is None:
                continue
            if not conditions_ok(sig, pkt, flow, to_server):
                continue
            if not all(cond.holds(tls, to_server) for cond in sig.tls):
                continue
            if sig.chains and not chains_ok(sig, buffers):
                continue
            tls.alerted.add(key)
            if post_match(sig, pkt, flow, thresholds):
                out.append(sig)
        return out


__all__ = ["TlsInspection"]
