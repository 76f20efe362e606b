"""Classic libpcap files (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/).

A 24-byte global header (magic, version, snaplen, link type) then records of a 16-byte header
(seconds, micro- or nanoseconds, captured length, original length) and the data. The magic says
the byte order and the time unit: a1b2c3d4 microseconds, a1b23c4d nanoseconds, either one
byte-swapped; a1b2cd34 is Alexey Kuznetsov's "modified" format with 8 more header bytes.

Why not dpkt.pcap.Reader: it reads `caplen` bytes straight from the file object, so a corrupt
2 GB caplen makes Python allocate 2 GB, and it cannot tell "truncated after N packets" from
"not a pcap". This reader is a few lines over an mmap and checks every length first.
"""

from __future__ import annotations

import mmap
import struct
from typing import Iterator

from dpictl.capture.frame import Frame
from dpictl.capture.records import MAX_CAPLEN, CorruptRecord
from dpictl.errors import PcapError

GLOBAL_HEADER_LEN = 24
# magic as read little-endian -> (byte order, fraction units per second, extra record bytes)
MAGICS = {
    0xA1B2C3D4: ("<", 1e6, 0), 0xD4C3B2A1: (">", 1e6, 0),
    0xA1B23C4D: ("<", 1e9, 0), 0x4D3CB2A1: (">", 1e9, 0),
    0xA1B2CD34: ("<", 1e6, 8), 0x34CDB2A1: (">", 1e6, 8),
}
_MAGIC = struct.Struct("<I")


def is_classic(head: bytes) -> bool:
    """True when the first 4 bytes are a classic pcap magic number."""
    return len(head) >= 4 and _MAGIC.unpack_from(head)[0] in MAGICS


class ClassicReader:
    """Iterates the records of a classic pcap held in `data` (an mmap); `.pos` is progress."""

    def __init__(self, data: mmap.mmap, path: str) -> None:
        if len(data) < GLOBAL_HEADER_LEN:
            raise PcapError(f"{path}: truncated pcap header ({len(data)} of 24 bytes)")
        order, self._units, self._extra = MAGICS[_MAGIC.unpack_from(data)[0]]
        major, _minor, _zone, _sigfigs, _snaplen, network = struct.unpack_from(
            order + "HHiIII", data, 4)
        if major != 2:
            raise PcapError(f"{path}: unsupported pcap version {major} (expected 2)")
        self.linktype = network & 0x0FFFFFFF        # high bits carry FCS information
        self._record = struct.Struct(order + "IIII")
        self._data = data
        self.pos = GLOBAL_HEADER_LEN

    def __iter__(self) -> Iterator[Frame]:
        data, size, units, linktype = self._data, len(self._data), self._units, self.linktype
        header_len = 16 + self._extra
        unpack = self._record.unpack_from
        pos = self.pos
        while pos < size:
            if size - pos < header_len:
                raise CorruptRecord(f"record header cut at byte {pos}", truncated=True)
            sec, frac, caplen, _origlen = unpack(data, pos)
            if caplen > MAX_CAPLEN:
                raise CorruptRecord(f"record at byte {pos} claims {caplen} bytes "
                                    f"(more than {MAX_CAPLEN}): corrupt file")
            start = pos + header_len
            pos = start + caplen
            if pos > size:
                raise CorruptRecord(f"record at byte {start - header_len} needs {caplen} bytes, "
                                    f"{size - start} left", truncated=True)
            self.pos = pos
            yield sec + frac / units, data[start:pos], linktype, None


__all__ = ["ClassicReader", "is_classic", "MAGICS", "GLOBAL_HEADER_LEN"]
