"""TCP header (RFC 9293): ports, sequence numbers, flags, window, options kept raw.

Options are kept as bytes (`Packet.tcp_options`) rather than parsed: the stream engine reads
the few it needs (window scale, SACK permitted, timestamps) from them on SYNs only, and every
other packet saves the work. The payload is the segment data up to the IP payload end.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Malformed, Truncated
from dpictl.engine.packet import Packet

MIN_HEADER_LEN = 20
_HEADER = struct.Struct("!HHIIBBH")


def parse(pkt: Packet, buf: bytes, off: int, end: int) -> None:
    """Fill the TCP fields and payload of `pkt` from the header at `off`."""
    if end - off < MIN_HEADER_LEN:
        raise Truncated("tcp")
    sport, dport, seq, ack, data_off, flags, window = _HEADER.unpack_from(buf, off)
    hlen = (data_off >> 4) << 2
    if hlen < MIN_HEADER_LEN:
        raise Malformed("tcp: data offset below 5")
    if off + hlen > end:
        raise Truncated("tcp options")
    pkt.sport = sport
    pkt.dport = dport
    pkt.seq = seq
    pkt.ack = ack
    pkt.tcp_flags = flags
    pkt.window = window
    if hlen > MIN_HEADER_LEN:
        pkt.tcp_options = buf[off + MIN_HEADER_LEN:off + hlen]
    pkt.payload = buf[off + hlen:end]


__all__ = ["parse", "MIN_HEADER_LEN"]
