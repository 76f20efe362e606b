"""The one record every packet source yields, and the two shapes of source.

A frame is a plain tuple `(ts, frame, linktype, iface)` rather than a class: a live ring or
a pcap yields one per packet, and building a tuple is the cheapest record Python has (a
NamedTuple or dataclass costs twice as much per packet on the hot path).

- `ts`: seconds since the epoch (float);
- `frame`: the captured bytes from the link header on;
- `linktype`: a pcap LINKTYPE_* number;
- `iface`: the live interface's name (None for files).
"""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

Frame = tuple[float, bytes, int, "str | None"]


@runtime_checkable
class PacketSource(Protocol):
    """What the engine's callers loop over: pcap readers and live rings alike."""

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


@runtime_checkable
class LivePacketSource(PacketSource, Protocol):
    """A live source: interfaces come and go while another thread iterates, and the kernel
    counts what it delivered and what it dropped (the ring was full)."""

    def add(self, iface: str) -> None: ...

    def remove(self, iface: str) -> bool: ...

    def stop(self) -> None: ...

    def stats(self) -> dict[str, dict[str, int]]: ...


__all__ = ["Frame", "PacketSource", "LivePacketSource"]
