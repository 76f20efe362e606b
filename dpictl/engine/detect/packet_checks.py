"""Header keywords tested on the decoded packet: dsize, ttl, id, itype/icode, icmp_id/seq,
seq, ack, window, ip_proto, tos, TCP flags and IP fragbits.

Each keyword compiles to one closure `check(pkt) -> bool` so the signature evaluates a flat
tuple of calls; the closures read the `Packet` fields directly (no per-packet dispatch on
the keyword name).
"""

from __future__ import annotations

from typing import Callable

from dpictl.engine.packet import Packet
from dpictl.rules.ast import Flags, Fragbits, NumericTest

Check = Callable[[Packet], bool]

# NumericTest keywords that read one Packet attribute.
_PACKET_FIELDS = {
    "dsize": None, "ttl": "ttl", "id": "ip_id", "itype": "icmp_type", "icode": "icmp_code",
    "icmp_id": "icmp_id", "icmp_seq": "icmp_seq", "seq": "seq", "ack": "ack",
    "window": "window", "ip_proto": "ip_proto", "tos": "tos",
}
_ICMP_ID_TYPES = frozenset({0, 8, 13, 14, 15, 16, 17, 18, 128, 129})
_TCP_FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20,
                  "E": 0x40, "C": 0x80, "2": 0x40, "1": 0x80, "0": 0x00}
_FRAG_BITS = {"M": 0x1, "D": 0x2, "R": 0x4}


def numeric_compare(op: str, value: int, high: int | None) -> Callable[[int], bool]:
    if op == "=":
        return lambda v: v == value
    if op == "!=":
        return lambda v: v != value
    if op == "<":
        return lambda v: v < value
    if op == ">":
        return lambda v: v > value
    if op == "<=":
        return lambda v: v <= value
    if op == ">=":
        return lambda v: v >= value
    hi = value if high is None else high
    if op == "<>":
        return lambda v: value < v < hi
    if op == "<=>":
        return lambda v: value <= v <= hi
    raise ValueError(f"unknown comparison {op!r}")


def is_packet_numeric(test: NumericTest) -> bool:
    return test.keyword in _PACKET_FIELDS


def compile_numeric(test: NumericTest) -> Check:
    cmp = numeric_compare(test.op, test.value, test.high)
    kw = test.keyword
    if kw == "dsize":
        return lambda p: cmp(len(p.payload))
    attr = _PACKET_FIELDS[kw]
    if kw in ("itype", "icode"):
        return lambda p: p.icmp_type >= 0 and cmp(getattr(p, attr))
    if kw in ("icmp_id", "icmp_seq"):
        return lambda p: p.icmp_type in _ICMP_ID_TYPES and cmp(getattr(p, attr))
    if kw in ("seq", "ack", "window"):
        return lambda p: p.ip_proto == 6 and cmp(getattr(p, attr))
    if kw in ("ttl", "id", "tos"):
        return lambda p: p.ip_version != 0 and cmp(getattr(p, attr))
    return lambda p: cmp(getattr(p, attr))


def compile_flags(opt: Flags) -> Check:
    """Suricata detect-tcp-flags.c: the mask names bits to ignore."""
    want = 0
    for ch in opt.flags.upper():
        want |= _TCP_FLAG_BITS.get(ch, 0)
    ignore = 0
    for ch in opt.mask.upper():
        ignore |= _TCP_FLAG_BITS.get(ch, 0)
    keep = 0xFF & ~ignore
    mod = opt.modifier
    if mod == "+":
        return lambda p: p.ip_proto == 6 and (p.tcp_flags & keep & want) == want
    if mod == "*":
        return lambda p: p.ip_proto == 6 and (p.tcp_flags & keep & want) != 0
    if mod == "!":
        return lambda p: p.ip_proto == 6 and (p.tcp_flags & keep & want) != want
    return lambda p: p.ip_proto == 6 and (p.tcp_flags & keep) == want


def compile_fragbits(opt: Fragbits) -> Check:
    want = 0
    for ch in opt.bits.upper():
        want |= _FRAG_BITS.get(ch, 0)
    mod = opt.modifier
    if mod == "+":
        return lambda p: p.ip_version == 4 and (p.ip_flags & want) == want
    if mod == "*":
        return lambda p: p.ip_version == 4 and (p.ip_flags & want) != 0
    if mod == "!":
        return lambda p: p.ip_version == 4 and (p.ip_flags & want) != want
    return lambda p: p.ip_version == 4 and (p.ip_flags & 0x7) == want


__all__ = ["Check", "compile_numeric", "compile_flags", "compile_fragbits", "numeric_compare",
           "is_packet_numeric"]
