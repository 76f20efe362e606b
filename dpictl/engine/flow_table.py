"""Flows: which conversation a packet belongs to, who is the client, and whether it is established.

(Over 300 lines: the Suricata flow and TCP-session semantics belong together in one place.)

Semantics follow Suricata 7 (our oracle) with its default configuration:

* Direction: the client is the sender of the first packet of the flow. For TCP that packet is
  normally the SYN; a flow whose first packet is not a SYN is a *midstream* pickup, which
  Suricata ignores by default (`stream.midstream: false`): no stream tracking, no reassembly,
  no app layer, and the flow never becomes established. `midstream=True` tracks such flows
  from their first packet (a SYN/ACK makes its receiver the client) and calls them
  established at once, as Suricata does with midstream enabled.
* `flow.established` is the value of `flow:established` for the packet just looked up. For TCP
  it is the session state *before* the packet (Suricata computes it before the stream engine
  runs): a bare handshake-completing ACK is not established, one carrying data is, and so is
  every packet after it, FIN/RST included. Other protocols: once packets went both ways.
* TCP data is reassembled only once the handshake completed (data on the ACK that completes
  it counts) and not after a reset, as in Suricata; a SYN whose SYN/ACK was never seen gives
  no stream data.
* Timeouts (Suricata compiled defaults): new 30 s, established 300 s, TCP closed 10 s. They are
  checked against packet timestamps (the engine is sans-I/O): lazily when a packet hits a
  timed-out flow, and by a sweep at most every `sweep_interval` seconds.
* Bounded: at most `max_flows` flows. A new flow in a full table first expires what has timed
  out, then evicts one flow: the least recently seen *new* flow (no answer yet), else the least
  recently seen closed one, and only then an established one. A SYN flood fills the table with
  new flows, so it evicts its own flows and cannot push established sessions out.

  Suricata, for comparison: past its flow memcap it enters *emergency mode* - shorter
  (emergency) timeouts, no new flows for TCP packets that are not SYNs when midstream is on,
  and `FlowGetUsedFlow` takes a flow from a hash row it walks round-robin, skipping flows seen
  very recently (1 s for new flows, 5 s for established ones), and gives the packet no flow
  at all after a few tries. We keep the part that matters against a flood - unanswered flows
  go first - but choose the victim exactly (least recently seen) instead of by hash position,
  and always find one, so every packet still gets a flow and the verdicts do not depend on
  hash order. There is no emergency timeout: eviction already bounds the table.
* Cost: O(1) amortized per packet, however full the table. Flows sit in LRU lists
  (`OrderedDict`s; a packet that advances a flow's time moves it to the end), one per state
  and timeout value (with the default timeouts: new, established, closed). Every flow in a
  list has the same timeout, so the front is the first to expire: a sweep pops fronts only
  while they are expired, and eviction pops a front. (Packet timestamps that go backwards
  can leave an expired flow behind a live one in its list; it then goes at a later sweep or
  by the lazy check when a packet hits it - Suricata's flow manager is no more exact.)
  `visits` counts the flows sweeps and evictions examined, so tests can check that the work
  per new flow does not grow with the table.
* Memory: a TCP flow that is only a SYN holds no reassemblers: its streams are created when
  the SYN/ACK arrives (before it, no byte can be accepted anyway), so a flood of SYNs costs
  a flow object, two index entries and an LRU entry each (about 630 bytes with the engine's
  share, as `benchmarks/bench_synflood.py` measures).
* Flows exist for TCP, UDP, ICMP, SCTP and ESP only (Suricata has no flow for IGMP & co.).
  ICMP echo and the other query/reply types are keyed by their identifier. A destination
  unreachable error joins the existing flow of the packet it quotes (to_server when sent by
  that flow's client), without counting as "seen" for establishment; other ICMP errors, and
  unreachables quoting no known flow, belong to no flow (`lookup` returns `(None, False)`).

Hot path: one tuple, one dict lookup and at most one LRU move per packet. Each flow is stored under
both directional keys, so no key canonicalisation is needed; the packet goes to the server
when its key is the flow's (client-to-server) key.
"""

from __future__ import annotations

import socket
from collections import OrderedDict
from dataclasses import dataclass

from dpictl.engine.decode.tcp import has_fast_open
from dpictl.engine.packet import (
    PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, TH_ACK, TH_FIN, TH_RST, TH_SYN, Packet,
)
from dpictl.engine.reassembly import ReassemblyBudget, StreamReassembler

# TCP session states, ordered as Suricata orders them (>= TCP_ESTABLISHED means established).
TCP_NONE, TCP_SYN_SENT, TCP_SYN_RECV, TCP_ESTABLISHED, TCP_CLOSING, TCP_CLOSED = range(6)

STATE_NEW, STATE_ESTABLISHED, STATE_CLOSED = "new", "established", "closed"

_ICMP4_ERRORS = frozenset({3, 4, 5, 11, 12})
_ICMP6_ERRORS = frozenset({1, 2, 3, 4})
_ICMP4_REPLY = {0: 8, 14: 13, 16: 15, 18: 17}      # reply type -> request type
_ICMP6_REPLY = {129: 128}
_ICMP_UNREACH, _OTHER_FLOW_PROTOS = {PROTO_ICMP: 3, PROTO_ICMPV6: 1}, frozenset({50, 132})
_SYN_FIN_RST = TH_SYN | TH_FIN | TH_RST


@dataclass(frozen=True, slots=True)
class FlowTimeouts:
    """Seconds of silence after which a flow is forgotten, per protocol and state."""

    tcp_new: float = 30.0
    tcp_established: float = 300.0
    tcp_closed: float = 10.0
    udp_new: float = 30.0
    udp_established: float = 300.0
    other_new: float = 30.0
    other_established: float = 300.0

    def for_flow(self, flow: Flow) -> float:
        if flow.proto == PROTO_TCP:
            if flow.state == STATE_CLOSED:
                return self.tcp_closed
            return self.tcp_established if flow.state == STATE_ESTABLISHED else self.tcp_new
        if flow.proto == PROTO_UDP:
            return self.udp_established if flow.state == STATE_ESTABLISHED else self.udp_new
        return self.other_established if flow.state == STATE_ESTABLISHED else self.other_new


class Flow:
    """One conversation. Mutable on purpose: it is updated in place on every packet.

    `streams[to_server]` is the reassembler of that direction (tracked TCP flows, from the
    SYN/ACK on; None otherwise). `app` is free for the app layer's parser state, `flowbits`
    for rules.
    """

    __slots__ = (
        "key", "flow_id", "proto", "client", "client_port", "server", "server_port",
        "state", "established", "tcp_state", "tracked", "first_ts", "last_ts",
        "pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient",
        "_flowbits", "app_proto", "app", "streams", "_seen_toclient", "_fins",
        "_client_start", "syn_data", "_lru", "_classes",
    )

    def __init__(self, key: tuple, flow_id: int, pkt: Packet) -> None:
        self.key = key
        self.flow_id = flow_id
        self.proto = pkt.ip_proto
        self.client, self.client_port = pkt.src, pkt.sport
        self.server, self.server_port = pkt.dst, pkt.dport
        self.state = STATE_NEW
        self.established = False
        self.tcp_state = TCP_NONE
        self.tracked = False
        self.first_ts = self.last_ts = pkt.ts
        self.pkts_toserver = self.pkts_toclient = 0
        self.bytes_toserver = self.bytes_toclient = 0
        self._flowbits: set[str] | None = None
        self.app_proto: str | None = None
        self.app: object = None
        self.streams: list[StreamReassembler] | None = None
        self._seen_toclient = False
        self._fins = 0                     # bit 1: client sent FIN, bit 2: server sent FIN
        self._client_start = 0             # client ISN + 1, kept until the streams exist
        # TCP Fast Open: (seq, data) the client's SYN carried, for its stream once open
        self.syn_data: tuple[int, bytes] | None = None
        self._lru: OrderedDict[Flow, None] | None = None     # the LRU list it sits in
        self._classes: dict[str, OrderedDict[Flow, None]] = _NO_CLASSES

    @property
    def flowbits(self) -> set[str]:
        """Flowbits set by rules on this flow (created on first use: most flows have none)."""
        bits = self._flowbits
        if bits is None:
            bits = self._flowbits = set()
        return bits

    def __repr__(self) -> str:
        return (f"Flow(#{self.flow_id} {self.proto} {self.client}:{self.client_port} -> "
                f"{self.server}:{self.server_port} {self.state})")


_NO_CLASSES: dict[str, OrderedDict[Flow, None]] = {}
# Which flows a full table evicts first: new ones, then closed, then established (see above).
_EVICTION_ORDER = (STATE_NEW, STATE_CLOSED, STATE_ESTABLISHED)


class _LruClass:
    """The flows of one state whose timeout is `timeout`, least recently seen first."""

    __slots__ = ("state", "timeout", "flows")

    def __init__(self, state: str, timeout: float) -> None:
        self.state = state
        self.timeout = timeout
        self.flows: OrderedDict[Flow, None] = OrderedDict()


class FlowTable:
    """All live flows, bounded in number, expired by packet time.

    Flows that leave the table (timeout, eviction, TCP port reuse) are appended to `evicted`;
    the caller drains them with `pop_evicted()` to flush their streams and app layer.
    `visits` counts the flows that sweeps and evictions examined (the work beyond lookups).
    """

    def __init__(self, max_flows: int = 65536, timeouts: FlowTimeouts | None = None, *,
                 midstream: bool = False, sweep_interval: float = 10.0,
                 stream_depth: int = 1 << 20, stream_max_buffer: int = 1 << 18,
                 stream_memcap: int = 64 << 20) -> None:
        if max_flows < 1:
            raise ValueError("max_flows must be at least 1")
        self.max_flows = max_flows
        self.timeouts = t = timeouts or FlowTimeouts()
        self._min_timeout = min(t.tcp_new, t.tcp_established, t.tcp_closed, t.udp_new,
                                t.udp_established, t.other_new, t.other_established)
        self.midstream = midstream
        self.sweep_interval = sweep_interval
        self.stream_depth = stream_depth
        self.stream_max_buffer = stream_max_buffer
        self.budget = ReassemblyBudget(stream_memcap)
        self.evicted: list[Flow] = []
        self.stats = {"flows": 0, "timeouts": 0, "evictions": 0, "reused": 0}
        self.visits = 0
        # Both directions' keys -> the flow. The direction is read off the flow (`key ==
        # flow.key`) rather than stored beside it: a (flow, direction) tuple per key would be
        # two more garbage-collected objects per flow, and full collections pause the engine
        # for as long as they take to walk every flow.
        self._index: dict[tuple, Flow] = {}
        self._count = 0
        # One LRU list per (state, timeout): flows of a list expire in list order. Classes
        # with equal timeouts share a list (the defaults make three: new, established, closed).
        lists: dict[tuple[str, float], _LruClass] = {}

        def lru(state: str, timeout: float) -> OrderedDict[Flow, None]:
            return lists.setdefault((state, timeout), _LruClass(state, timeout)).flows

        self._tcp_classes = {STATE_NEW: lru(STATE_NEW, t.tcp_new),
                             STATE_ESTABLISHED: lru(STATE_ESTABLISHED, t.tcp_established),
                             STATE_CLOSED: lru(STATE_CLOSED, t.tcp_closed)}
        self._udp_classes = {STATE_NEW: lru(STATE_NEW, t.udp_new),
                             STATE_ESTABLISHED: lru(STATE_ESTABLISHED, t.udp_established)}
        self._other_classes = {STATE_NEW: lru(STATE_NEW, t.other_new),
                               STATE_ESTABLISHED: lru(STATE_ESTABLISHED, t.other_established)}
        self._lists = list(lists.values())
        self._eviction_lists = [[c.flows for c in self._lists if c.state == state]
                                for state in _EVICTION_ORDER]
        self._next_sweep = 0.0
        # The flow last appended to any list: it is still last in its own, so packets in a
        # row on one flow (a transfer) need no move.
        self._tail: Flow | None = None

    def __len__(self) -> int:
        return self._count

    def lookup(self, pkt: Packet) -> tuple[Flow | None, bool]:
        """The packet's flow (created if new) and whether the packet goes to the server.

        Also updates counters, `established`, the TCP state and the flow's streams' view of the
        peer's ACK. Returns `(None, False)` for packets that belong to no flow (non-IP, ICMP
        errors).
        """
        proto = pkt.ip_proto
        if proto == PROTO_TCP or proto == PROTO_UDP:
            key = (pkt.src, pkt.sport, pkt.dst, pkt.dport, proto)
        elif proto == PROTO_ICMP or proto == PROTO_ICMPV6:
            key = self._icmp_key(pkt)
            if key is None:
                return self._icmp_error(pkt)
        elif proto in _OTHER_FLOW_PROTOS:
            key = (pkt.src, 0, pkt.dst, 0, proto)
        else:
            return None, False
        ts = pkt.ts
        if ts >= self._next_sweep:
            self._sweep(ts)
        flow = self._index.get(key)
        if flow is not None:
            idle = ts - flow.last_ts
            if idle > self._min_timeout and idle > self.timeouts.for_flow(flow):
                self._remove(flow, "timeouts")
                flow = None
            elif (proto == PROTO_TCP and pkt.tcp_flags & (TH_SYN | TH_ACK) == TH_SYN
                  and flow.tcp_state >= TCP_CLOSING):
                self._remove(flow, "reused")       # a new connection on the same 4-tuple
                flow = None
            elif idle > 0:                         # lists stay in order of last_ts
                flow.last_ts = ts
                if flow is not self._tail:         # a burst on one flow: already last
                    flow._lru.move_to_end(flow)
                    self._tail = flow
        if flow is None:
            flow = self._create(key, pkt)
        to_server = key == flow.key                # flow.key: the client-to-server key
        size = len(pkt.frame) or pkt.ip_len
        if to_server:
            flow.pkts_toserver += 1
            flow.bytes_toserver += size
        else:
            flow.pkts_toclient += 1
            flow.bytes_toclient += size
            flow._seen_toclient = True
        if proto == PROTO_TCP:
            before = flow.tcp_state
            flags = pkt.tcp_flags
            if before == TCP_ESTABLISHED and not flags & _SYN_FIN_RST:
                flow.established = True          # the common case, inlined
                if flags & TH_ACK:
                    flow.streams[not to_server].peer_ack = pkt.ack
                return flow, to_server
            flow.established = before >= TCP_ESTABLISHED
            state = flow.state
            self._tcp_update(flow, pkt, to_server)
            if flow.state is not state:
                self._reclass(flow)
            if before == TCP_SYN_RECV and flow.tcp_state == TCP_ESTABLISHED and pkt.payload:
                flow.established = True
        elif flow._seen_toclient:
            flow.established = True
            if flow.state is not STATE_ESTABLISHED:
                flow.state = STATE_ESTABLISHED
                self._reclass(flow)
        return flow, to_server

    def pop_evicted(self) -> list[Flow]:
        """Flows that left the table since the last call (flush their streams and app state)."""
        out, self.evicted = self.evicted, []
        return out

    def drain(self) -> list[Flow]:
        """End of input: every flow still live (oldest first), then the table is empty."""
        live = sorted((f for c in self._lists for f in c.flows), key=_flow_id)
        for c in self._lists:
            c.flows.clear()
        for flow in live:
            flow._lru = None
        self._index.clear()
        self._count = 0
        return self.pop_evicted() + live

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _icmp_key(pkt: Packet) -> tuple | None:
        itype = pkt.icmp_type
        if pkt.ip_proto == PROTO_ICMP:
            if itype in _ICMP4_ERRORS:
                return None
            itype = _ICMP4_REPLY.get(itype, itype)
        else:
            if itype in _ICMP6_ERRORS:
                return None
            itype = _ICMP6_REPLY.get(itype, itype)
        return (pkt.src, pkt.icmp_id, pkt.dst, itype, pkt.ip_proto)

    def _icmp_error(self, pkt: Packet) -> tuple[Flow | None, bool]:
        """A destination unreachable joins the flow of the packet it quotes (Suricata)."""
        if pkt.icmp_type != _ICMP_UNREACH[pkt.ip_proto]:
            return None, False
        inner = _quoted_tuple(pkt.payload, pkt.ip_proto == PROTO_ICMP)
        flow = self._index.get(inner) if inner is not None else None
        if flow is None:
            return None, False
        to_server = pkt.src == flow.client
        size = len(pkt.frame) or pkt.ip_len
        if to_server:
            flow.pkts_toserver += 1
            flow.bytes_toserver += size
        else:
            flow.pkts_toclient += 1
            flow.bytes_toclient += size
        flow.last_ts = max(flow.last_ts, pkt.ts)
        flow._lru.move_to_end(flow)
        self._tail = flow
        flow.established = (flow.tcp_state >= TCP_ESTABLISHED if flow.proto == PROTO_TCP
                            else flow.state == STATE_ESTABLISHED)
        return flow, to_server

    def _create(self, key: tuple, pkt: Packet) -> Flow:
        if self._count >= self.max_flows:
            self._sweep(pkt.ts)
            while self._count >= self.max_flows:
                self._remove(self._eviction_victim(), "evictions")
        flow = Flow(key, self._next_id(), pkt)
        proto = pkt.ip_proto
        flow._classes = (self._tcp_classes if proto == PROTO_TCP else
                         self._udp_classes if proto == PROTO_UDP else self._other_classes)
        lru = flow._lru = flow._classes[STATE_NEW]
        lru[flow] = None
        self._tail = flow
        self._count += 1
        self._index[key] = self._index[_reverse_key(key)] = flow
        if proto == PROTO_TCP:
            self._tcp_start(flow, pkt)
            if flow.state is not STATE_NEW:
                self._reclass(flow)
        return flow

    def _next_id(self) -> int:
        self.stats["flows"] += 1
        return self.stats["flows"]

    def _reclass(self, flow: Flow) -> None:
        """The flow changed state: move it to the LRU list of its new state (at the end)."""
        lru = flow._classes[flow.state]
        if lru is not flow._lru:
            del flow._lru[flow]
            lru[flow] = None
            flow._lru = lru
            self._tail = flow

    def _eviction_victim(self) -> Flow:
        """The least recently seen flow of the first state class that has any (see module)."""
        for lists in self._eviction_lists:
            best: Flow | None = None
            for lru in lists:
                if lru:
                    self.visits += 1
                    front = next(iter(lru))
                    if best is None or front.last_ts < best.last_ts:
                        best = front
            if best is not None:
                return best
        raise AssertionError("eviction from an empty flow table")

    def _track(self, flow: Flow, accepting: bool) -> list[StreamReassembler]:
        flow.tracked = True
        streams = flow.streams = [
            StreamReassembler(depth=self.stream_depth, budget=self.budget,
                              max_buffer=self.stream_max_buffer) for _ in range(2)]
        if not accepting:                    # data counts only once the handshake completed
            streams[0].closed = streams[1].closed = True
        return streams

    def _tcp_start(self, flow: Flow, pkt: Packet) -> None:
        flags = pkt.tcp_flags
        if flags & (TH_SYN | TH_ACK | TH_RST) == TH_SYN:
            # Tracked, but the streams wait for the SYN/ACK: a SYN that is never answered
            # (a flood, a scan) costs no reassembler. No byte could be accepted before anyway.
            flow.tcp_state = TCP_SYN_SENT
            flow.tracked = True
            flow._client_start = pkt.seq + 1
            flow.syn_data = _fast_open_data(pkt)
        elif self.midstream and not flags & TH_RST:
            flow.tcp_state = TCP_ESTABLISHED
            flow.state = STATE_ESTABLISHED
            streams = self._track(flow, True)
            if flags & (TH_SYN | TH_ACK) == TH_SYN | TH_ACK:
                self._swap(flow)                   # the SYN/ACK comes from the server
                streams[0].begin(pkt.seq + 1)

    def _swap(self, flow: Flow) -> None:
        """Make the other side the client (a SYN/ACK seen first, a late SYN from the server)."""
        flow.client, flow.server = flow.server, flow.client
        flow.client_port, flow.server_port = flow.server_port, flow.client_port
        flow.pkts_toserver, flow.pkts_toclient = flow.pkts_toclient, flow.pkts_toserver
        flow.bytes_toserver, flow.bytes_toclient = flow.bytes_toclient, flow.bytes_toserver
        flow.key = _reverse_key(flow.key)

    def _tcp_update(self, flow: Flow, pkt: Packet, to_server: bool) -> None:
        flags = pkt.tcp_flags
        st = flow.tcp_state
        streams = flow.streams
        if streams is not None and flags & TH_ACK:
            streams[not to_server].peer_ack = pkt.ack
        if st == TCP_NONE:
            if flags & (TH_SYN | TH_ACK | TH_RST) == TH_SYN:   # late SYN on an untracked flow
                if not to_server:
                    self._swap(flow)
                self._tcp_start(flow, pkt)
            return
        if st == TCP_CLOSED:
            return
        if flags & TH_RST:
            if st >= TCP_ESTABLISHED and not streams[to_server].in_window(pkt.seq):
                return                             # a reset out of the window: ignored
            flow.tcp_state = TCP_CLOSED
            flow.state = STATE_CLOSED
            if streams is not None:
                streams[0].closed = streams[1].closed = True
        elif st == TCP_SYN_SENT:
            if not to_server and flags & (TH_SYN | TH_ACK) == TH_SYN | TH_ACK:
                flow.tcp_state = TCP_SYN_RECV
                if flow.syn_data is not None and (
                        pkt.ack - flow._client_start) & 0xFFFFFFFF != len(flow.syn_data[1]):
                    flow.syn_data = None           # the server did not take the SYN's data
                streams = self._track(flow, False)
                streams[1].begin(flow._client_start)
                streams[1].peer_ack = pkt.ack
                streams[0].begin(pkt.seq + 1)
            elif to_server and flags & (TH_SYN | TH_ACK) == TH_SYN:
                flow._client_start = pkt.seq + 1   # SYN sent again, maybe with a new ISN
                flow.syn_data = _fast_open_data(pkt)
        elif st == TCP_SYN_RECV:
            if to_server and flags & (TH_SYN | TH_ACK) == TH_ACK:
                flow.tcp_state = TCP_ESTABLISHED
                flow.state = STATE_ESTABLISHED
                streams[0].closed = streams[1].closed = False
        elif flags & TH_FIN:
            flow._fins |= 1 if to_server else 2
            flow.tcp_state = TCP_CLOSING
            if flow._fins == 3:
                flow.state = STATE_CLOSED

    def _sweep(self, now: float) -> None:
        """Expire every timed-out flow: the expired ones are at the fronts of their lists.
        They leave in creation order, as a walk over the whole table would remove them."""
        self._next_sweep = now + self.sweep_interval
        expired: list[Flow] = []
        for c in self._lists:
            lru, timeout = c.flows, c.timeout
            while lru:
                self.visits += 1
                flow = next(iter(lru))
                if now - flow.last_ts <= timeout:
                    break
                lru.popitem(last=False)
                flow._lru = None
                expired.append(flow)
        if expired:
            expired.sort(key=_flow_id)
            for flow in expired:
                self._remove(flow, "timeouts")

    def _remove(self, flow: Flow, reason: str) -> None:
        self.stats[reason] += 1
        self._forget(flow)
        self.evicted.append(flow)

    def _forget(self, flow: Flow) -> None:
        if flow._lru is not None:
            del flow._lru[flow]
            flow._lru = None
        self._count -= 1
        for key in (flow.key, _reverse_key(flow.key)):
            if self._index.get(key) is flow:
                del self._index[key]


def _fast_open_data(pkt: Packet) -> tuple[int, bytes] | None:
    """The data of a TCP Fast Open SYN (Suricata 7 adds it to the client's stream; the data
    of a SYN without the TFO option is inspected as a packet only)."""
    if pkt.payload and has_fast_open(pkt.tcp_options):
        return pkt.seq + 1, pkt.payload
    return None


def _flow_id(flow: Flow) -> int:
    return flow.flow_id


def _quoted_tuple(body: bytes, v4: bool) -> tuple | None:
    """The TCP/UDP flow key of the packet quoted in an ICMP error body, None if unusable."""
    if v4:
        if len(body) < 20 or body[0] >> 4 != 4:
            return None
        ihl, proto = (body[0] & 0x0F) * 4, body[9]
        src, dst = socket.inet_ntoa(body[12:16]), socket.inet_ntoa(body[16:20])
    else:
        if len(body) < 40 or body[0] >> 4 != 6:
            return None
        ihl, proto = 40, body[6]
        src = socket.inet_ntop(socket.AF_INET6, body[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, body[24:40])
    if proto not in (PROTO_TCP, PROTO_UDP) or len(body) < ihl + 4:
        return None
    ports = body[ihl:ihl + 4]
    return (src, ports[0] << 8 | ports[1], dst, ports[2] << 8 | ports[3], proto)


def _reverse_key(k: tuple) -> tuple:
    """The key of the other direction (ICMP keys keep the id and the request type in place)."""
    if k[4] == PROTO_ICMP or k[4] == PROTO_ICMPV6:
        return (k[2], k[1], k[0], k[3], k[4])
    return (k[2], k[3], k[0], k[1], k[4])


__all__ = [
    "Flow", "FlowTable", "FlowTimeouts", "STATE_NEW", "STATE_ESTABLISHED", "STATE_CLOSED",
    "TCP_NONE", "TCP_SYN_SENT", "TCP_SYN_RECV", "TCP_ESTABLISHED", "TCP_CLOSING", "TCP_CLOSED",
]
