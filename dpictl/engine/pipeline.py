"""The sans-I/O engine: frames in, detections out.

`Engine.feed()` runs one frame through decode -> flow table -> packet inspection -> TCP
reassembly -> raw-stream and HTTP inspection, and returns what matched. There are no
sockets, threads or clocks here: time is the packet's timestamp, so a pcap replays the
same way every time and live capture is just another caller.

Rules are compiled once (`Engine(rules)`); `fork()` gives another engine that shares the
compiled rules but has its own flows, streams and threshold state, so an agent can run one
engine per monitored interface (a packet crossing two interfaces alerts on both) without
compiling the rule set again.
"""

from __future__ import annotations

from dpictl.engine.decode import Decoder
from dpictl.engine.detect.alert_filter import AlertFilter
from dpictl.engine.detect import CompiledRules, RuleProblem, compile_rules
from dpictl.engine.detect.header import AddressMatcher
from dpictl.engine.app.layer import APP_TLS
from dpictl.engine.detect.app_inspection import AppLayerInspection
from dpictl.engine.detect.tls_inspection import TlsInspection
from dpictl.engine.detect.signature import Signature
from dpictl.engine.detect.stream_state import CHUNK_LIMIT, UNACKED_LIMIT, StreamChunks
from dpictl.engine.detect.thresholds import ThresholdTable
from dpictl.engine.flow_packets import DEFAULT_BUDGET, DEFAULT_DEPTH, FlowPacketBuffer
from dpictl.engine.flow_table import Flow, FlowTable
from dpictl.engine.packet import PROTO_TCP, PROTO_UDP, TH_ACK, TH_SYN, Detection, Packet
from dpictl.rules.ast import AddressSpec, Rule
from dpictl.rules.threshold_config import ThresholdConfig


class Engine:
    """Compile `rules` once; `feed()` frames; `flush()` at end of input.

    `home_net`: CIDRs; when given, packets with neither address inside are not inspected
    (rule variables such as $HOME_NET are expanded by the rule loader, not here).
    `midstream`: track TCP flows picked up without their handshake (Suricata's
    `stream.midstream`; off by default, as in the oracle).
    `compiled`: `rules` already compiled (`dpictl.engine.rule_cache.load_compiled`).
    `flow_packets`: how many of each flow's last packets are kept for the alerts' context
    (0: none), within `flow_packet_budget` bytes (`dpictl.engine.flow_packets`). Forks share
    the buffer, so the bound holds per process.
    """

    def __init__(self, rules: list[Rule], *, home_net: list[str] | None = None,
                 midstream: bool = False, threshold_config: ThresholdConfig | None = None,
                 compiled: CompiledRules | None = None, flow_packets: int = DEFAULT_DEPTH,
                 flow_packet_budget: int = DEFAULT_BUDGET) -> None:
        # threshold.config (suppress, event/rate filters) acts on what the rules detected
        self._alert_filter = AlertFilter(threshold_config) if threshold_config else None
        if self._alert_filter is not None:
            stripped = self._alert_filter.strip_overridden(list(rules))
            if any(len(a.options) != len(b.options) for a, b in zip(stripped, rules)):
                # a sid-specific entry replaces the rule's own threshold: compiled rules
                # (from the cache) still carry it, so these rules are compiled as stripped
                rules, compiled = stripped, None
        self._compiled = compiled if compiled is not None else compile_rules(list(rules))
        self._rules = rules
        self._home_net = home_net
        self._home = (AddressMatcher(AddressSpec(any=False, include=tuple(home_net)))
                      if home_net else None)
        self._midstream = midstream
        self._detector = self._compiled.detector
        self._decoder = Decoder()
        self._flows = FlowTable(midstream=midstream)
        self._kept = (FlowPacketBuffer(flow_packets, budget=flow_packet_budget)
                      if flow_packets > 0 else None)
        self._thresholds = ThresholdTable()
        self._chunks: dict[int, StreamChunks] = {}
        self._http = AppLayerInspection(self._detector)
        self._udp_app = self._http.inspects_udp       # DCE/RPC over UDP
        self._tls = TlsInspection(self._detector)
        self._num = 0
        self._counters: dict[str, int] = {
            "packets": 0, "bytes": 0, "decoder_exceptions": 0, "inspect_errors": 0,
            "not_inspected": 0,
            "alerts": 0, "stream_chunks": 0, "outside_home_net": 0,
            "rules_loaded": self._compiled.loaded, "rules_dropped": self._compiled.dropped,
        }

    # -- public API -------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, int]:
        """Counters: packets, bytes, decode_errors, alerts, stream_chunks, rules_loaded,
        rules_dropped..., plus the decoder's (`decode.*`) and flow table's (`flows.*`)."""
        out = dict(self._counters)
        dec = self._decoder.stats
        out["decode_errors"] = (out["decoder_exceptions"] + dec.get("truncated", 0)
                                + dec.get("malformed", 0) + dec.get("internal_errors", 0))
        out.update({f"decode.{k}": v for k, v in dec.items()})
        out.update({f"flows.{k}": v for k, v in self._flows.stats.items()})
        out["flows.active"] = len(self._flows)
        if self._kept is not None:
            kept = self._kept
            out["flow_packets.bytes"] = kept.used
            out["flow_packets.flows"] = len(kept)
            out.update({f"flow_packets.{k}": v for k, v in kept.stats.items()})
        return out

    @property
    def rule_report(self) -> list[RuleProblem]:
        """Per-rule load-time findings; each unpacks as (gid, sid, reason)."""
        return self._compiled.report

    def fork(self) -> Engine:
        """A fresh engine (flows, streams, thresholds) sharing the compiled rules."""
        twin = Engine(self._rules, home_net=self._home_net, midstream=self._midstream,
                      threshold_config=self._alert_filter.config if self._alert_filter else None,
                      compiled=self._compiled, flow_packets=0)
        twin._kept = self._kept
        return twin

    def feed(self, ts: float, frame: bytes, linktype: int,
             iface: str | None = None) -> list[Detection]:
        self._num += 1
        stats = self._counters
        stats["packets"] += 1
        stats["bytes"] += len(frame)
        try:
            # usually one packet; an IP fragment then its datagram, or a tunnel's outer
            # packet then the inner one, are inspected in turn as Suricata does (decoder.py)
            packets = self._decoder.decode_all(ts, frame, linktype, iface, self._num)
        except Exception:  # a decoder bug must not stop a capture: count it
            packets = []
            stats["decoder_exceptions"] += 1
        out: list[Detection] = []
        for pkt in packets:
            if not pkt.ip_proto:
                continue
            if self._home is not None and not (self._home.match(pkt.src)
                                               or self._home.match(pkt.dst)):
                stats["outside_home_net"] += 1
                continue
            try:
                self._inspect(pkt, out)
            except Exception:  # noqa: BLE001 - one bad packet must not end a long capture
                stats["inspect_errors"] += 1
        if not packets or not packets[-1].ip_proto:
            stats["not_inspected"] += 1     # not IP, malformed, or a datagram still held back
        if out and self._alert_filter is not None:
            out = self._alert_filter.apply(out)
        stats["alerts"] += len(out)
        return out

    def _inspect(self, pkt: Packet, out: list[Detection]) -> None:
        # a fragment as received belongs to no flow (Suricata sets flows up from L4 headers)
        flow, to_server = (None, False) if pkt.is_fragment else self._flows.lookup(pkt)
        if not flow:
            flow, to_server_opt = None, None
        else:
            to_server_opt = to_server
        # Suricata (detect.c, DetectEngineInspectRulePayloadMatches): a segment added to a
        # tracked TCP stream is inspected as stream data, not as a packet, except by
        # signatures that need the packet (dsize, flow:no_stream, content with depth/offset)
        # (a segment the stream refuses - before the handshake completed, past the
        # reassembly depth - is inspected as a packet, as Suricata does without
        # PKT_STREAM_ADD)
        stream_added = False
        payload = pkt.payload
        if payload and flow is not None and flow.app_proto == APP_TLS and flow.app.no_inspection:
            payload = b""      # TLS application data seen: Suricata inspects no more payload
        if payload and flow is not None:
            if flow.streams is not None:
                stream = flow.streams[to_server]
                stream_added = not (stream.closed or stream.depth_reached)
            else:   # a TCP Fast Open SYN: its data goes to the stream (flow_table.py)
                stream_added = flow.syn_data is not None and pkt.tcp_flags & TH_SYN != 0
        matched = self._detector.inspect_packet(pkt, payload, flow, to_server_opt,
                                                self._thresholds, stream_added=stream_added)
        if matched:
            for sig in matched:
                out.append(self._detection(sig, pkt, flow, to_server_opt))
        if flow is not None:
            if pkt.ip_proto == PROTO_TCP:
                self._tcp(pkt, flow, to_server, out)
            elif pkt.payload and self._udp_app and pkt.ip_proto == PROTO_UDP:
                for sig in self._http.feed_datagram(pkt, _Oriented(flow, pkt), flow, to_server,
                                                    self._thresholds):
                    out.append(self._detection(sig, pkt, flow, to_server))
            # kept after this packet's detections, which take the packets before it
            if self._kept is not None:
                self._kept.keep(flow, pkt.ts, pkt.frame, pkt.linktype)
        if self._flows.evicted:
            for gone in self._flows.pop_evicted():
                self._finish_flow(gone, None, out)

    def flush(self) -> list[Detection]:
        """End of input: inspect what every stream still holds, then forget all flows."""
        out: list[Detection] = []
        for flow in self._flows.drain():
            self._finish_flow(flow, None, out)
        if out and self._alert_filter is not None:
            out = self._alert_filter.apply(out)
        self._counters["alerts"] += len(out)
        return out

    # -- TCP: raw stream and HTTP -----------------------------------------------------
    def _tcp(self, pkt: Packet, flow: Flow, to_server: bool, out: list[Detection]) -> None:
        streams = flow.streams
        if streams is None:
            return
        chunks = self._chunks.get(flow.flow_id)
        if chunks is None:
            chunks = self._chunks[flow.flow_id] = StreamChunks(pkt.iface)
        tls = flow.app_proto == APP_TLS
        # this packet acknowledges the other direction: inspect it once a chunk is covered
        # (TLS flows: by the next packet of that direction, below, as Suricata does)
        if pkt.tcp_flags & TH_ACK and chunks.pending[not to_server]:
            if chunks.ack(not to_server, pkt.ack) >= CHUNK_LIMIT and not tls:
                self._inspect_chunk(pkt, flow, not to_server, chunks, out, acked_only=True)
        if flow.syn_data is not None and flow.established and not streams[True].closed:
            # the session is established: the Fast Open SYN's data opens the client's stream
            # (inspected as established, as Suricata does, not on the handshake's last ACK;
            # alerts carry the client's side, whichever packet came first)
            seq, syn_data = flow.syn_data
            flow.syn_data = None
            self._stream_data(_flow_packet(flow, True, like=pkt), flow, True,
                              streams[True].add_segment(seq, syn_data), chunks, out)
        if tls:
            self._tls_packet(pkt, flow, to_server, chunks, out)
        if not pkt.payload:
            return
        self._stream_data(pkt, flow, to_server, streams[to_server].add(pkt), chunks, out)

    def _stream_data(self, pkt: Packet, flow: Flow, to_server: bool, data: bytes,
                     chunks: StreamChunks, out: list[Detection]) -> None:
        """New in-order bytes of one direction: to HTTP and to raw stream inspection."""
        stream = flow.streams[to_server]
        if data:
            waiting = chunks.add(to_server, data, stream.next_seq)
            if self._http.active:
                oriented = _Oriented(flow, pkt)
                for sig in self._http.feed(pkt, oriented, flow, to_server, data,
                                           self._thresholds, stream.holes):
                    out.append(self._detection(sig, pkt, flow, to_server))
                # a completed HTTP message triggers raw inspection (Suricata's
                # AppLayerParserTriggerRawStreamReassembly)
                if self._http.raw_triggers:
                    for direction in self._http.pop_raw_triggers():
                        self._inspect_chunk(pkt, flow, direction, chunks, out)
            if waiting >= UNACKED_LIMIT:
                data = self._inspect_chunk(pkt, flow, to_server, chunks, out)
                if flow.app_proto == APP_TLS:
                    for sig in self._tls.on_chunk(pkt, flow, to_server, data, self._thresholds):
                        out.append(self._detection(sig, pkt, flow, to_server))

    def _tls_packet(self, pkt: Packet, flow: Flow, to_server: bool, chunks: StreamChunks,
                    out: list[Detection]) -> None:
        """TLS: parse what the packet acknowledges, then (a record of this direction
        completed, or a chunk's worth is acknowledged) inspect this direction's raw stream,
        with the ssl_* rules on the part the parser reached."""
        found = self._tls.on_packet(pkt, flow, to_server, self._thresholds)
        if chunks.pending[to_server] and self._tls.chunk_due(flow, to_server, chunks):
            data = self._inspect_chunk(pkt, flow, to_server, chunks, out, acked_only=True)
            found += self._tls.on_chunk(pkt, flow, to_server, data, self._thresholds)
        self._tls.done(flow, to_server)
        for sig in found:
            out.append(self._detection(sig, pkt, flow, to_server))

    def _inspect_chunk(self, pkt: Packet, flow: Flow, direction: bool, chunks: StreamChunks,
                       out: list[Detection], acked_only: bool = False) -> bytes | None:
        """Inspect the waiting (or acknowledged) raw bytes of a direction; returns them."""
        taken = chunks.take(direction, acked_only)
        if taken is None or flow.app_proto == APP_TLS and flow.app.no_inspection:
            return None
        data = taken
        self._counters["stream_chunks"] += 1
        header = _flow_packet(flow, direction, like=pkt)
        for sig in self._detector.inspect_packet(header, data, flow, direction,
                                                 self._thresholds, stream=True):
            out.append(self._detection(sig, pkt, flow, _direction(flow, pkt)))
        return data

    def _finish_flow(self, flow: Flow, pkt: Packet | None, out: list[Detection]) -> None:
        try:
            self._finish_streams(flow, pkt, out)
        finally:
            if self._kept is not None:
                self._kept.release(flow)

    def _finish_streams(self, flow: Flow, pkt: Packet | None, out: list[Detection]) -> None:
        chunks = self._chunks.pop(flow.flow_id, None)
        if flow.streams is None:
            return
        # the flow's end has no packet of its own (Suricata: a pseudo packet): alert with
        # the flow's addresses, its last timestamp and the interface it was seen on
        iface = chunks.iface if chunks is not None else None
        last = pkt if pkt is not None else _flow_packet(flow, True, iface=iface)
        tls = flow.app_proto == APP_TLS
        if tls:      # the app layer sees the rest of the flow before the raw stream does
            for sig in self._tls.end(flow, _Oriented(flow, last), self._thresholds):
                out.append(self._detection(sig, last, flow, _direction(flow, last)))
        for direction in (True, False):
            # Only raw inspection sees what the stream still held: handing it to HTTP here
            # (after a hole) lost a file_data match Suricata makes (SID 23621, ultra_lab).
            rest = flow.streams[direction].flush()
            if chunks is not None:
                if rest:
                    chunks.add(direction, rest)
                data = self._inspect_chunk(last, flow, direction, chunks, out)
                if tls:
                    header = _flow_packet(flow, direction, like=last)
                    for sig in self._tls.on_chunk(header, flow, direction, data,
                                                  self._thresholds, at_end=True):
                        out.append(self._detection(sig, last, flow, _direction(flow, last)))
        if self._http.active:
            for sig in self._http.finish(flow, _Oriented(flow, last), last.ts,
                                         self._thresholds):
                out.append(self._detection(sig, last, flow, _direction(flow, last)))

    def _detection(self, sig: Signature, pkt: Packet, flow: Flow | None,
                   to_server: bool | None) -> Detection:
        return Detection(
            ts=pkt.ts, rule=sig.rule, src_ip=pkt.src, src_port=pkt.sport, dst_ip=pkt.dst,
            dst_port=pkt.dport, proto=pkt.proto_name, iface=pkt.iface, pkt_num=pkt.num,
            app_proto=flow.app_proto if flow is not None else None, to_server=to_server,
            flow_id=flow.flow_id if flow is not None else 0, frame=pkt.frame,
            linktype=pkt.linktype,
            context=self._kept.before(flow) if flow is not None and self._kept is not None
            else ())


def _direction(flow: Flow, pkt: Packet) -> bool:
    return pkt.src == flow.client and pkt.sport == flow.client_port


class _Oriented:
    """Builds, on demand and once per direction, the header packet of one flow direction."""

    __slots__ = ("_flow", "_pkt", "_cache")

    def __init__(self, flow: Flow, pkt: Packet) -> None:
        self._flow = flow
        self._pkt = pkt
        self._cache: dict[bool, Packet] = {}

    def __call__(self, to_server: bool) -> Packet:
        hit = self._cache.get(to_server)
        if hit is None:
            hit = self._cache[to_server] = _flow_packet(self._flow, to_server, like=self._pkt)
        return hit


def _flow_packet(flow: Flow, to_server: bool, like: Packet | None = None,
                 iface: str | None = None) -> Packet:
    """A header-only packet in one direction of `flow` (for rule header/flow checks)."""
    if to_server:
        src, sport, dst, dport = flow.client, flow.client_port, flow.server, flow.server_port
    else:
        src, sport, dst, dport = flow.server, flow.server_port, flow.client, flow.client_port
    base = like
    return Packet(ts=base.ts if base else flow.last_ts, iface=base.iface if base else iface,
                  num=base.num if base else 0, ip_version=6 if ":" in src else 4, src=src,
                  dst=dst, ip_proto=flow.proto, sport=sport, dport=dport,
                  ttl=base.ttl if base else 0)


__all__ = ["Engine"]
