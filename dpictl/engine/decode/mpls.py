"""MPLS label stacks (RFC 3032) on EtherTypes 0x8847 (unicast) and 0x8848 (multicast).

Each 4-byte entry is a 20-bit label, 3 traffic-class bits, the bottom-of-stack bit and a TTL.
MPLS says nothing of what the stack carries, so `parse` guesses as Suricata's decode-mpls.c
does, to inspect the same packets: below the bottom entry, label 0 (IPv4 explicit null) means
IPv4 and label 2 (IPv6 explicit null) IPv6; labels 1 and 3 (router alert, implicit null) and
the other reserved labels below 15 carry nothing we inspect; any other label is followed by
IPv4 or IPv6 as told by the version nibble, or, for nibble 0, by an Ethernet pseudowire behind
a 4-byte control word (RFC 4385). The stack is walked to its end, as deep as it goes: each entry
costs 4 bytes of frame, so the frame's length bounds the walk.
"""

from __future__ import annotations

from dpictl.engine.decode.errors import Truncated

ETH_P_MPLS_UC = 0x8847
ETH_P_MPLS_MC = 0x8848
ENTRY_LEN = 4
CONTROL_WORD_LEN = 4
LABEL_IPV4_NULL = 0
LABEL_IPV6_NULL = 2
MAX_RESERVED_LABEL = 15
_ETH_P_IPV4 = 0x0800
_ETH_P_IPV6 = 0x86DD
_ETH_P_TEB = 0x6558            # the decoder reads an Ethernet header next
_BY_NIBBLE = {4: _ETH_P_IPV4, 6: _ETH_P_IPV6}


def parse(buf: bytes, off: int, end: int) -> tuple[int, int]:
    """Return (EtherType of the payload, its offset) for the stack at `off`; 0 if not IP."""
    while True:
        if end - off < ENTRY_LEN:
            raise Truncated("mpls")
        bottom = buf[off + 2] & 0x01
        label = (buf[off] << 12) | (buf[off + 1] << 4) | (buf[off + 2] >> 4)
        off += ENTRY_LEN
        if bottom:
            break
    if label == LABEL_IPV4_NULL:
        return _ETH_P_IPV4, off
    if label == LABEL_IPV6_NULL:
        return _ETH_P_IPV6, off
    if label < MAX_RESERVED_LABEL:
        return 0, off
    if end - off < CONTROL_WORD_LEN:
        raise Truncated("mpls payload")
    nibble = buf[off] >> 4
    if nibble == 0:
        return _ETH_P_TEB, off + CONTROL_WORD_LEN
    return _BY_NIBBLE.get(nibble, 0), off


__all__ = ["parse", "ETH_P_MPLS_UC", "ETH_P_MPLS_MC", "ENTRY_LEN", "CONTROL_WORD_LEN",
           "LABEL_IPV4_NULL", "LABEL_IPV6_NULL", "MAX_RESERVED_LABEL"]
