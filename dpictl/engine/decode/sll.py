"""Linux "cooked" capture headers: SLL (linktype 113) and SLL2 (linktype 276).

Both are written by libpcap when capturing on the "any" device or on links without an Ethernet
header (tun, ppp). SLL (16 bytes): packet type, ARPHRD type, address length, 8 address bytes,
protocol. SLL2 (20 bytes): protocol first, then reserved, ifindex, ARPHRD type, packet type,
address length, 8 address bytes. See https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
and LINKTYPE_LINUX_SLL2.html. The protocol field is an EtherType except for a few ARPHRD types
(netlink, 802.2/802.3 markers below 0x0600) that carry no IP for us.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Truncated

SLL_LEN = 16
SLL2_LEN = 20
ARPHRD_NETLINK = 824
_SLL = struct.Struct("!HHH8sH")        # pkttype, hatype, halen, addr, protocol
_SLL2 = struct.Struct("!HHIHBB8s")     # protocol, reserved, ifindex, hatype, pkttype, halen, addr


def parse_sll(buf: bytes, off: int) -> tuple[int, int]:
    """Return (ethertype or 0, offset of the network header) for an SLL header."""
    if len(buf) - off < SLL_LEN:
        raise Truncated("sll")
    _pkttype, hatype, _halen, _addr, proto = _SLL.unpack_from(buf, off)
    if hatype == ARPHRD_NETLINK or proto < 0x0600:
        proto = 0
    return proto, off + SLL_LEN


def parse_sll2(buf: bytes, off: int) -> tuple[int, int]:
    """Return (ethertype or 0, offset of the network header) for an SLL2 header."""
    if len(buf) - off < SLL2_LEN:
        raise Truncated("sll2")
    proto, _res, _ifindex, hatype, _pkttype, _halen, _addr = _SLL2.unpack_from(buf, off)
    if hatype == ARPHRD_NETLINK or proto < 0x0600:
        proto = 0
    return proto, off + SLL2_LEN


__all__ = ["parse_sll", "parse_sll2", "SLL_LEN", "SLL2_LEN"]
