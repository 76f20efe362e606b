"""Packet sources, files and live AF_PACKET rings: iterables of (ts, frame, linktype, iface)."""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

from dpictl.capture.afpacket import AfPacketSource
from dpictl.capture.pcap_file import PcapSource, open_pcap


@runtime_checkable
class PacketSource(Protocol):
    """What the engine's callers loop over: `(ts, frame, linktype, iface)` tuples.

    `ts` is seconds since the epoch (float), `frame` the captured bytes from the link header,
    `linktype` a pcap LINKTYPE_* number, `iface` the live interface name (None for files).
    """

    def __iter__(self) -> Iterator[tuple[float, bytes, int, str | None]]: ...

    def close(self) -> None: ...


__all__ = ["PacketSource", "PcapSource", "open_pcap", "AfPacketSource"]
