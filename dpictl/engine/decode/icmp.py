"""ICMP for IPv4 (RFC 792): type, code, and identifier/sequence for the query messages.

The header is 8 bytes; `Packet.payload` is what follows (for errors, the quoted IP header and
8 bytes of the offending datagram, which rules inspect as data). Identifier and sequence are
filled only for the messages that define them (echo, timestamp, information, address mask),
as Snort's `icmp_id`/`icmp_seq` only apply to those; they stay 0 otherwise.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Truncated
from dpictl.engine.packet import Packet

HEADER_LEN = 8
QUERY_TYPES = frozenset((0, 8, 13, 14, 15, 16, 17, 18))
_HEADER = struct.Struct("!BBHHH")


def parse(pkt: Packet, buf: bytes, off: int, end: int) -> None:
    """Fill the ICMP fields and payload of `pkt` from the header at `off`."""
    parse_header(pkt, buf, off, end, QUERY_TYPES, "icmp")


def parse_header(pkt: Packet, buf: bytes, off: int, end: int, id_types: frozenset[int],
                 name: str) -> None:
    """ICMP and ICMPv6 share this header; only which types carry id/seq differs."""
    if end - off < HEADER_LEN:
        raise Truncated(name)
    icmp_type, code, _csum, ident, seq = _HEADER.unpack_from(buf, off)
    pkt.icmp_type = icmp_type
    pkt.icmp_code = code
    if icmp_type in id_types:
        pkt.icmp_id = ident
        pkt.icmp_seq = seq
    pkt.payload = buf[off + HEADER_LEN:end]


__all__ = ["parse", "parse_header", "HEADER_LEN", "QUERY_TYPES"]
