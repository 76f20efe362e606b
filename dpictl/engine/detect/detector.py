"""The compiled rule set: signatures grouped so that most packets touch few of them.

Packet signatures are grouped by IP protocol (tcp, udp, icmp, other); each group has a
prefilter over its fast patterns and a short list of signatures without one (flags,
itype, dsize-only rules...). The latter are filtered by port once per (proto, sport,
dport) and cached, so an empty TCP ACK — the most common packet — costs a dict lookup.
Application signatures (HTTP buffers) have one prefilter per buffer name.

Every prefilter database is built in the constructor, never on a packet: a lazy build
stalled the first packet of each kind for up to a second; start-up cost is paid once, and
the on-disk rule cache (`dpictl.engine.rule_cache`) makes it cheap on the next start.
`Detector` is immutable after construction and shared by forked engines; per-engine
state (thresholds, flows) lives elsewhere.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Iterable, Mapping

from dpictl.engine.detect.dce_inspection import big_endian_variant
from dpictl.engine.detect.matcher import (chains_ok, conditions_ok, header_ok, post_match)
from dpictl.engine.detect.prefilter import Prefilter
from dpictl.engine.detect.signature import KIND_APP, PACKET_BUFFERS, Signature, itype_of
from dpictl.engine.detect.thresholds import ThresholdTable
from dpictl.engine.packet import Packet

if TYPE_CHECKING:
    from dpictl.engine.flow_table import Flow

_PROTO_CLASSES = (6, 17, 1, 58, 0)   # 0: any other IP protocol
_PORT_CACHE_MAX = 65536

# Which app buffers belong to which side of an HTTP transaction.
RESPONSE_BUFFERS = frozenset({"http_stat_code", "http_stat_msg", "http_raw_status"})
REQUEST_BUFFERS = frozenset({"http_uri", "http_raw_uri", "http_method", "http_client_body",
                             "http_raw_request", "http_param", "http_true_ip"})
REQUEST, RESPONSE = 1, 2


class _Group:
    """Signatures that can see one kind of buffer, with their prefilters (built at start-up).

    Fast patterns whose match must end within the first bytes of the buffer (content with
    depth) get a prefilter of their own that scans only those bytes: a 64 KB segment costs
    no more than its first few hundred bytes for them.
    """

    __slots__ = ("sigs", "fp_sigs", "nofp", "nofp_chained", "icmp",
                 "_patterns", "_prefilter", "_short", "_port_cache")

    def __init__(self, icmp: bool = False) -> None:
        self.icmp = icmp          # ICMP groups index their header-only rules by itype
        self.nofp_chained: list[Signature] = []   # no fast pattern but content keywords
        self.sigs: list[Signature] = []
        self.fp_sigs: list[Signature] = []
        self.nofp: list[Signature] = []
        self._patterns: list[tuple[bytes, bool, int, int]] = []
        # (prefilter, scan limit (0: the whole buffer), its signatures), set by build()
        self._prefilter: list[tuple[Prefilter, int, list[Signature]]] = []
        # one-byte patterns: (byte, its other case when nocase, their signatures)
        self._short: list[tuple[bytes, bytes | None, tuple[Signature, ...]]] = []
        self._port_cache: dict[tuple[int, int], tuple[Signature, ...]] = {}

    def add(self, sig: Signature, fast: tuple[bytes, bool, int, int] | None) -> None:
        self.sigs.append(sig)
        if fast is None:
            self.nofp.append(sig)
            if sig.chains:
                self.nofp_chained.append(sig)
        else:
            self.fp_sigs.append(sig)
            self._patterns.append(fast)

    def build(self, built: dict[tuple, Prefilter]) -> None:
        """Compile the prefilters now (nothing is compiled on a packet); groups with the same
        patterns (ICMP and ICMPv6) share one compiled database."""
        # One-byte patterns that may occur anywhere ('|00|', '.', ';') hit nearly every
        # buffer and slow the whole hyperscan scan down (pkt6 chunks of the bench pcap:
        # 0.129 -> 0.035 s without its 13 of them); `bytes.find` (memchr) answers each one.
        pats: list[tuple[bytes, bool, int, int]] = []
        sigs: list[Signature] = []
        short: dict[tuple[bytes, bytes | None], list[Signature]] = {}
        for pat, sig in zip(self._patterns, self.fp_sigs):
            byte, nocase, _low, high = pat
            if len(byte) == 1 and not high:
                other = byte.upper() if nocase and byte.upper() != byte.lower() else None
                short.setdefault((byte.lower() if nocase else byte, other), []).append(sig)
            else:
                pats.append(pat)
                sigs.append(sig)
        self._short = [(one, other, tuple(found)) for (one, other), found in short.items()]

        def compiled(patterns: list[tuple[bytes, bool, int, int]]) -> Prefilter:
            key = tuple(patterns)
            if key not in built:
                built[key] = Prefilter(patterns)
            return built[key]

        bounded = [j for j, p in enumerate(pats) if p[3]]
        # a second database costs compile time: split only when nearly all patterns are
        # bounded (the segment group: 384 of 434), so that most of the scan is a prefix
        parts: list[tuple[Prefilter, int, list[Signature]]] = []
        if not pats:
            pass
        elif len(bounded) < 0.8 * len(pats):
            parts = [(compiled(pats), 0, sigs)]
        else:
            full = [j for j, p in enumerate(pats) if not p[3]]
            limit = max(pats[j][3] for j in bounded)
            parts = [(compiled([pats[j] for j in part]), lim, [sigs[j] for j in part])
                     for part, lim in ((bounded, limit), (full, 0)) if part]
        self._prefilter = parts

    def prefilter(self, buf: bytes) -> list[Signature]:
        if not self.fp_sigs or not buf:
            return []
        out: list[Signature] = []
        for pf, limit, sigs in self._prefilter:
            hits = pf.scan(buf[:limit] if limit and len(buf) > limit else buf)
            if hits:
                out.extend(map(sigs.__getitem__, hits))
        for one, other, found in self._short:
            if one in buf or other is not None and other in buf:
                out += found
        return out

    def nofp_for(self, sport: int, dport: int) -> tuple[Signature, ...]:
        """Signatures without a fast pattern whose ports allow this packet (cached)."""
        key = (sport, dport)
        hit = self._port_cache.get(key)
        if hit is None:
            if len(self._port_cache) >= _PORT_CACHE_MAX:
                self._port_cache.clear()
            hit = tuple(s for s in self.nofp if _ports_may_match(s, sport, dport))
            self._port_cache[key] = hit
        return hit

    def nofp_icmp(self, itype: int) -> tuple[Signature, ...]:
        """ICMP: header-only signatures whose itype (if any) is this packet's."""
        key = (itype, -1)
        hit = self._port_cache.get(key)
        if hit is None:
            hit = tuple(s for s in self.nofp if itype_of(s) in (None, itype))
            self._port_cache[key] = hit
        return hit


def _ports_may_match(sig: Signature, sport: int, dport: int) -> bool:
    fwd = ((sig.sports is None or sig.sports.match(sport))
           and (sig.dports is None or sig.dports.match(dport)))
    if fwd or not sig.bidirectional:
        return fwd
    return ((sig.sports is None or sig.sports.match(dport))
            and (sig.dports is None or sig.dports.match(sport)))


def _data_checks_ok(sig: Signature, data: bytes, pkt: Packet, flow: Flow | None) -> bool:
    """ftpbounce and the like: the flow's client (Suricata's f->src), else the sender."""
    client = flow.client if flow is not None else pkt.src
    return all(check(data, client) for check in sig.data_checks)


class Detector:
    """Evaluate compiled signatures; returns the signatures that should alert."""

    def __init__(self, sigs: Iterable[Signature]) -> None:
        # flowbit setters first, so a bit set on a packet is visible to testers on it
        self.signatures = sorted(sigs, key=lambda s: (not s.sets_flowbits, s.order))
        for rank, sig in enumerate(self.signatures):
            sig.order = rank
        self._packet: dict[int, _Group] = {p: _Group(icmp=p in (1, 58)) for p in _PROTO_CLASSES}
        # TCP segments that went into a stream: only rules that need the packet itself
        self._segment = _Group()
        self._app: dict[str, _Group] = {}
        self._app_nofp: list[Signature] = []
        # DCE/RPC signatures run on DCE/RPC calls only (dpictl.engine.detect.dce_inspection);
        # ssl_state/ssl_version rules: run by TlsInspection on TLS flows' raw stream only
        self.dce_signatures: list[Signature] = []
        self.tls_sigs: list[Signature] = []
        for sig in self.signatures:
            if sig.app == "dcerpc":
                self.dce_signatures.append(sig)
            elif sig.tls:
                self.tls_sigs.append(sig)
            elif sig.kind == KIND_APP:
                self._add_app(sig)
            else:
                fast = (sig.fast[1], sig.fast[2], *sig.fast_bounds) if sig.fast else None
                for proto in _PROTO_CLASSES:
                    if (sig.protos is None or proto in sig.protos
                            or proto == 0 and any(p not in _PROTO_CLASSES for p in sig.protos)):
                        self._packet[proto].add(sig, fast)
                if (sig.protos is None or 6 in sig.protos) and (sig.on_packet or not sig.chains):
                    self._segment.add(sig, sig.segment_fast or fast)
        # the same chains with `byte_test/byte_jump ... dce` reading big-endian, for when
        # Suricata would (see DceInspection._little_seen)
        self.dce_big_endian = {sig.order: big_endian_variant(sig) for sig in self.dce_signatures}
        self.app_count = sum(1 for s in self.signatures if s.kind == KIND_APP)
        built: dict[tuple, Prefilter] = {}
        for group in (*self._packet.values(), self._segment, *self._app.values()):
            group.build(built)
        # the groups worth scanning per (side, body): a group none of whose signatures
        # runs on that side (http_uri on a response), or only once the body is complete,
        # is not scanned
        self._app_groups = {
            (side, body): {name: group for name, group in self._app.items()
                           if any(sig.app_sides & side and (body or not sig.reads_body)
                                  for sig in group.sigs)}
            for side in (REQUEST, RESPONSE) for body in (False, True)}

    def _add_app(self, sig: Signature) -> None:
        sig.app_sides = _sides(sig)
        sig.reads_body = _reads_body(sig)
        if sig.fast is None:
            self._app_nofp.append(sig)
            return
        buffer, pattern, nocase = sig.fast
        # raw_data is pkt_data under another name (both the message, or absent): one scan
        if buffer == "raw_data":
            buffer = "pkt_data"
        self._app.setdefault(buffer, _Group()).add(sig, (pattern, nocase, *sig.fast_bounds))

    # -- packets and raw stream -------------------------------------------------------
    def packet_candidates(self, pkt: Packet, data: bytes, stream_added: bool = False,
                          stream: bool = False) -> list[Signature] | tuple:
        group = self._segment if stream_added else (
            self._packet.get(pkt.ip_proto) or self._packet[0])
        if stream:   # header-only rules are per packet; a chunk needs content keywords
            nofp = group.nofp_chained
        elif group.icmp:
            nofp = group.nofp_icmp(pkt.icmp_type)
        else:
            nofp = group.nofp_for(pkt.sport, pkt.dport)
        if not data:
            return nofp
        hits = group.prefilter(data)
        if not hits:
            return nofp
        if not nofp and len(hits) == 1:
            return hits
        cands = [*nofp, *hits]
        cands.sort(key=_order)
        return cands

    def inspect_packet(self, pkt: Packet, data: bytes, flow: Flow | None,
                       to_server: bool | None, thresholds: ThresholdTable,
                       stream: bool = False, stream_added: bool = False) -> list[Signature]:
        """Packet signatures matching `data` (the packet payload or a raw stream chunk).

        `stream_added`: the payload also went into a tracked TCP stream, so only the
        signatures that need the packet itself inspect it here.
        """
        cands = self.packet_candidates(pkt, data, stream_added, stream)
        if not cands:
            return []
        out: list[Signature] = []
        buffers: dict[str, bytes] | None = None
        dport = pkt.dport
        for sig in cands:
            dset = sig.dport_set
            if dset is not None and dport not in dset:
                continue
            chained = sig.chains
            if stream:
                if sig.packet_only or not chained:
                    continue
            elif sig.stream_only:
                continue
            if chained and (not data or stream_added and not sig.on_packet):
                continue
            if not conditions_ok(sig, pkt, flow, to_server):
                continue
            if chained:
                if buffers is None:
                    buffers = {"pkt_data": data, "raw_data": data}
                if not chains_ok(sig, buffers):
                    continue
            if sig.data_checks and not _data_checks_ok(sig, data, pkt, flow):
                continue
            if post_match(sig, pkt, flow, thresholds):
                out.append(sig)
        return out

    # -- HTTP transactions ------------------------------------------------------------
    def inspect_app(self, pkt: Packet, flow: Flow | None, side: int, body: bool,
                    buffers: Mapping[str, bytes], fields: Mapping[str, bytes],
                    thresholds: ThresholdTable, done: set[int],
                    only: frozenset[str] | None = None) -> list[Signature]:
        """App signatures for one side of one transaction (REQUEST or RESPONSE).

        `body` False: the headers are complete, signatures that read no body run; True:
        the message is complete, every signature not run yet runs. `pkt` is oriented in the side's
        direction (for header and flow checks). `done` holds the signatures that already
        ran on this transaction side, so each runs once. `only`: the buffer names this
        protocol has (SMTP: file_data); a signature reading any other buffer is not run.
        """
        seen: set[int] = set()
        cands: list[Signature] = []
        groups = self._app_groups.get((side, body))
        for name, group in (groups if groups is not None else self._app).items():
            buf = buffers.get(name)
            if buf:
                for sig in group.prefilter(buf):
                    if sig.order not in seen:
                        seen.add(sig.order)
                        cands.append(sig)
        cands.extend(self._app_nofp)
        cands.sort(key=_order)
        out: list[Signature] = []
        to_server = side == REQUEST
        for sig in cands:
            order = sig.order
            if order in done or not sig.app_sides & side or not body and sig.reads_body:
                continue
            if only is not None and not _reads_only(sig, only):
                continue
            done.add(order)
            if not conditions_ok(sig, pkt, flow, to_server):
                continue
            if not chains_ok(sig, buffers, fields):
                continue
            if post_match(sig, pkt, flow, thresholds):
                out.append(sig)
        return out


_order = attrgetter("order")


BODY_BUFFERS = frozenset({"http_client_body", "file_data", "http_raw_body"})


def _reads_body(sig: Signature) -> bool:
    return any(chain.buffer in BODY_BUFFERS for chain in sig.chains)


def _reads_only(sig: Signature, names: frozenset[str]) -> bool:
    """The signature's buffers are all among `names` (base64_data follows any of them)."""
    if any((t.buffer or "http_uri") not in names for t in sig.buffer_tests):
        return False
    return all(chain.field is None and (chain.buffer in names or chain.buffer == "base64_data")
               for chain in sig.chains)


def _sides(sig: Signature) -> int:
    """Which transaction side(s) a signature is inspected on: a response-only buffer or
    flow:to_client means the response; a request-only buffer or flow:to_server the
    request; otherwise (http_header, http_cookie, file_data alone) both, as Suricata
    registers those buffers for both directions."""
    names = {chain.buffer for chain in sig.chains}
    flow = sig.flow
    if names & RESPONSE_BUFFERS or (flow is not None and flow.to_client):
        return RESPONSE
    if names & REQUEST_BUFFERS or (flow is not None and flow.to_server):
        return REQUEST
    return REQUEST | RESPONSE


__all__ = ["Detector", "RESPONSE_BUFFERS", "REQUEST_BUFFERS", "REQUEST", "RESPONSE", "header_ok", "PACKET_BUFFERS"]
