"""TLS flows: drive the parser at Suricata's pace and run the ssl_state/ssl_version rules.

In Suricata 7 (IDS mode) a packet first hands the app layer the peer's bytes it
acknowledges, then detection runs for the packet's own direction: its raw stream (the
acknowledged bytes not inspected yet) is inspected once a TLS record of that direction
completed or a chunk's worth waits. Rules with ssl_* keywords are app-layer rules whose
contents are payload contents: they see that chunk only up to where the TLS parser got,
with the TLS state as it is after the packet's ACK, and content and state must hold at the
same time. Suricata 7 inspects the transaction only on a packet where the parser ran since
that direction last looked (a chunk inspected because 2560 bytes of an unfinished record
were acknowledged does not run them). Checked on crafted sessions and on the shared
captures: a `flow:to_server; ssl_state:client_hello; content:...` rule does not match an
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
from dpictl.engine.detect.stream_state import CHUNK_LIMIT, StreamChunks
from dpictl.engine.detect.thresholds import ThresholdTable
from dpictl.engine.packet import TH_ACK, Packet

if TYPE_CHECKING:
    from dpictl.engine.flow_table import Flow


class TlsInspection:
    """One per engine; the per-flow state lives in the flow's `TlsState`.

    Per packet of a TLS flow the engine calls `on_packet` (parse what it acknowledges,
    run the rules without contents), then, when `chunk_due`, inspects the direction's raw
    chunk and hands it to `on_chunk`, then `done`.
    """

    def __init__(self, detector: Detector) -> None:
        self._sigs = detector.tls_sigs
        # `alert tls` rules without ssl_* keywords are packet rules that only run on TLS
        # flows (no transaction: every chunk, as often as they match)
        plain = [s for s in self._sigs if all(c.keyword == "tls" for c in s.tls)]
        self._plain = [s for s in plain if s.chains]
        self._bare = [s for s in self._sigs if not s.chains and s not in plain]
        self._chained = [s for s in self._sigs if s.chains and s not in plain]

    def on_packet(self, pkt: Packet, flow: Flow, to_server: bool,
                  thresholds: ThresholdTable) -> list[Signature]:
        tls: TlsState = flow.app
        if pkt.tcp_flags & TH_ACK:
            tls.ack(not to_server, pkt.ack)
        if not self._bare or not tls.updated[to_server]:
            return []
        return self._run(self._bare, pkt, flow, tls, to_server, None, thresholds)

    @staticmethod
    def chunk_due(flow: Flow, to_server: bool, chunks: StreamChunks) -> bool:
        """Whether this packet has its direction's acknowledged bytes inspected."""
        tls: TlsState = flow.app
        return tls.pop_chunk_trigger(to_server) or chunks.acked[to_server] >= CHUNK_LIMIT

    def on_chunk(self, header: Packet, flow: Flow, to_server: bool, chunk: bytes | None,
                 thresholds: ThresholdTable, at_end: bool = False) -> list[Signature]:
        """The engine inspected `chunk`, the next raw bytes of a direction (None: nothing,
        payload inspection being off). Before the flow's end, only a transaction the
        parser updated is inspected."""
        tls: TlsState = flow.app
        if not chunk:
            return []
        out = self._run(self._plain, header, flow, tls, to_server, chunk, thresholds,
                        once=False) if self._plain else []
        if self._chained and (at_end or tls.updated[to_server]):
            out += self._run(self._chained, header, flow, tls, to_server, chunk, thresholds)
        return out

    @staticmethod
    def done(flow: Flow, to_server: bool) -> None:
        """This direction's rules looked at the transaction (on this packet)."""
        flow.app.updated[to_server] = False

    def end(self, flow: Flow, oriented, thresholds: ThresholdTable) -> list[Signature]:
        """The flow ended: everything sent counts as acknowledged and is parsed; the rules
        without contents get a last look in each direction (client side first)."""
        tls: TlsState = flow.app
        for direction in (True, False):
            tls.ack(direction, None)
        out: list[Signature] = []
        if tls.started and self._bare:
            for direction in (True, False):
                out += self._run(self._bare, oriented(direction), flow, tls, direction, None,
                                 thresholds)
        return out

    @staticmethod
    def _run(sigs: list[Signature], pkt: Packet, flow: Flow, tls: TlsState, to_server: bool,
             data: bytes | None, thresholds: ThresholdTable,
             once: bool = True) -> list[Signature]:
        out: list[Signature] = []
        buffers = {"pkt_data": data, "raw_data": data} if data else None
        for sig in sigs:
            key = (sig.order, to_server)
            if once and key in tls.alerted:
                continue
            if not conditions_ok(sig, pkt, flow, to_server):
                continue
            if not all(cond.holds(tls, to_server) for cond in sig.tls):
                continue
            if buffers is not None and not chains_ok(sig, buffers):
                continue
            if once:
                tls.alerted.add(key)
            if post_match(sig, pkt, flow, thresholds):
                out.append(sig)
        return out


__all__ = ["TlsInspection"]
