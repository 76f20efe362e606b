"""Writers for hand-made capture files: classic pcap in any byte order/time unit, pcapng blocks.

They exist so the reader tests can produce the variants the shared corpus lacks (big-endian,
nanosecond, several interfaces, SPB, obsolete PB) byte by byte, independently of the readers.
"""

from __future__ import annotations

import struct

MAGIC_US, MAGIC_NS = 0xA1B2C3D4, 0xA1B23C4D


def classic(records: list[tuple[int, int, bytes]], *, order: str = "<", magic: int = MAGIC_US,
            linktype: int = 1, caplen: int | None = None) -> bytes:
    """A classic pcap; records are (seconds, fraction, data). `caplen` overrides every caplen."""
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)]
    for sec, frac, data in records:
        length = len(data) if caplen is None else caplen
        out.append(struct.pack(order + "IIII", sec, frac, length, len(data)) + data)
    return b"".join(out)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def block(btype: int, body: bytes, order: str = "<") -> bytes:
    body = _pad(body)
    length = len(body) + 12
    return struct.pack(order + "II", btype, length) + body + struct.pack(order + "I", length)


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad(value)


def shb(order: str = "<") -> bytes:
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def idb(linktype: int, *, order: str = "<", tsresol: int | None = None, name: str | None = None,
        tsoffset: int | None = None, snaplen: int = 0) -> bytes:
    opts = b""
    if name is not None:
        opts += option(2, name.encode(), order)
    if tsresol is not None:
        opts += option(9, bytes([tsresol]), order)
    if tsoffset is not None:
        opts += option(14, struct.pack(order + "q", tsoffset), order)
    if opts:
        opts += option(0, b"", order)
    return block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts, order)


def epb(ifid: int, ts: int, data: bytes, order: str = "<", caplen: int | None = None) -> bytes:
    cap = len(data) if caplen is None else caplen
    head = struct.pack(order + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, cap, len(data))
    return block(6, head + data, order)


def spb(data: bytes, order: str = "<") -> bytes:
    return block(3, struct.pack(order + "I", len(data)) + data, order)


def pb(ifid: int, ts: int, data: bytes, order: str = "<") -> bytes:
    head = struct.pack(order + "HHIIII", ifid, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(2, head + data, order)


__all__ = ["classic", "block", "option", "shb", "idb", "epb", "spb", "pb", "MAGIC_US",
           "MAGIC_NS"]
