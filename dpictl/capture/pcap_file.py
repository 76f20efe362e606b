"""`open_pcap`: a capture file (classic pcap or pcapng, told apart by magic) as a packet source.

Error policy, chosen so that callers keep what they already found:
- a file that cannot be a capture (missing, a directory, empty, unknown magic, a global or
  section header cut short) raises `PcapError` from `open_pcap`, before any packet;
- a file that goes bad later (ends inside a record, a record with an impossible length) yields
  every complete packet first; then, by default (`strict=True`), iteration raises
  `PcapError("<file>: truncated after N packets: <why>")`. With `strict=False` iteration just
  stops and the message is left in `.error` for the caller to show as a warning.

The file is mmap'd: records are sliced out without a read() per packet, and `.position` (bytes
consumed) against `.size` drives a progress bar for free.
"""

from __future__ import annotations

import mmap
import os
from typing import Iterator

from dpictl.capture.pcap_classic import ClassicReader, is_classic
from dpictl.capture.pcapng import PcapngReader, is_pcapng
from dpictl.capture.frame import Frame
from dpictl.capture.records import CorruptRecord
from dpictl.errors import PcapError

_RELEASE_EVERY = 8 << 20   # bytes read between two madvise() calls

_HINT = "check the path; dpictl reads pcap and pcapng files (tcpdump -w, tshark -w, Wireshark)"


class PcapSource:
    """Iterable of (ts, frame, linktype, iface=None) read from one capture file."""

    def __init__(self, path: str | os.PathLike[str], *, strict: bool = True) -> None:
        self.path = os.fspath(path)
        self.strict = strict
        self.count = 0                  # packets yielded so far
        self.error: str | None = None   # set when the file ended badly (see module docstring)
        self._file, self._data = _map(self.path)
        self.size = len(self._data) if self._data is not None else 0
        try:
            head = self._data[:4]
            if is_classic(head):
                self._reader: ClassicReader | PcapngReader = ClassicReader(self._data, self.path)
                self.format = "pcap"
            elif is_pcapng(head):
                self._reader = PcapngReader(self._data, self.path)
                self.format = "pcapng"
            else:
                raise PcapError(f"{self.path}: not a pcap or pcapng file "
                                f"(starts with {bytes(head).hex() or 'nothing'})", hint=_HINT)
        except BaseException:
            self.close()
            raise

    @property
    def linktype(self) -> int | None:
        """Link type of the file (pcapng: of its first interface; None if it declares none)."""
        return self._reader.linktype

    @property
    def position(self) -> int:
        """Bytes of the file consumed so far."""
        return self._reader.pos

    def __iter__(self) -> Iterator[Frame]:
        reader, release_at = self._reader, _RELEASE_EVERY
        try:
            for record in reader:
                self.count += 1
                yield record
                if reader.pos >= release_at:
                    release_at = self._release(reader.pos) + _RELEASE_EVERY
        except CorruptRecord as exc:
            what = "truncated" if exc.truncated else "corrupt"
            self.error = f"{self.path}: {what} after {self.count} packets: {exc.reason}"
            if self.strict:
                raise PcapError(self.error, hint="the packets before it were processed; "
                                "the file is probably still being written or was cut short"
                                ) from None

    def _release(self, upto: int) -> int:
        """Drop the mapped pages already read from our RSS: records are copied out when
        yielded, so those pages are never touched again, and a long capture should not look
        (or count) as large as the file. Returns the page-aligned end of what was released."""
        end = upto - upto % mmap.PAGESIZE
        if end and self._data is not None and hasattr(mmap, "MADV_DONTNEED"):
            try:
                self._data.madvise(mmap.MADV_DONTNEED, 0, end)
            except (OSError, ValueError):  # pragma: no cover - platform without madvise
                pass
        return upto

    def close(self) -> None:
        """Release the mapping and the file (packets already yielded stay valid)."""
        if self._data is not None:
            self._data.close()
            self._data = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "PcapSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_pcap(path: str | os.PathLike[str], *, strict: bool = True) -> PcapSource:
    """Open a classic pcap or pcapng file; raises `PcapError` if it is not one."""
    return PcapSource(path, strict=strict)


def _map(path: str):
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise PcapError(f"{path}: no such file", hint=_HINT) from None
    except IsADirectoryError:
        raise PcapError(f"{path}: is a directory, not a capture file", hint=_HINT) from None
    except OSError as exc:
        raise PcapError(f"{path}: cannot open: {exc.strerror}", hint=_HINT) from None
    try:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise PcapError(f"{path}: empty file, not a pcap or pcapng capture", hint=_HINT)
        return handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        handle.close()
        raise PcapError(f"{path}: cannot read as a capture file: {exc}", hint=_HINT) from None
    except BaseException:
        handle.close()
        raise


__all__ = ["PcapSource", "open_pcap"]
