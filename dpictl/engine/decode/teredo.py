"""Teredo (RFC 4380): IPv6 packets inside UDP, by default on port 3544.

Teredo has no header of its own that says "this is Teredo", so, as Suricata's
decode-teredo.c does, a datagram to or from the Teredo port is taken for one when it holds
an IPv6 packet that fills it exactly: an optional 8-byte origin indication (0x0000, port,
address) is skipped, an authentication indication (0x0001: a qualification exchange, not
tunnelled traffic) is not followed, and the IPv6 header must have version 6, a non-zero hop
limit, a payload length that ends at the end of the datagram, and not be a hop-by-hop header
announcing less than 8 bytes. Anything else stays plain UDP.
"""

from __future__ import annotations

import struct

DEFAULT_PORTS = frozenset((3544,))
ORIGIN_INDICATION_LEN = 8
IPV6_HEADER_LEN = 40
_PAYLOAD_LEN = struct.Struct("!H")


def inner_offset(buf: bytes, off: int, end: int) -> int | None:
    """Offset of the IPv6 packet inside the Teredo datagram payload at `off`, or None."""
    if end - off < IPV6_HEADER_LEN:
        return None
    start = off
    if buf[off] == 0:
        if buf[off + 1] != 0:                     # authentication or not Teredo at all
            return None
        if end - off < ORIGIN_INDICATION_LEN + IPV6_HEADER_LEN:
            return None
        start += ORIGIN_INDICATION_LEN
    if buf[start] >> 4 != 6 or buf[start + 7] == 0:
        return None
    (plen,) = _PAYLOAD_LEN.unpack_from(buf, start + 4)
    if buf[start + 6] == 0 and plen < 8:
        return None
    if start + IPV6_HEADER_LEN + plen != end:
        return None
    return start


__all__ = ["inner_offset", "DEFAULT_PORTS", "ORIGIN_INDICATION_LEN"]
