"""IEEE 802.1Q VLAN tags and 802.1ad (Q-in-Q) stacked tags.

A tag is 4 bytes after the MAC addresses: the TCI (3 bits priority, 1 bit DEI, 12 bits VLAN
id) and the EtherType of what follows, which may be another tag. The caller loops while the
EtherType is one of `TAG_TYPES`, bounded by `MAX_TAGS` so a frame of nothing but tags
cannot keep the decoder busy.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.errors import Malformed, Truncated

TAG_TYPES = frozenset((0x8100, 0x88A8, 0x9100))
TAG_LEN = 4
MAX_TAGS = 4
_TAG = struct.Struct("!HH")


def parse(buf: bytes, off: int) -> tuple[int, int, int]:
    """Return (vlan id, inner ethertype, offset after the tag) for the tag at `off`."""
    if len(buf) - off < TAG_LEN:
        raise Truncated("vlan")
    tci, ethertype = _TAG.unpack_from(buf, off)
    if ethertype < 0x0600:
        ethertype = 0
    return tci & 0x0FFF, ethertype, off + TAG_LEN


def parse_stack(buf: bytes, ethertype: int, off: int) -> tuple[tuple[int, ...], int, int]:
    """Peel every tag starting at `off`; return (vlan ids outermost first, ethertype, offset)."""
    vids: list[int] = []
    while ethertype in TAG_TYPES:
        if len(vids) == MAX_TAGS:
            raise Malformed("vlan: too many stacked tags")
        vid, ethertype, off = parse(buf, off)
        vids.append(vid)
    return tuple(vids), ethertype, off


__all__ = ["parse", "parse_stack", "TAG_TYPES", "TAG_LEN", "MAX_TAGS"]
