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
OPT_END, OPT_NOP = 0, 1
OPT_FAST_OPEN = 34                      # RFC 7413
OPT_EXPERIMENT = (253, 254)             # RFC 6994; TFO's draft used them with magic 0xF989
FAST_OPEN_MAGIC = b"\xf9\x89"
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


def has_fast_open(options: bytes) -> bool:
    """A TCP Fast Open option (RFC 7413) is among `options`, as Suricata's decode-tcp.c accepts
    it: kind 34 with length 2 (a cookie request) or an even length from 6 to 18, or the
    experimental kinds 253/254 with the TFO magic and length 4 or 12."""
    i, size = 0, len(options)
    while i < size:
        kind = options[i]
        if kind == OPT_END:
            return False
        if kind == OPT_NOP:
            i += 1
            continue
        if i + 1 >= size:
            return False
        olen = options[i + 1]
        if olen < 2 or i + olen > size:
            return False
        if kind == OPT_FAST_OPEN and (olen == 2 or (6 <= olen <= 18 and not olen & 1)):
            return True
        if (kind in OPT_EXPERIMENT and olen in (4, 12)
                and options[i + 2:i + 4] == FAST_OPEN_MAGIC):
            return True
        i += olen
    return False


__all__ = ["parse", "has_fast_open", "MIN_HEADER_LEN", "OPT_FAST_OPEN", "OPT_EXPERIMENT",
           "FAST_OPEN_MAGIC"]
