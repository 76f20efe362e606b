"""ICMPv6 (RFC 4443): type, code, and identifier/sequence for echo request/reply.

Same shape as ICMPv4: an 8-byte header (type, code, checksum, 4 message bytes), the rest is
`Packet.payload`. Neighbour discovery (RFC 4861) is not taken apart: rules match its bytes.
"""

from __future__ import annotations

from dpictl.engine.decode.icmp import HEADER_LEN, parse_header
from dpictl.engine.packet import Packet

ECHO_TYPES = frozenset((128, 129))


def parse(pkt: Packet, buf: bytes, off: int, end: int) -> None:
    """Fill the ICMPv6 fields and payload of `pkt` from the header at `off`."""
    parse_header(pkt, buf, off, end, ECHO_TYPES, "icmpv6")


__all__ = ["parse", "HEADER_LEN", "ECHO_TYPES"]
