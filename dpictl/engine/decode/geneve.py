"""Geneve (RFC 8926): an EtherType-tagged packet inside UDP, by default on port 6081.

The 8-byte fixed header holds the version (2 bits, only 0 exists), the options length in
4-byte words (6 bits), the O and C flags and 6 reserved bits, the protocol type (an
EtherType), the 24-bit VNI and 8 reserved bits; then come the options, each a 4-byte
header (class, type, length in 4-byte words in its low 5 bits) and its data. As Suricata's
decode-geneve.c, a datagram on the Geneve port is taken as Geneve only when the version is 0,
the reserved bits are clear and the options exactly fill the announced length; otherwise it
stays plain UDP. Suricata matches the port on either side of the datagram, so do we. The
payload is Ethernet (0x6558), IPv4 or IPv6; anything else is not followed.
"""

from __future__ import annotations

import struct

HEADER_LEN = 8
OPTION_HEADER_LEN = 4
DEFAULT_PORTS = frozenset((6081,))
_HEADER = struct.Struct("!BBHI")
_FOLLOWED = frozenset((0x0800, 0x86DD, 0x6558))


def inner(buf: bytes, off: int, end: int) -> tuple[int, int] | None:
    """(EtherType, offset) of the packet inside the Geneve header at `off`, or None."""
    if end - off < HEADER_LEN:
        return None
    ver_optlen, flags, ethertype, vni_res = _HEADER.unpack_from(buf, off)
    if ver_optlen >> 6 or flags & 0x3F or vni_res & 0xFF:
        return None
    start = off + HEADER_LEN
    stop = start + ((ver_optlen & 0x3F) << 2)
    if stop > end:
        return None
    pos = start
    while pos < stop:                       # each option is at least its 4-byte header
        if stop - pos < OPTION_HEADER_LEN:
            return None
        pos += OPTION_HEADER_LEN + ((buf[pos + 3] & 0x1F) << 2)
    if pos != stop or ethertype not in _FOLLOWED:
        return None
    return ethertype, stop


__all__ = ["inner", "HEADER_LEN", "OPTION_HEADER_LEN", "DEFAULT_PORTS"]
