"""Header keywords tested on the decoded packet: dsize, ttl, id, itype/icode, icmp_id/seq,
seq, ack, window, ip_proto, tos, fragoffset, TCP flags, IP fragbits and flow:only_frag/no_frag.

Each keyword compiles to one callable `check(pkt) -> bool` so the signature evaluates a flat
tuple of calls that read the `Packet` fields directly (no per-packet dispatch on the keyword
name). The callables are `functools.partial`s of module functions rather than closures so
that compiled signatures pickle (the on-disk rule cache); a partial calls as fast as a
closure, and a comparison such as `partial(operator.lt, 5)` runs entirely in C.
"""

from __future__ import annotations

import operator
from functools import partial
from typing import Callable

from dpictl.engine.packet import Packet
from dpictl.rules.ast import Flags, Fragbits, NumericTest

Check = Callable[[Packet], bool]

# NumericTest keywords that read one Packet attribute.
_PACKET_FIELDS = {
    "dsize": None, "ttl": "ttl", "id": "ip_id", "itype": "icmp_type", "icode": "icmp_code",
    "icmp_id": "icmp_id", "icmp_seq": "icmp_seq", "seq": "seq", "ack": "ack",
    "window": "window", "ip_proto": "ip_proto", "tos": "tos", "fragoffset": "frag_offset",
}
_ICMP_ID_TYPES = frozenset({0, 8, 13, 14, 15, 16, 17, 18, 128, 129})
_TCP_FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20,
                  "E": 0x40, "C": 0x80, "2": 0x40, "1": 0x80, "0": 0x00}
_FRAG_BITS = {"M": 0x1, "D": 0x2, "R": 0x4}

# `v OP value` as a one-argument call on v: operator.X(value, v) with the operands swapped.
_SWAPPED = {"=": operator.eq, "!=": operator.ne, "<": operator.gt, ">": operator.lt,
            "<=": operator.ge, ">=": operator.le}


def numeric_compare(op: str, value: int, high: int | None) -> Callable[[int], bool]:
    swapped = _SWAPPED.get(op)
    if swapped is not None:
        return partial(swapped, value)
    hi = value if high is None else high
    if op == "<>":
        return partial(_between, value, hi)
    if op == "<=>":
        return partial(_between_inclusive, value, hi)
    raise ValueError(f"unknown comparison {op!r}")


def _between(low: int, high: int, v: int) -> bool:
    return low < v < high


def _between_inclusive(low: int, high: int, v: int) -> bool:
    return low <= v <= high


def is_packet_numeric(test: NumericTest) -> bool:
    return test.keyword in _PACKET_FIELDS


def compile_numeric(test: NumericTest) -> Check:
    cmp = numeric_compare(test.op, test.value, test.high)
    kw = test.keyword
    if kw == "dsize":
        return partial(_dsize, cmp)
    attr = _PACKET_FIELDS[kw]
    if kw in ("itype", "icode"):
        return partial(_icmp_field, cmp, attr)
    if kw in ("icmp_id", "icmp_seq"):
        return partial(_icmp_id_field, cmp, attr)
    if kw in ("seq", "ack", "window"):
        return partial(_tcp_field, cmp, attr)
    if kw == "id":
        return partial(_ipv4_field, cmp, attr)
    if kw == "fragoffset":
        return partial(_fragoffset, cmp)
    if kw in ("ttl", "tos"):
        return partial(_ip_field, cmp, attr)
    return partial(_field, cmp, attr)


def _dsize(cmp: Callable[[int], bool], p: Packet) -> bool:
    # a tunnel's outer packet has a payload Suricata does not inspect: no dsize matches it
    return not p.tunnel_outer and cmp(len(p.payload))


def _icmp_field(cmp: Callable[[int], bool], attr: str, p: Packet) -> bool:
    return p.icmp_type >= 0 and cmp(getattr(p, attr))


def _icmp_id_field(cmp: Callable[[int], bool], attr: str, p: Packet) -> bool:
    return p.icmp_type in _ICMP_ID_TYPES and cmp(getattr(p, attr))


def _tcp_field(cmp: Callable[[int], bool], attr: str, p: Packet) -> bool:
    return p.ip_proto == 6 and cmp(getattr(p, attr))


def _ip_field(cmp: Callable[[int], bool], attr: str, p: Packet) -> bool:
    return p.ip_version != 0 and cmp(getattr(p, attr))


def _ipv4_field(cmp: Callable[[int], bool], attr: str, p: Packet) -> bool:
    # Suricata's `id` reads the IPv4 identification only (an IPv6 fragment header's
    # identification is not it: checked with probe rules against Suricata 7.0.10)
    return p.ip_version == 4 and cmp(getattr(p, attr))


def _fragoffset(cmp: Callable[[int], bool], p: Packet) -> bool:
    # As Suricata 7.0.10 compares it (probe rules on fragments): IPv4's field in 8-byte
    # units, IPv6's fragment header offset in bytes, and only on a packet that has one
    if p.ip_version == 4:
        return cmp(p.frag_offset >> 3)
    return p.is_fragment and cmp(p.frag_offset)


def rebuilt_fragment(p: Packet) -> bool:
    """flow:only_frag: the packet was reassembled from fragments."""
    return p.defragmented


def not_rebuilt_fragment(p: Packet) -> bool:
    """flow:no_frag: the packet was not reassembled from fragments."""
    return not p.defragmented


def _field(cmp: Callable[[int], bool], attr: str, p: Packet) -> bool:
    return cmp(getattr(p, attr))


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
        return partial(_flags_all, keep & want, want)
    if mod == "*":
        return partial(_flags_any, keep & want)
    if mod == "!":
        return partial(_flags_not_all, keep & want, want)
    return partial(_flags_exact, keep, want)


def _flags_all(mask: int, want: int, p: Packet) -> bool:
    return p.ip_proto == 6 and (p.tcp_flags & mask) == want


def _flags_any(mask: int, p: Packet) -> bool:
    return p.ip_proto == 6 and (p.tcp_flags & mask) != 0


def _flags_not_all(mask: int, want: int, p: Packet) -> bool:
    return p.ip_proto == 6 and (p.tcp_flags & mask) != want


def _flags_exact(keep: int, want: int, p: Packet) -> bool:
    return p.ip_proto == 6 and (p.tcp_flags & keep) == want


def compile_fragbits(opt: Fragbits) -> Check:
    want = 0
    for ch in opt.bits.upper():
        want |= _FRAG_BITS.get(ch, 0)
    mod = opt.modifier
    if mod == "+":
        return partial(_frag_all, want, want)
    if mod == "*":
        return partial(_frag_any, want)
    if mod == "!":
        return partial(_frag_not_all, want, want)
    return partial(_frag_all, 0x7, want)


def _frag_all(mask: int, want: int, p: Packet) -> bool:
    return p.ip_version == 4 and (p.ip_flags & mask) == want


def _frag_any(mask: int, p: Packet) -> bool:
    return p.ip_version == 4 and (p.ip_flags & mask) != 0


def _frag_not_all(mask: int, want: int, p: Packet) -> bool:
    return p.ip_version == 4 and (p.ip_flags & mask) != want


__all__ = ["Check", "compile_numeric", "compile_flags", "compile_fragbits", "numeric_compare",
           "is_packet_numeric", "rebuilt_fragment", "not_rebuilt_fragment"]
