"""UDP header (RFC 768).

The payload is bounded by the UDP length field when it is shorter than the IP payload (so
trailing junk is not inspected) and by the IP payload otherwise: a length longer than the
packet is truncation, a length below 8 is malformed except 0, which IPv6 jumbograms use to
mean "see the IP length".
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Malformed, Truncated
from dpictl.engine.packet import Packet

HEADER_LEN = 8
_HEADER = struct.Struct("!HHH")


def parse(pkt: Packet, buf: bytes, off: int, end: int) -> None:
    """Fill the UDP ports and payload of `pkt` from the header at `off`."""
    if end - off < HEADER_LEN:
        raise Truncated("udp")
    sport, dport, length = _HEADER.unpack_from(buf, off)
    if length:
        if length < HEADER_LEN:
            raise Malformed("udp: length below 8")
        if off + length > end:
            raise Truncated("udp")
        end = off + length
    pkt.sport = sport
    pkt.dport = dport
    pkt.payload = buf[off + HEADER_LEN:end]


__all__ = ["parse", "HEADER_LEN"]
