"""DCE/RPC: connection-oriented PDUs (over TCP and SMB named pipes) and connectionless ones
(over UDP), parsed as far as the `dce_iface`, `dce_opnum` and `dce_stub_data` keywords need.

What a rule sees is a *call*: the interface the client bound (bind/alter_context, accepted
by the server's bind_ack), the operation number of the request and its stub data, the
fragments of one call put back together (bounded by `MAX_STUB`). Two carriers feed calls
with slightly different bookkeeping, each modelled on Suricata 7 (the oracle):

- `DceTcpState`: DCE/RPC straight on a TCP stream (port 135, or any port: detected by
  content). The interface a request is matched against is the accepted context of the last
  bind or alter_context whose context id is the request's.
- SMB pipes (`dpictl.engine.app.smb`) use `DceCall`s and `SmbDceIfaces` from here.

Hand-written rather than taken from a library: scapy and impacket can build these PDUs but
parse eagerly into object trees and raise on truncation; the engine needs a few fields from
untrusted bytes, bounded, in a hot path.
"""

from __future__ import annotations

import struct
import uuid as uuidlib
from dataclasses import dataclass, field

REQUEST, RESPONSE, BIND, BIND_ACK, ALTER, ALTER_RESP = 0, 2, 11, 12, 14, 15
PFC_FIRST_FRAG, PFC_LAST_FRAG = 0x01, 0x02
CO_HEADER = 16
MAX_STUB = 1 << 20          # stub bytes kept per call and direction (Suricata: 1 MiB buffer)
MAX_PDU = 1 << 20           # a PDU longer than this ends parsing of the flow
MAX_CALLS = 64              # calls remembered per flow (oldest dropped first)
FLOW_STUB_BUDGET = 4 << 20  # stub bytes held per flow, all calls together
MAX_CONTEXTS = 64           # presentation contexts kept from one bind


@dataclass(slots=True)
class CoHeader:
    """The 16-byte common header of a connection-oriented PDU."""

    ptype: int
    flags: int
    little: bool
    frag_len: int
    auth_len: int
    call_id: int
    minor: int

    @property
    def first(self) -> bool:
        return bool(self.flags & PFC_FIRST_FRAG)

    @property
    def last(self) -> bool:
        return bool(self.flags & PFC_LAST_FRAG)


def parse_co_header(buf: bytes | memoryview) -> CoHeader | None:
    """The header at the start of `buf`, or None when it is not DCE/RPC 5.0/5.1 (or short)."""
    if len(buf) < CO_HEADER or buf[0] != 5 or buf[1] > 1:
        return None
    little = bool(buf[4] & 0x10)
    frag_len, auth_len, call_id = struct.unpack_from("<HHI" if little else ">HHI", buf, 8)
    return CoHeader(buf[2], buf[3], little, frag_len, auth_len, call_id, buf[1])


def looks_like_dcerpc(prefix: bytes) -> bool | None:
    """Suricata's TCP probe: version 5.0 and a sane data representation. None: too short."""
    if len(prefix) < CO_HEADER:
        return None if b"\x05\x00".startswith(prefix[:2]) else False
    return prefix[0] == 5 and prefix[1] == 0 and prefix[4] & 0xEE == 0 and prefix[5] <= 3


@dataclass(slots=True)
class Context:
    """One presentation context offered by a bind: context id -> interface UUID, version."""

    ctx_id: int
    uuid: bytes              # 16 bytes in the canonical (string) order
    version: int
    first_frag: bool
    result: int = -1         # -1: not acknowledged yet; 0: accepted


def parse_contexts(body: bytes | memoryview, little: bool, first_frag: bool) -> list[Context]:
    """The context list of a bind/alter_context body (after the 16-byte header)."""
    if len(body) < 12:
        return []
    count = body[8]
    out: list[Context] = []
    pos, u16 = 12, "<H" if little else ">H"
    for _ in range(min(count, MAX_CONTEXTS)):
        if pos + 44 > len(body):
            break
        ctx_id = struct.unpack_from(u16, body, pos)[0]
        n_transfer = body[pos + 2]
        raw = bytes(body[pos + 4:pos + 20])
        iface = uuidlib.UUID(bytes_le=raw).bytes if little else raw
        version = struct.unpack_from(u16, body, pos + 20)[0]
        out.append(Context(ctx_id, iface, version, first_frag))
        pos += 24 + 20 * max(n_transfer, 1)
    return out


def parse_ack_results(body: bytes | memoryview, little: bool) -> list[int]:
    """The per-context results of a bind_ack/alter_context_resp body (0 = accepted)."""
    if len(body) < 10:
        return []
    sec_len = struct.unpack_from("<H" if little else ">H", body, 8)[0]
    pos = 10 + sec_len
    pos += (-pos) % 4 if (sec_len + 2) % 4 else 0
    if pos + 4 > len(body):
        return []
    count = body[pos]
    pos += 4
    out = []
    for _ in range(min(count, MAX_CONTEXTS)):
        if pos + 24 > len(body):
            break
        out.append(struct.unpack_from("<H" if little else ">H", body, pos)[0])
        pos += 24
    return out


@dataclass(slots=True, eq=False)
class DceCall:
    """One RPC call as the rules see it; `stub` grows as fragments arrive (bounded)."""

    call_id: int
    ctx_id: int = 0
    opnum: int = 0
    little: bool = True
    request_seen: bool = False      # a request PDU (not only a response) was parsed
    request_done: bool = False      # its last fragment was seen
    stub_ts: bytearray = field(default_factory=bytearray)
    stub_tc: bytearray = field(default_factory=bytearray)
    key: tuple = ()                 # carrier-specific identity (SMB: session, tree, ...)
    tx_id: int = 0
    tc_inspected: bool = False      # an event to the client was given (else: at the end)
    # free for the detection layer, as Flow.app is for the app layer: the signatures
    # already run per direction, dropped with the call
    detect_state: object = None

    def add_stub(self, data: bytes | memoryview, to_server: bool) -> None:
        buf = self.stub_ts if to_server else self.stub_tc
        room = MAX_STUB - len(buf)
        if room > 0:
            buf += data[:room]


class CallTable:
    """The calls of one flow, oldest first, bounded in number and in stub bytes: a flow
    cannot hold more than `FLOW_STUB_BUDGET` however many calls it opens.

    Several calls may share a key (Suricata keeps a transaction per PDU and looks up the
    oldest with a given key), so lookups scan the few calls kept.
    """

    __slots__ = ("_calls", "_bytes", "_next_tx")

    def __init__(self) -> None:
        self._calls: dict[int, DceCall] = {}        # tx id -> call, oldest first
        self._bytes = 0
        self._next_tx = 0

    def new(self, key: tuple, call_id: int) -> DceCall:
        while len(self._calls) >= MAX_CALLS:
            self._drop_oldest()
        call = DceCall(call_id, key=key, tx_id=self._next_tx)
        self._calls[self._next_tx] = call
        self._next_tx += 1
        return call

    def get(self, key: tuple) -> DceCall | None:
        """The oldest call with this key."""
        return next((c for c in self._calls.values() if c.key == key), None)

    def values(self):
        return self._calls.values()

    def add_stub(self, call: DceCall, data: bytes | memoryview, to_server: bool) -> None:
        before = len(call.stub_ts) + len(call.stub_tc)
        call.add_stub(data, to_server)
        self._bytes += len(call.stub_ts) + len(call.stub_tc) - before
        while self._bytes > FLOW_STUB_BUDGET and len(self._calls) > 1:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        gone = self._calls.pop(next(iter(self._calls)))
        self._bytes -= len(gone.stub_ts) + len(gone.stub_tc)


@dataclass(slots=True)
class DceEvent:
    """`call` gained data in one direction: signatures of that direction may run on it.

    `complete`: the direction will get no more data (a signature that did not match now
    never will). `ifaces` is what `dce_iface` is matched against for this call.
    """

    call: DceCall
    to_server: bool
    complete: bool
    ifaces: object
    carrier: str                    # "dcerpc" (TCP), "smb" or "dcerpc-udp"
    last_type: int = -1             # TCP: type of the last PDU parsed when inspected


class TcpIfaces:
    """The contexts of the last bind/alter_context on a TCP connection, as acknowledged.

    Suricata 7.0.10 matches `dce_iface` on DCE/RPC over TCP against the accepted contexts
    of the *last* bind_ack (an alter_context's response replaces the bind's), requiring
    the request's context id, a bind sent as a first fragment (unless `any_frag`), and
    that the last PDU parsed on the connection was a request or a response. Its loop
    (match_backuuid) returns the verdict of the last context it looked at, so an accepted
    context skipped for its fragment flag makes any interface match: kept as measured.
    """

    __slots__ = ("offered", "accepted", "last_type")

    def __init__(self) -> None:
        self.offered: list[Context] = []
        self.accepted: list[Context] = []
        self.last_type = -1

    def match(self, event: DceEvent, iface: bytes, version_ok, any_frag: bool) -> bool:
        if event.last_type not in (REQUEST, RESPONSE):
            return False
        call = event.call
        verdict = False
        for ctx in self.accepted:
            verdict = True
            if not any_frag and not ctx.first_frag:
                continue
            verdict = ctx.uuid == iface and ctx.ctx_id == call.ctx_id
            if not verdict:
                continue
            if version_ok(ctx.version):
                return True
            verdict = False
        return verdict


class DceTcpState:
    """DCE/RPC on a TCP connection, parsed as Suricata 7.0.10 parses it (measured with
    probe rules on crafted sessions, see tests/engine/dcerpc):

    - one PDU per chunk of stream data: a PDU is buffered until complete, then parsed, and
      whatever followed it in the same chunk is dropped;
    - every request PDU is a call of its own (fragments are not joined); a response goes
      to the oldest call with its call id;
    - a PDU other than bind, alter_context, their acks, request and response (auth3,
      fault, bind_nak...) or a big-endian bind ends parsing of the connection.

    When a call is inspected matters, because `dce_iface` looks at the type of the last
    PDU parsed. Suricata parses a direction's data once the peer acknowledged it, and
    inspects a direction on that direction's next packet: a request is inspected to the
    server after the server's reply to it was parsed (a fault there makes `dce_iface`
    fail), and to the client right away, then again once answered. So an event waits
    (`_held`) until the other side's next PDU was parsed, or its own side sends again,
    or the flow ends.
    """

    carrier = "dcerpc"

    def __init__(self) -> None:
        self._buf = [bytearray(), bytearray()]       # [to_client, to_server]
        self._failed = False
        self.ifaces = TcpIfaces()
        self._calls = CallTable()
        self._held: list[list[DceEvent]] = [[], []]  # events awaiting inspection, per side

    def feed(self, data: bytes, to_server: bool, ts: float = 0.0) -> list[DceEvent]:
        if self._failed or not data:
            return []
        out = self._release(to_server)               # this side sends again
        buf = self._buf[to_server]
        buf += data
        if len(buf) < CO_HEADER:
            return out
        hdr = parse_co_header(buf)
        if hdr is None or hdr.frag_len < CO_HEADER or len(buf) > MAX_PDU:
            self._stop()
            return out
        self.ifaces.last_type = hdr.ptype
        if len(buf) < hdr.frag_len:
            return out
        pdu = bytes(buf[:hdr.frag_len])
        self._buf[to_server] = bytearray()
        ok = self._pdu(hdr, memoryview(pdu)[CO_HEADER:], out)
        out += self._release(not to_server)          # the other side's PDU was parsed
        if not ok:
            self._stop()
        return out

    def gap(self, missing: int, to_server: bool) -> list[DceEvent]:
        """Bytes were lost: Suricata 7.0.10's DCE/RPC-over-TCP parser fails on a gap and
        parses nothing more of the flow (measured: a request after the hole never alerts),
        so neither does this one."""
        self._stop()
        return []

    def finish(self, ts: float = 0.0, to_server: bool | None = None) -> list[DceEvent]:
        """The connection ended: what waits is inspected, and calls never answered are
        inspected to the client once more (as Suricata does at end of stream)."""
        if to_server:
            return self._release(True)
        out = self._release(True) + self._release(False)
        return out + [self._event(call, False, True) for call in self._calls.values()
                      if not call.tc_inspected]

    def _stop(self) -> None:
        self._failed = True
        self._buf = [bytearray(), bytearray()]

    def _event(self, call: DceCall, to_server: bool, complete: bool) -> DceEvent:
        return DceEvent(call, to_server, complete, self.ifaces, self.carrier,
                        self.ifaces.last_type)

    def _release(self, to_server: bool) -> list[DceEvent]:
        held = self._held[to_server]
        if not held:
            return []
        self._held[to_server] = []
        last = self.ifaces.last_type
        for event in held:
            event.last_type = last
        return held

    def _new_call(self, call_id: int) -> DceCall:
        return self._calls.new((call_id,), call_id)     # every request is a call of its own

    def _pdu(self, hdr: CoHeader, body: memoryview, out: list[DceEvent]) -> bool:
        ptype = hdr.ptype
        if ptype in (BIND, ALTER):
            if not hdr.little:
                return False
            self.ifaces.offered = parse_contexts(body, hdr.little, hdr.first)
            return True
        if ptype in (BIND_ACK, ALTER_RESP):
            results = parse_ack_results(body, hdr.little)
            accepted = []
            for i, ctx in enumerate(self.ifaces.offered):
                if i < len(results):
                    ctx.result = results[i]
                    if ctx.result == 0:
                        accepted.append(ctx)
            self.ifaces.accepted = accepted
            return True
        if ptype == REQUEST:
            if len(body) < 8:
                return False
            call = self._new_call(hdr.call_id)
            call.ctx_id, call.opnum = struct.unpack_from("<HH" if hdr.little else ">HH", body, 4)
            call.little = hdr.little
            call.request_seen = call.request_done = True
            self._calls.add_stub(call, body[8:], True)
            self._held[True].append(self._event(call, True, True))
            out.append(self._event(call, False, False))      # to the client, not answered yet
            return True
        if ptype == RESPONSE:
            call = self._calls.get((hdr.call_id,))
            if call is None:
                call = self._new_call(hdr.call_id)
            # Suricata 7 starts the response stub right after the common header:
            # alloc_hint, context id and cancel count are part of it
            self._calls.add_stub(call, body, False)
            call.tc_inspected = True
            self._held[False].append(self._event(call, False, True))
            return True
        return False


__all__ = ["CoHeader", "Context", "DceCall", "DceEvent", "DceTcpState", "TcpIfaces",
           "parse_co_header", "parse_contexts", "parse_ack_results", "looks_like_dcerpc",
           "REQUEST", "RESPONSE", "BIND", "BIND_ACK", "ALTER", "ALTER_RESP", "MAX_STUB"]
