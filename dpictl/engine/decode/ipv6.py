"""IPv6 header (RFC 8200) and its extension-header chain.

Hop-by-hop options (0), routing (43), destination options (60), mobility (135, RFC 6275),
HIP (139) and shim6 (140) are skipped by their length byte (`(len + 1) * 8`); AH (51, RFC 4302)
by its own unit (`(len + 2) * 4`). The walk stops at the first upper-layer protocol, at ESP
(50: encrypted, nothing to read) and at No Next Header (59). A fragment header (44) ends the
walk too and is reported to the caller, which owns reassembly; an atomic fragment (offset 0,
M clear, RFC 6946) is not a fragment and the walk goes on. `MAX_EXTENSIONS` bounds the chain.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.addresses import ipv6_text
from dpictl.engine.decode.errors import Malformed, Truncated
from dpictl.engine.packet import Packet

HEADER_LEN = 40
NH_FRAGMENT = 44
NH_ESP = 50
NH_NONE = 59
MAX_EXTENSIONS = 16
_HEADER = struct.Struct("!IHBB16s16s")
_FRAGMENT = struct.Struct("!BBHI")
_EIGHT_OCTET_UNITS = frozenset((0, 43, 60, 135, 139, 140))
_AH = 51


def parse(pkt: Packet, buf: bytes, off: int, end: int) -> tuple[int, int, int, tuple | None]:
    """Fill `pkt` from the IPv6 header at `off` and walk its extension headers.

    Returns (upper protocol, payload offset, payload end, fragment) where fragment is None or
    (offset, more, ident, next header) and the payload offset is just after the fragment header.
    """
    if end - off < HEADER_LEN:
        raise Truncated("ipv6")
    vtcfl, plen, nh, hlim, src, dst = _HEADER.unpack_from(buf, off)
    if vtcfl >> 28 != 6:
        raise Malformed("ipv6: bad version")
    if plen == 0:                           # jumbogram (RFC 2675) or a GSO super-packet
        plen = end - off - HEADER_LEN
    elif off + HEADER_LEN + plen > end:
        raise Truncated("ipv6")
    pkt.ip_version = 6
    pkt.src = ipv6_text(src)
    pkt.dst = ipv6_text(dst)
    pkt.ttl = hlim
    pkt.tos = (vtcfl >> 20) & 0xFF
    pkt.ip_header = buf[off:off + HEADER_LEN]
    pkt.ip_len = HEADER_LEN + plen
    end = off + HEADER_LEN + plen
    if nh in _EIGHT_OCTET_UNITS or nh == NH_FRAGMENT or nh == _AH:
        nh, payload_off, frag = walk_extensions(buf, nh, off + HEADER_LEN, end)
        if frag is not None:
            pkt.ip_id = frag[2]
            pkt.frag_offset = frag[0]
            pkt.ip_flags = 1 if frag[1] else 0
    else:
        payload_off, frag = off + HEADER_LEN, None
    pkt.ip_proto = nh
    return nh, payload_off, end, frag


def walk_extensions(buf: bytes, nh: int, off: int, end: int) -> tuple[int, int, tuple | None]:
    """Skip extension headers from `off`; return (next header, offset, fragment or None)."""
    for _ in range(MAX_EXTENSIONS):
        if nh in _EIGHT_OCTET_UNITS:
            if end - off < 8:
                raise Truncated("ipv6 extension")
            size = (buf[off + 1] + 1) << 3
        elif nh == _AH:
            if end - off < 8:
                raise Truncated("ipv6 ah")
            size = (buf[off + 1] + 2) << 2
        elif nh == NH_FRAGMENT:
            if end - off < 8:
                raise Truncated("ipv6 fragment")
            next_nh, _res, offflags, ident = _FRAGMENT.unpack_from(buf, off)
            offset, more = offflags & 0xFFF8, offflags & 1
            if offset or more:
                return next_nh, off + 8, (offset, bool(more), ident, next_nh)
            nh, off = next_nh, off + 8
            continue
        else:
            return nh, off, None
        if off + size > end:
            raise Truncated("ipv6 extension")
        nh, off = buf[off], off + size
    raise Malformed("ipv6: too many extension headers")


__all__ = ["parse", "walk_extensions", "HEADER_LEN", "NH_FRAGMENT", "NH_ESP", "NH_NONE",
           "MAX_EXTENSIONS"]
