"""The flow source: per-key packet and byte counters that the kernel keeps in the node netns,
in nftables sets fed by conntrack, read once per flush.

Why this source (measured, see benchmarks/bench_flowlogs.py and the commit history):
- a capture of our own (even header-only) costs the agent a wake-up and a frame per packet;
- reading conntrack entries (DESTROY events plus a dump per flush) costs the agent a netlink
  message per *connection*: 35-50 us in Python each, and a node keeps every closed TCP
  connection for 2 minutes (TIME_WAIT) in every dump. At 200 short connections/s that was
  11-26% of the agent's CPU - over the 5% budget;
- here the kernel aggregates. Forwarded packets update a dynamic set element keyed by
  Calico's flow key (source, destination, proto, dest port) with a counter; the agent reads
  the sets once per flush, at a cost that grows with the number of distinct keys, not with
  packets or connections (read over nfnetlink, see `_dump_set`): on the live benchmark's
  traffic, 2.4% of what inspecting it costs (benchmarks/bench_flowlogs_live.py). The
  numbers are the ones conntrack accounting gives (the tests compare them, entry by entry).
- Known blur: ICMP errors answering a UDP/TCP flow (port unreachable) count as replies of
  an `icmp` key between the same two ends, not of the flow they answer.

The sets (one chain, policy accept: forwarding is unchanged):
- `orig`   packets of the original direction, keyed by (saddr, daddr, proto, dport);
- `reply`  packets of the reply direction, keyed by the same original-direction key;
- `starts` the first packet of each connection (a conntrack mark bit makes a retransmitted
  SYN count once), so its packet counter is the number of connections started;
- `other_*` the same for protocols without ports (ICMP ...), keyed without a port.
`ct direction` and `ct state` make the kernel track connections in that netns (as kube-proxy's
and Felix's rules do on a real node). Elements expire after `ELEMENT_TIMEOUT` without
traffic, so a set holds recent keys only; each set holds at most `SET_SIZE` keys (new keys
are not counted beyond that). Needs `nft` (Debian package `nftables`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
from dataclasses import dataclass

from dpictl.backends.local.kernel import netns_path, run_in_netns, set_sysctls
from dpictl.forklock import FORK_LOCK
from dpictl.errors import ClusterError

NFT_TABLE = "dpictl_flowlogs"
SET_SIZE = 65536
ELEMENT_TIMEOUT = "1h"      # longer than any sane flush interval (Calico's default: 5m)
CT_MARK_COUNTED = "0x00100000"    # a connection's first packet was counted in `starts`


@dataclass(frozen=True, slots=True)
class KeyCounters:
    """Cumulative counters of one flow key since its set element was created."""

    source_ip: str
    dest_ip: str
    proto: str                          # "tcp", "udp", "icmp", or the protocol number
    dest_port: int                      # 0 when the protocol has no ports
    packets_orig: int = 0               # source -> dest
    bytes_orig: int = 0
    packets_reply: int = 0              # dest -> source
    bytes_reply: int = 0
    started: int = 0                    # connections started

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.source_ip, self.dest_ip, self.proto, self.dest_port)


def _ruleset() -> str:
    ported = "type ipv4_addr . ipv4_addr . inet_proto . inet_service"
    portless = "type ipv4_addr . ipv4_addr . inet_proto"
    sets = "".join(
        f"  set {name} {{ {kind}; flags dynamic,timeout; timeout {ELEMENT_TIMEOUT}; "
        f"size {SET_SIZE}; counter; }}\n"
        for name, kind in (("orig", ported), ("reply", ported), ("starts", ported),
                           ("other_orig", portless), ("other_reply", portless),
                           ("other_starts", portless)))
    fwd = "ip saddr . ip daddr . meta l4proto"
    rev = "ip daddr . ip saddr . meta l4proto"
    ports = "meta l4proto { tcp, udp, sctp }"
    no_ports = "meta l4proto != { tcp, udp, sctp }"
    first = (f"ct state new ct mark and {CT_MARK_COUNTED} == 0 "
             f"ct mark set ct mark or {CT_MARK_COUNTED}")
    return (
        f"table ip {NFT_TABLE} {{\n{sets}"
        "  chain forward {\n"
        "    type filter hook forward priority 0; policy accept;\n"
        f"    {ports} ct direction original update @orig {{ {fwd} . th dport }}\n"
        f"    {ports} ct direction reply update @reply {{ {rev} . th sport }}\n"
        f"    {ports} {first} update @starts {{ {fwd} . th dport }}\n"
        f"    {no_ports} ct direction original update @other_orig {{ {fwd} }}\n"
        f"    {no_ports} ct direction reply update @other_reply {{ {rev} }}\n"
        f"    {no_ports} {first} update @other_starts {{ {fwd} }}\n"
        "  }\n}\n")


def nft_available() -> bool:
    return shutil.which("nft") is not None


def _nft(netns: str | None, args: list[str], stdin: str | None = None) -> str:
    prefix = ["ip", "netns", "exec", netns] if netns is not None else []
    try:
        with FORK_LOCK:     # the agent forks workers meanwhile: see dpictl.forklock
            done = subprocess.run([*prefix, "nft", *args], input=stdin, capture_output=True,
                                  text=True, timeout=30)
    except FileNotFoundError:
        raise ClusterError("flow logs need nftables (nft)",
                           hint="apt-get install nftables") from None
    if done.returncode != 0:
        raise ClusterError(f"nft in netns {netns or '(own)'} failed: "
                           f"{done.stderr.strip().splitlines()[-1:] or ['?']}")
    return done.stdout


def enable_accounting(netns: str | None) -> bool:
    """Install the counting table in `netns` (None: this process's own) unless it is there;
    True when it was installed now. An existing table is left alone: replacing it would
    lose the counts of the interval in progress."""
    if not nft_available():
        raise ClusterError("flow logs need nftables (nft) to count flows",
                           hint="apt-get install nftables")
    if netns is not None:
        if not os.path.exists(netns_path(netns)):
            raise ClusterError(f"no network namespace {netns}")
        # conntrack's own counters too (`conntrack -L` shows them); the sets do not need it
        set_sysctls(netns, {"net/netfilter/nf_conntrack_acct": "1"})
    try:
        _nft(netns, ["list", "table", "ip", NFT_TABLE])
        return False
    except ClusterError:
        pass
    _nft(netns, ["-f", "-"], _ruleset())
    return True


def disable_accounting(netns: str | None) -> None:
    """Remove the table (the node netns going away removes it too)."""
    if nft_available() and (netns is None or os.path.exists(netns_path(netns))):
        _nft(netns, ["-f", "-"], f"table ip {NFT_TABLE} {{}}\ndelete table ip {NFT_TABLE}\n")


def read_counters(netns: str | None, sock: socket.socket | None = None) -> list[KeyCounters]:
    """Every key's cumulative counters: the six sets dumped over nfnetlink (`sock` from
    `open_socket`, else a socket opened for this read)."""
    own = sock is None
    if own:
        sock = open_socket(netns)
    try:
        merged: dict[tuple, dict[str, int]] = {}
        for name in SETS:
            direction = name.removeprefix("other_")
            for key, packets, octets in _dump_set(sock, name):
                slot = merged.setdefault(key, {})
                if direction == "starts":
                    slot["started"] = packets
                else:
                    slot[f"packets_{direction}"] = packets
                    slot[f"bytes_{direction}"] = octets
        return [KeyCounters(*key, **values) for key, values in merged.items()]
    finally:
        if own:
            sock.close()


def read_counters_nft(netns: str | None) -> list[KeyCounters]:
    """The same through `nft -j` (the reference the tests hold `read_counters` to; 4x
    slower: nft spends ~16 us an element building JSON)."""
    doc = json.loads(_nft(netns, ["-j", "list", "table", "ip", NFT_TABLE]) or "{}")
    merged: dict[tuple, dict[str, int]] = {}
    for item in doc.get("nftables", []):
        found = item.get("set")
        if not found:
            continue
        direction = found.get("name", "").removeprefix("other_")
        for entry in found.get("elem") or []:
            elem = entry.get("elem") if isinstance(entry, dict) else None
            if not isinstance(elem, dict):
                continue
            parts = (elem.get("val") or {}).get("concat") or []
            counter = elem.get("counter") or {}
            if len(parts) not in (3, 4):
                continue
            key = (str(parts[0]), str(parts[1]), str(parts[2]),
                   int(parts[3]) if len(parts) == 4 else 0)
            slot = merged.setdefault(key, {})
            packets, octets = int(counter.get("packets", 0)), int(counter.get("bytes", 0))
            if direction == "starts":
                slot["started"] = packets
            else:
                slot[f"packets_{direction}"] = packets
                slot[f"bytes_{direction}"] = octets
    return [KeyCounters(*key, **values) for key, values in merged.items()]


# -- nfnetlink: the set elements, read directly ----------------------------------------------
# Why by hand: `nft -j list table` costs ~47 us of CPU per element (JSON building in nft,
# measured with 10 000 keys: 0.47 s) plus ~14 us to parse its output here; the elements'
# binary layout is fixed by the set types above, so they are read with struct instead
# (tests/flowlogs checks this reader against `nft -j`).
NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETSETELEM = 13
NFPROTO_IPV4 = 2
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_ELEMENTS = 1, 2, 3
NFTA_LIST_ELEM = 1
# attribute numbers from <linux/netfilter/nf_tables.h>
NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_EXPR, NFTA_SET_ELEM_EXPRESSIONS = 1, 7, 11
NFTA_DATA_VALUE = 1
NFTA_EXPR_NAME, NFTA_EXPR_DATA = 1, 2
NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS = 1, 2
SETS = ("orig", "reply", "starts", "other_orig", "other_reply", "other_starts")
_HEADER = struct.Struct("=IHHII")
_NFGEN = struct.Struct("=BBH")
_NLA = struct.Struct("=HH")
_BE64 = struct.Struct("!Q")
_PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 132: "sctp", 58: "ipv6-icmp"}


def open_socket(netns: str | None) -> socket.socket:
    """An nfnetlink socket in `netns` (a socket stays in the netns it was made in)."""
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                             NETLINK_NETFILTER)
        sock.bind((0, 0))
        return sock
    return make() if netns is None else run_in_netns(netns, make)


def _nla(kind: int, payload: bytes) -> bytes:
    raw = _NLA.pack(4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def _dump_set(sock: socket.socket, name: str) -> list[tuple[tuple, int, int]]:
    body = (_NFGEN.pack(NFPROTO_IPV4, 0, 0)
            + _nla(NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE.encode() + b"\0")
            + _nla(NFTA_SET_ELEM_LIST_SET, name.encode() + b"\0"))
    kind = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM
    sock.send(_HEADER.pack(_HEADER.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
              + body)
    out: list[tuple[tuple, int, int]] = []
    while True:
        data = sock.recv(1 << 20)
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, msg_type = _HEADER.unpack_from(data, offset)[:2]
            if length < _HEADER.size:
                break
            if msg_type == NLMSG_DONE:
                return out
            if msg_type == NLMSG_ERROR:
                code = -struct.unpack_from("=i", data, offset + _HEADER.size)[0]
                if code:
                    raise ClusterError(f"reading flow set {name}: {os.strerror(code)}")
                return out
            _elements(data, offset + _HEADER.size + _NFGEN.size, offset + length, out)
            offset += (length + 3) & ~3


def _walk(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of each attribute in data[start:end]."""
    while start + 4 <= end:
        length, kind = _NLA.unpack_from(data, start)
        if length < 4:
            return
        yield kind & 0x3FFF, start + 4, start + length
        start += (length + 3) & ~3


def _elements(data: bytes, start: int, end: int, out: list) -> None:
    for kind, a, b in _walk(data, start, end):
        if kind != NFTA_SET_ELEM_LIST_ELEMENTS:
            continue
        for _, ea, eb in _walk(data, a, b):              # NFTA_LIST_ELEM
            key = None
            packets = octets = 0
            for ekind, xa, xb in _walk(data, ea, eb):
                if ekind == NFTA_SET_ELEM_KEY:
                    for vkind, va, vb in _walk(data, xa, xb):
                        if vkind == NFTA_DATA_VALUE:
                            key = _key(data, va, vb)
                elif ekind in (NFTA_SET_ELEM_EXPR, NFTA_SET_ELEM_EXPRESSIONS):
                    packets, octets = _counter(data, xa, xb, ekind == NFTA_SET_ELEM_EXPR)
            if key is not None:
                out.append((key, packets, octets))


def _key(data: bytes, start: int, end: int) -> tuple | None:
    """A concatenation: each part padded to 4 bytes (addresses, proto, port big-endian)."""
    if end - start not in (12, 16):
        return None
    proto = data[start + 8]
    port = int.from_bytes(data[start + 12:start + 14], "big") if end - start == 16 else 0
    return (socket.inet_ntoa(data[start:start + 4]), socket.inet_ntoa(data[start + 4:start + 8]),
            _PROTO_NAMES.get(proto, str(proto)), port)


def _counter(data: bytes, start: int, end: int, single: bool) -> tuple[int, int]:
    exprs = [(start, end)] if single else [(a, b) for _, a, b in _walk(data, start, end)]
    for a, b in exprs:
        name = payload = None
        for kind, xa, xb in _walk(data, a, b):
            if kind == NFTA_EXPR_NAME:
                name = data[xa:xb].rstrip(b"\0")
            elif kind == NFTA_EXPR_DATA:
                payload = (xa, xb)
        if name == b"counter" and payload is not None:
            packets = octets = 0
            for kind, ca, _ in _walk(data, *payload):
                if kind == NFTA_COUNTER_PACKETS:
                    packets = _BE64.unpack_from(data, ca)[0]
                elif kind == NFTA_COUNTER_BYTES:
                    octets = _BE64.unpack_from(data, ca)[0]
            return packets, octets
    return 0, 0


__all__ = ["KeyCounters", "enable_accounting", "disable_accounting", "read_counters",
           "read_counters_nft", "open_socket", "nft_available", "NFT_TABLE", "SET_SIZE", "ELEMENT_TIMEOUT"]
