"""App-layer inspection: HTTP transactions and SMTP parts -> app signatures, driven by the
app layer's events.

The app layer (`dpictl.engine.app.AppLayer`) turns each flow's in-order bytes into HTTP
events. Like Suricata, which runs a transaction's inspection engines as the transaction
progresses, we run a side's header signatures once its headers are complete and its body
signatures (http_client_body, file_data) once the message is complete; each signature runs
at most once per transaction side. Header and flow checks see a packet oriented in the
side's direction (client->server for the request), so `$HTTP_PORTS` and `flow:to_server`
mean what the rule author meant whichever packet completed the data; the alert itself
carries the packet that completed it, as Suricata's does.

The app layer also parses SMTP; its events (decoded MIME parts) go to `SmtpInspection`;
DCE/RPC calls (over TCP or SMB pipes) go to `DceInspection`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dpictl.engine.app import AppLayer, SmtpEvent
from dpictl.engine.app.dcerpc import DceEvent
from dpictl.engine.detect.dce_inspection import DceInspection
from dpictl.engine.detect.detector import REQUEST, RESPONSE, Detector
from dpictl.engine.detect.signature import Signature
from dpictl.engine.detect.smtp_inspection import SmtpInspection
from dpictl.engine.detect.thresholds import ThresholdTable
from dpictl.engine.http import (REQUEST_DONE, REQUEST_HEADERS, RESPONSE_DONE, RESPONSE_HEADERS,
                                HttpTransaction)
from dpictl.engine.packet import Packet

if TYPE_CHECKING:
    from dpictl.engine.flow_table import Flow

_EVENTS = {REQUEST_HEADERS: (REQUEST, False), REQUEST_DONE: (REQUEST, True),
           RESPONSE_HEADERS: (RESPONSE, False), RESPONSE_DONE: (RESPONSE, True)}


_PAYLOAD = frozenset({"pkt_data", "raw_data"})


class _SideBuffers:
    """A transaction side seen as the `buffers` / `fields` mappings the matcher reads.

    A Snort 2 HTTP rule may mix plain contents (pkt_data) with http_* ones; Suricata checks
    the plain part against the payload carrying the message. Here it is the message as it
    went on the wire: start line, raw header block and body.
    """

    __slots__ = ("_tx", "_to_server", "_payload")

    def __init__(self, tx: HttpTransaction, to_server: bool) -> None:
        self._tx = tx
        self._to_server = to_server
        self._payload: bytes | None = None

    def get(self, name: str, default=None):
        if name in _PAYLOAD:
            if self._payload is None:
                self._payload = self._message()
            return self._payload
        value = self._tx.get(name, self._to_server)
        return default if value is None else value

    def _message(self) -> bytes:
        tx, to_server = self._tx, self._to_server
        line = tx.get("http_raw_request" if to_server else "http_raw_status", to_server) or b""
        headers = tx.get("http_raw_header", to_server) or b""
        body = tx.get("http_raw_body", to_server) or b""
        return b"".join((line, b"\r\n", headers, body))


class _SideFields(_SideBuffers):
    __slots__ = ()

    def get(self, name: str, default=None):
        value = self._tx.field(name, self._to_server)
        return default if value is None else value


class AppLayerInspection:
    """One per engine; per-transaction bookkeeping is keyed by (flow id, tx id, side)."""

    def __init__(self, detector: Detector) -> None:
        self._detector = detector
        self._app = AppLayer(dce=bool(detector.dce_signatures))
        self._smtp = SmtpInspection(detector)
        self._dce = DceInspection(detector.dce_signatures, detector.dce_big_endian)
        # flow id -> (tx id, side) -> orders of the signatures already run on that side:
        # keyed by flow first so a flow's end forgets its entries without a table scan
        self._done: dict[int, dict[tuple[int, int], set[int]]] = {}
        # TLS rules need the app layer too (it recognises TLS flows)
        self.active = detector.app_count > 0 or bool(detector.tls_sigs)
        # directions whose HTTP message completed, waiting for pop_raw_triggers()
        self.raw_triggers: list[bool] = []

    def pop_raw_triggers(self) -> list[bool]:
        """Directions whose HTTP message completed since the last call."""
        out, self.raw_triggers = self.raw_triggers, []
        return out

    def feed(self, pkt: Packet, oriented, flow: Flow, to_server: bool, data: bytes,
             thresholds: ThresholdTable, holes=()) -> list[Signature]:
        """Feed in-order bytes; `oriented(to_server)` gives a header packet per side.

        `holes` are the reassembler's skipped gaps inside `data`: without them a segment lost
        inside a body would shift every later message of the connection (seen on ec-rig_ek).
        """
        events = self._app.feed(flow, data, to_server, pkt.ts, holes)
        return self._inspect(events, oriented, flow, thresholds) if events else []

    @property
    def inspects_udp(self) -> bool:
        """DCE/RPC signatures for UDP exist: UDP payloads go to `feed_datagram`."""
        return self._dce.udp

    def feed_datagram(self, pkt: Packet, oriented, flow: Flow, to_server: bool,
                      thresholds: ThresholdTable) -> list[Signature]:
        """A UDP payload (DCE/RPC over UDP is the only datagram protocol parsed)."""
        return self._dce.feed_datagram(flow, pkt.payload, to_server, oriented, thresholds)

    def finish(self, flow: Flow, oriented, ts: float, thresholds: ThresholdTable) -> list[Signature]:
        events = self._app.finish(flow, ts)
        out = self._inspect(events, oriented, flow, thresholds) if events else []
        self._done.pop(flow.flow_id, None)
        self._smtp.forget(flow.flow_id)
        return out

    def _inspect(self, events, oriented, flow: Flow, thresholds: ThresholdTable) -> list[Signature]:
        out: list[Signature] = []
        if not self.active:
            return out
        for event in events:
            if isinstance(event, SmtpEvent):
                out += self._smtp.inspect(event, oriented, flow, thresholds)
                continue
            if isinstance(event, DceEvent):
                out += self._dce.inspect(event, oriented, flow, thresholds)
                continue
            step = _EVENTS.get(event.kind)
            if step is None:
                continue
            side, body = step
            if body:
                self.raw_triggers.append(side == REQUEST)
            tx = event.tx
            side_to_server = side == REQUEST
            key = (tx.tx_id, side)
            flow_done = self._done.get(flow.flow_id)
            if flow_done is None:
                flow_done = self._done[flow.flow_id] = {}
            done = flow_done.get(key)
            if done is None:
                done = flow_done[key] = set()
            out += self._detector.inspect_app(
                oriented(side_to_server), flow, side, body, _SideBuffers(tx, side_to_server),
                _SideFields(tx, side_to_server), thresholds, done)
            if body and side == RESPONSE:
                flow_done.pop((tx.tx_id, REQUEST), None)
                flow_done.pop(key, None)
        return out


__all__ = ["AppLayerInspection"]
