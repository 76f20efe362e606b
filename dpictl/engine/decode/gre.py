"""GRE (RFC 2784 with RFC 2890 key and sequence; RFC 2637 enhanced GRE for PPTP) and ERSPAN.

GRE version 0 carries an EtherType-identified payload: IPv4, IPv6, Ethernet (transparent
bridging, 0x6558), or ERSPAN type II (0x88BE, 8-byte header) / III (0x22EB, 12 bytes plus an
optional 8-byte sub-header) mirrored Ethernet frames. Version 1 (PPTP) carries PPP, whose
protocol field maps IPv4 (0x0021) and IPv6 (0x0057). Source routing (RFC 1701's R bit) is
obsolete and reported as malformed. `parse` returns the EtherType of what follows, 0 when it
is something we do not inspect.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Malformed, Truncated

HEADER_LEN = 4
FLAG_CHECKSUM = 0x8000
FLAG_ROUTING = 0x4000
FLAG_KEY = 0x2000
FLAG_SEQ = 0x1000
FLAG_ACK = 0x0080            # version 1 only
ETH_P_ERSPAN2 = 0x88BE
ETH_P_ERSPAN3 = 0x22EB
ETH_P_PPP = 0x880B
_ETH_P_TEB = 0x6558
_PPP_TO_ETHERTYPE = {0x0021: 0x0800, 0x0057: 0x86DD}
_HEADER = struct.Struct("!HH")
_U16 = struct.Struct("!H")


def parse(buf: bytes, off: int, end: int) -> tuple[int, int]:
    """Return (ethertype of the payload or 0, payload offset) for the GRE header at `off`."""
    if end - off < HEADER_LEN:
        raise Truncated("gre")
    flags, proto = _HEADER.unpack_from(buf, off)
    version = flags & 0x7
    if flags & FLAG_ROUTING or version > 1:
        raise Malformed("gre: routing or unknown version")
    size = HEADER_LEN
    if flags & FLAG_CHECKSUM:
        size += 4
    if flags & FLAG_KEY:
        size += 4
    if flags & FLAG_SEQ:
        size += 4
    if version == 1 and flags & FLAG_ACK:
        size += 4
    off += size
    if off > end:
        raise Truncated("gre")
    if version == 1:
        return _ppp(buf, off, end) if proto == ETH_P_PPP else (0, off)
    if proto == ETH_P_ERSPAN2:
        return _ETH_P_TEB, _skip(off, 8, end)
    if proto == ETH_P_ERSPAN3:
        if end - off < 12:
            raise Truncated("erspan")
        return _ETH_P_TEB, _skip(off, 20 if buf[off + 11] & 1 else 12, end)
    return proto, off


def _skip(off: int, size: int, end: int) -> int:
    if off + size > end:
        raise Truncated("erspan")
    return off + size


def _ppp(buf: bytes, off: int, end: int) -> tuple[int, int]:
    """PPP inside PPTP: optional FF 03 address/control, then a 1- or 2-byte protocol."""
    if end - off >= 2 and buf[off] == 0xFF and buf[off + 1] == 0x03:
        off += 2
    if end - off < 1:
        raise Truncated("ppp")
    if buf[off] & 1:                    # protocol field compressed to one byte
        return _PPP_TO_ETHERTYPE.get(buf[off], 0), off + 1
    if end - off < 2:
        raise Truncated("ppp")
    (proto,) = _U16.unpack_from(buf, off)
    return _PPP_TO_ETHERTYPE.get(proto, 0), off + 2


__all__ = ["parse", "HEADER_LEN", "ETH_P_ERSPAN2", "ETH_P_ERSPAN3", "ETH_P_PPP"]
