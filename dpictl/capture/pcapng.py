"""pcapng files (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/).

A file is one or more sections, each a Section Header Block (whose byte-order magic sets the
section's endianness) followed by blocks. Interface Description Blocks give each interface its
link type and timestamp resolution (`if_tsresol`, `if_tsoffset`); packets come in Enhanced
(EPB), Simple (SPB, interface 0, no timestamp: the previous one is reused) and obsolete
Packet Blocks (PB). Every other block (name resolution, statistics, decryption secrets,
custom) is skipped by its length.

Why not dpkt.pcapng.Reader: it keeps a single interface's link type and resolution, reads
blocks with file.read(length) (a corrupt length allocates that much), and raises the same
error for "not pcapng" and "cut short". Here every length is checked against the mmap first.
"""

from __future__ import annotations

import mmap
import struct
from typing import Iterator, NamedTuple

from dpictl.capture.frame import Frame
from dpictl.capture.records import MAX_CAPLEN, CorruptRecord
from dpictl.errors import PcapError

SHB_TYPE = 0x0A0D0D0A
IDB_TYPE = 1
PB_TYPE = 2
SPB_TYPE = 3
EPB_TYPE = 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END, OPT_IF_NAME, OPT_IF_TSRESOL, OPT_IF_TSOFFSET = 0, 2, 9, 14
_U32LE = struct.Struct("<I")
_EPB = {o: struct.Struct(o + "IIIIIII") for o in "<>"}   # type, length, EPB header
_U32 = {o: struct.Struct(o + "I") for o in "<>"}


class Interface(NamedTuple):
    """One IDB: its link type, snap length, name and how to turn a raw timestamp into seconds."""

    linktype: int
    snaplen: int
    name: str | None
    units_per_second: float
    offset: int


def is_pcapng(head: bytes) -> bool:
    """True when the file starts with a Section Header Block."""
    return len(head) >= 4 and _U32LE.unpack_from(head)[0] == SHB_TYPE


class PcapngReader:
    """Iterates the packets of a pcapng held in `data` (an mmap); `.pos` is progress."""

    def __init__(self, data: mmap.mmap, path: str) -> None:
        self._data = data
        self.pos = 0
        self.interfaces: list[Interface] = []
        if len(data) < 28:
            raise PcapError(f"{path}: truncated pcapng section header ({len(data)} bytes)")
        try:
            self._order = self._section_order(0)
        except CorruptRecord as exc:
            raise PcapError(f"{path}: not a valid pcapng file ({exc.reason})") from None
        self.linktype = self._first_linktype()

    def __iter__(self) -> Iterator[Frame]:
        data, size = self._data, len(self._data)
        last_ts = 0.0
        epb, u32 = _EPB[self._order], _U32[self._order]
        while self.pos < size:
            pos = self.pos
            # Fast path: a well-formed EPB (nearly every block), validated as in _block_header.
            if size - pos >= 32:
                btype, blen, ifid, hi, lo, caplen, _orig = epb.unpack_from(data, pos)
                if (btype == EPB_TYPE and blen >= 32 and not blen & 3 and pos + blen <= size
                        and ifid < len(self.interfaces) and caplen <= blen - 32
                        and caplen <= MAX_CAPLEN
                        and u32.unpack_from(data, pos + blen - 4)[0] == blen):
                    iface = self.interfaces[ifid]
                    last_ts = ((hi << 32) | lo) / iface.units_per_second + iface.offset
                    self.pos = pos + blen
                    yield last_ts, data[pos + 28:pos + 28 + caplen], iface.linktype, None
                    continue
            btype, blen, order = self._block_header(pos)
            if btype == SHB_TYPE:
                self._order = order
                self.interfaces = []
                epb, u32 = _EPB[order], _U32[order]
            elif btype == IDB_TYPE:
                self.interfaces.append(self._interface(pos, blen))
            elif btype == EPB_TYPE or btype == PB_TYPE:
                if blen < 32:
                    raise CorruptRecord(f"packet block at byte {pos} too short ({blen})")
                if btype == EPB_TYPE:
                    ifid, hi, lo, caplen, _orig = struct.unpack_from(order + "IIIII", data, pos + 8)
                else:
                    ifid, _drops, hi, lo, caplen, _orig = struct.unpack_from(
                        order + "HHIIII", data, pos + 8)
                iface = self._iface(ifid, pos)
                self._check_caplen(caplen, blen - 32, pos)
                last_ts = ((hi << 32) | lo) / iface.units_per_second + iface.offset
                self.pos = pos + blen
                yield last_ts, data[pos + 28:pos + 28 + caplen], iface.linktype, None
                continue
            elif btype == SPB_TYPE:
                if blen < 16:
                    raise CorruptRecord(f"simple packet block at byte {pos} too short ({blen})")
                (origlen,) = struct.unpack_from(order + "I", data, pos + 8)
                iface = self._iface(0, pos)
                caplen = min(origlen, blen - 16, iface.snaplen or MAX_CAPLEN)
                self._check_caplen(caplen, blen - 16, pos)
                self.pos = pos + blen
                yield last_ts, data[pos + 12:pos + 12 + caplen], iface.linktype, None
                continue
            self.pos = pos + blen

    def _block_header(self, pos: int) -> tuple[int, int, str]:
        """Validate the block at `pos`; return (type, total length, byte order)."""
        size = len(self._data)
        if size - pos < 12:
            raise CorruptRecord(f"block header cut at byte {pos}", truncated=True)
        order = self._order
        (btype,) = _U32LE.unpack_from(self._data, pos)
        if btype == SHB_TYPE:
            order = self._section_order(pos)
        btype, blen = struct.unpack_from(order + "II", self._data, pos)
        if blen < 12 or blen % 4:
            raise CorruptRecord(f"block at byte {pos} has an impossible length {blen}")
        if pos + blen > size:
            raise CorruptRecord(f"block at byte {pos} needs {blen} bytes, {size - pos} left",
                                truncated=True)
        (trailer,) = struct.unpack_from(order + "I", self._data, pos + blen - 4)
        if trailer != blen:
            raise CorruptRecord(f"block at byte {pos}: length {blen} but trailer says {trailer}")
        return btype, blen, order

    def _section_order(self, pos: int) -> str:
        if len(self._data) - pos < 12:
            raise CorruptRecord(f"section header cut at byte {pos}", truncated=True)
        (magic,) = _U32LE.unpack_from(self._data, pos + 8)
        if magic == BYTE_ORDER_MAGIC:
            return "<"
        if magic == 0x4D3C2B1A:
            return ">"
        raise CorruptRecord(f"bad byte-order magic 0x{magic:08x} at byte {pos + 8}")

    def _first_linktype(self) -> int | None:
        """Link type of the first interface, read ahead without moving `.pos`."""
        pos, size = 0, len(self._data)
        for _ in range(64):
            if pos >= size:
                return None
            try:
                btype, blen, order = self._block_header(pos)
            except CorruptRecord:
                return None
            if btype == IDB_TYPE:
                return struct.unpack_from(order + "H", self._data, pos + 8)[0]
            pos += blen
        return None

    def _interface(self, pos: int, blen: int) -> Interface:
        order = self._order
        if blen < 20:
            raise CorruptRecord(f"interface block at byte {pos} too short")
        linktype, _res, snaplen = struct.unpack_from(order + "HHI", self._data, pos + 8)
        name, units, offset = None, 1e6, 0
        opt, end = pos + 16, pos + blen - 4
        while opt + 4 <= end:
            code, olen = struct.unpack_from(order + "HH", self._data, opt)
            value = self._data[opt + 4:min(opt + 4 + olen, end)]
            if code == OPT_END:
                break
            if code == OPT_IF_TSRESOL and len(value) == 1:
                exp = value[0] & 0x7F
                units = float(2 ** exp) if value[0] & 0x80 else float(10 ** exp)
            elif code == OPT_IF_TSOFFSET and len(value) == 8:
                (offset,) = struct.unpack(order + "q", value)
            elif code == OPT_IF_NAME:
                name = value.rstrip(b"\0").decode("utf-8", "replace")
            opt += 4 + ((olen + 3) & ~3)
        return Interface(linktype, snaplen, name, units, offset)

    def _iface(self, ifid: int, pos: int) -> Interface:
        if ifid >= len(self.interfaces):
            raise CorruptRecord(f"packet at byte {pos} names undeclared interface {ifid}")
        return self.interfaces[ifid]

    @staticmethod
    def _check_caplen(caplen: int, room: int, pos: int) -> None:
        if caplen > MAX_CAPLEN or caplen > room:
            raise CorruptRecord(f"packet at byte {pos} claims {caplen} bytes "
                                f"(block holds {room}): corrupt file")


__all__ = ["PcapngReader", "Interface", "is_pcapng"]
