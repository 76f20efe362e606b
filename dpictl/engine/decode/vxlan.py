"""VXLAN (RFC 7348): Ethernet frames inside UDP, by default on port 4789.

The 8-byte header is flags (the I bit, 0x08, says the VNI is valid), 24 reserved bits, the
24-bit VNI and 8 reserved bits. Like Suricata, a datagram on the VXLAN port whose header does
not have the I bit is left alone as plain UDP rather than guessed at. The VNI is not kept:
`Packet` has no field for it and no rule keyword reads it.
"""

from __future__ import annotations

import struct

HEADER_LEN = 8
DEFAULT_PORTS = frozenset((4789,))
FLAG_VNI = 0x08
_HEADER = struct.Struct("!BBHI")


def inner_offset(buf: bytes, off: int, end: int) -> int | None:
    """Offset of the inner Ethernet header, or None when `off` holds no valid VXLAN header."""
    if end - off < HEADER_LEN + 14:
        return None
    flags, _res1, _res2, _vni_res = _HEADER.unpack_from(buf, off)
    if not flags & FLAG_VNI:
        return None
    return off + HEADER_LEN


__all__ = ["inner_offset", "HEADER_LEN", "DEFAULT_PORTS", "FLAG_VNI"]
