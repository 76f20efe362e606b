"""ICMPv6 (RFC 4443): type, code, and identifier/sequence for echo request/reply.

Same shape as ICMPv4: an 8-byte header (type, code, checksum, 4 message bytes), the rest is
`Packet.payload`. Neighbour discovery (RFC 4861) is not taken apart: rules match its bytes.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Truncated
from dpictl.engine.packet import Packet

HEADER_LEN = 8
ECHO_TYPES = frozenset((128, 129))
_HEADER = struct.Struct("!BBHHH")


def parse(pkt: Packet, buf: bytes, off: int, end: int) -> None:
    """Fill the ICMPv6 fields and payload of `pkt` from the header at `off`."""
    if end - off < HEADER_LEN:
        raise Truncated("icmpv6")
    icmp_type, code, _csum, ident, seq = _HEADER.unpack_from(buf, off)
    pkt.icmp_type = icmp_type
    pkt.icmp_code = code
    if icmp_type in ECHO_TYPES:
        pkt.icmp_id = ident
        pkt.icmp_seq = seq
    pkt.payload = buf[off + HEADER_LEN:end]


__all__ = ["parse", "HEADER_LEN", "ECHO_TYPES"]
