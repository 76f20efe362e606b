"""ber_data and ber_skip: read the BER element (identifier, length, contents) at the cursor.

Hand-written rather than taken from an ASN.1 library (pyasn1, asn1crypto): those decode
whole, valid structures, while a rule walks one element header at a time through data that
is usually truncated (a TCP segment of a certificate) and often hostile, and must fail,
not raise, on anything odd. The rules follow Snort 3's BER reader (utils/util_ber.cc):

- identifier: one byte, kept whole (class and constructed bits included: 0x30 is a
  SEQUENCE), unless its low five bits are all set, in which case the type is the tag
  number from the base-128 bytes that follow (leading 0x80 padding ignored, at most four
  significant bytes);
- length: short form (< 0x80), or long form 0x8N followed by N big-endian bytes (leading
  zero bytes ignored, at most four significant ones); the indefinite form 0x80 fails;
- every byte read must be inside the buffer.

`ber_data` then needs only the element's header inside the buffer (its contents may run
past the end: the following options inspect what is there); `ber_skip` needs the whole
element inside the buffer.
"""

from __future__ import annotations

from typing import NamedTuple

from dpictl.rules.ast import BerData, BerSkip

_MAX_BYTES = 4          # Snort 3 keeps types and lengths in a uint32


class BerElement(NamedTuple):
    type: int
    header_length: int   # identifier + length octets
    total_length: int    # header + contents


def read_element(buf: bytes, pos: int) -> BerElement | None:
    """The element starting at buf[pos], or None when its header cannot be read."""
    end = len(buf)
    if pos < 0 or pos >= end:
        return None
    first = buf[pos]
    cur = pos + 1
    if first & 0x1F != 0x1F:
        etype = first
    else:                       # high tag number form: base-128 digits
        etype, digits = 0, 0
        while True:
            if cur >= end:
                return None
            b = buf[cur]
            cur += 1
            if digits == 0 and b == 0x80:
                continue
            etype = (etype << 7) | (b & 0x7F)
            digits += 1
            if digits > _MAX_BYTES:
                return None
            if not b & 0x80:
                break
    if cur >= end:
        return None
    b = buf[cur]
    cur += 1
    if not b & 0x80:
        length = b
    else:
        size = b & 0x7F
        if size == 0 or cur + size > end:       # indefinite form, or truncated
            return None
        significant = buf[cur:cur + size].lstrip(b"\x00")
        if len(significant) > _MAX_BYTES:
            return None
        length = int.from_bytes(significant, "big")
        cur += size
    header = cur - pos
    return BerElement(etype, header, header + length)


def ber_data(node: BerData, buf: bytes, cursor: int) -> int | None:
    """The cursor at the element's contents, or None (no match)."""
    element = read_element(buf, cursor)
    if element is None or element.type != node.type:
        return None
    return cursor + element.header_length


def ber_skip(node: BerSkip, buf: bytes, cursor: int) -> int | None:
    """The cursor past the element (unchanged for an `optional` skip of another type), or
    None (no match). An unreadable element fails even when optional, as in Snort 3."""
    element = read_element(buf, cursor)
    if element is None:
        return None
    if element.type != node.type:
        return cursor if node.optional else None
    if cursor + element.total_length > len(buf):
        return None
    return cursor + element.total_length


__all__ = ["BerElement", "read_element", "ber_data", "ber_skip"]
