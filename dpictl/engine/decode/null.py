"""BSD loopback encapsulation: LINKTYPE_NULL (0) and LINKTYPE_LOOP (108), and raw IP link types.

NULL and LOOP put a 4-byte address family before the IP packet: in the capturing host's byte
order for NULL (so either order is possible in a file), in network order for LOOP. IPv6's
AF_INET6 differs between systems (10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS), hence
the table. See https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html. Raw IP link types
(101 RAW, 228 IPV4, 229 IPV6) have no link header at all; `parse_raw` reads the version nibble.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Truncated

HEADER_LEN = 4
_FAMILY_TO_ETHERTYPE = {2: 0x0800, 10: 0x86DD, 24: 0x86DD, 28: 0x86DD, 30: 0x86DD}
_VERSION_TO_ETHERTYPE = {4: 0x0800, 6: 0x86DD}
_LE32 = struct.Struct("<I")
_BE32 = struct.Struct("!I")


def parse_null(buf: bytes, off: int) -> tuple[int, int]:
    """Return (ethertype or 0, offset of the IP header) for a host-order NULL header."""
    if len(buf) - off < HEADER_LEN:
        raise Truncated("null")
    (family,) = _LE32.unpack_from(buf, off)
    if family > 0xFFFF:                 # written by a big-endian host
        (family,) = _BE32.unpack_from(buf, off)
    return _FAMILY_TO_ETHERTYPE.get(family, 0), off + HEADER_LEN


def parse_loop(buf: bytes, off: int) -> tuple[int, int]:
    """Return (ethertype or 0, offset of the IP header) for a network-order LOOP header."""
    if len(buf) - off < HEADER_LEN:
        raise Truncated("loop")
    (family,) = _BE32.unpack_from(buf, off)
    return _FAMILY_TO_ETHERTYPE.get(family, 0), off + HEADER_LEN


def parse_raw(buf: bytes, off: int) -> tuple[int, int]:
    """LINKTYPE_RAW: no link header; the IP version nibble says which IP it is."""
    if len(buf) - off < 1:
        raise Truncated("raw")
    return _VERSION_TO_ETHERTYPE.get(buf[off] >> 4, 0), off


def parse_ipv4(buf: bytes, off: int) -> tuple[int, int]:
    """LINKTYPE_IPV4: the frame is an IPv4 packet."""
    return 0x0800, off


def parse_ipv6(buf: bytes, off: int) -> tuple[int, int]:
    """LINKTYPE_IPV6: the frame is an IPv6 packet."""
    return 0x86DD, off


__all__ = ["parse_null", "parse_loop", "parse_raw", "parse_ipv4", "parse_ipv6"]
