"""Ethernet II framing (IEEE 802.3, RFC 894) and the EtherType numbers the decoders dispatch on.

An Ethernet header is 14 bytes: destination MAC, source MAC, EtherType. A "type" below 0x0600
is an 802.3 length field (LLC/SNAP frames, spanning tree...): that frame carries no IP packet
we inspect, so it is reported as `ETH_P_NONE`.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Truncated

ETH_P_NONE = 0          # not an EtherType: an 802.3 length, or a link with no IP inside
ETH_P_IPV4 = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_IPV6 = 0x86DD
ETH_P_8021AD = 0x88A8
ETH_P_QINQ_OLD = 0x9100  # pre-standard stacked VLAN tag, still seen on some switches
ETH_P_TEB = 0x6558       # transparent Ethernet bridging (Ethernet inside GRE)

HEADER_LEN = 14
_TYPE = struct.Struct("!H")


def parse(buf: bytes, off: int) -> tuple[int, int]:
    """Return (ethertype, offset of the next header) for the Ethernet header at `off`."""
    if len(buf) - off < HEADER_LEN:
        raise Truncated("ethernet")
    (ethertype,) = _TYPE.unpack_from(buf, off + 12)
    if ethertype < 0x0600:
        return ETH_P_NONE, off + HEADER_LEN
    return ethertype, off + HEADER_LEN


__all__ = ["parse", "HEADER_LEN", "ETH_P_NONE", "ETH_P_IPV4", "ETH_P_ARP", "ETH_P_8021Q",
           "ETH_P_IPV6", "ETH_P_8021AD", "ETH_P_QINQ_OLD", "ETH_P_TEB"]
