"""IP fragment reassembly for IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5), bounded.

One `FragmentTable` holds every datagram still waiting for pieces, keyed by what the RFCs say
identifies a datagram (IPv4: src, dst, id, protocol; IPv6: src, dst, id) plus the VLAN and
tunnel context. Time comes from packet timestamps (the engine is sans-I/O): a datagram not
complete `timeout` seconds after its first fragment is dropped. Memory is bounded three ways:
total bytes held, number of datagrams, fragments per datagram; when full, the oldest datagram
is evicted. A datagram longer than 65535 bytes is malformed and dropped at once.

Overlaps follow the BSD policy (the default of Suricata and Snort's frag3): for every byte,
the fragment that starts at the lowest offset wins, and among fragments starting at the same
offset the one that arrived first. It is applied by painting fragments into the buffer from
the least to the most preferred.
"""

from __future__ import annotations

from typing import Hashable

MAX_DATAGRAM = 0xFFFF


class _Datagram:
    """Fragments seen so far for one datagram."""

    __slots__ = ("deadline", "total", "held", "pieces", "first")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.total = -1                 # payload length, known once the last fragment came
        self.held = 0
        self.pieces: list[tuple[int, int, bytes]] = []   # (offset, arrival, data)
        self.first: object = None       # what the offset-0 fragment carried (its IP header)


class FragmentTable:
    """Reassembles fragmented datagrams; `add` returns the whole payload once complete."""

    def __init__(self, stats: dict[str, int], *, timeout: float = 60.0,
                 max_bytes: int = 16 << 20, max_datagrams: int = 4096,
                 max_fragments: int = 256) -> None:
        self.stats = stats
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_datagrams = max_datagrams
        self.max_fragments = max_fragments
        self.held = 0
        self._datagrams: dict[Hashable, _Datagram] = {}  # insertion order == deadline order

    def __len__(self) -> int:
        return len(self._datagrams)

    def add(self, key: Hashable, ts: float, offset: int, data: bytes, more: bool,
            first: object = None) -> tuple[object, bytes] | None:
        """Store one fragment; return (what the first fragment carried, payload) when complete.

        `first` is kept from the offset-0 fragment (the IPv4 header, or the IPv6 next-header
        value) so the caller can rebuild the datagram around the payload.
        """
        self.stats["fragments"] += 1
        self.expire(ts)
        end = offset + len(data)
        if end > MAX_DATAGRAM:
            self.stats["frag_malformed"] += 1
            self._drop(key)
            return None
        dgram = self._datagrams.get(key)
        if dgram is None:
            self._make_room(len(data))
            dgram = self._datagrams[key] = _Datagram(ts + self.timeout)
        elif len(dgram.pieces) >= self.max_fragments:
            self.stats["frag_malformed"] += 1
            self._drop(key)
            return None
        else:
            self._make_room(len(data), keep=key)
        if not more:
            if dgram.total not in (-1, end):
                self.stats["frag_malformed"] += 1   # two different "last" fragments
                self._drop(key)
                return None
            dgram.total = end
        if offset == 0 and dgram.first is None:
            dgram.first = first
        dgram.pieces.append((offset, len(dgram.pieces), data))
        dgram.held += len(data)
        self.held += len(data)
        if dgram.total < 0 or dgram.first is None:
            return None
        payload = self._assemble(dgram)
        if payload is None:
            return None
        self._drop(key)
        self.stats["reassembled"] += 1
        return dgram.first, payload

    def expire(self, now: float) -> None:
        """Drop datagrams whose first fragment is older than the timeout."""
        datagrams = self._datagrams
        while datagrams:
            key = next(iter(datagrams))
            if datagrams[key].deadline > now:
                return
            self.stats["frag_timeouts"] += 1
            self._drop(key)

    def _assemble(self, dgram: _Datagram) -> bytes | None:
        pieces = sorted(dgram.pieces)
        covered = 0
        overlap = False
        for offset, _arrival, data in pieces:
            if offset > covered:
                return None                 # a hole: not complete yet
            if offset < covered:
                overlap = True
            covered = max(covered, offset + len(data))
        if covered < dgram.total:
            return None
        if overlap:
            self.stats["frag_overlaps"] += 1
        total = dgram.total
        buf = bytearray(total)
        for offset, _arrival, data in reversed(pieces):   # most preferred painted last
            if offset < total:
                buf[offset:offset + len(data)] = data[:total - offset]
        return bytes(buf)

    def _make_room(self, size: int, keep: Hashable = None) -> None:
        datagrams = self._datagrams
        while datagrams and (self.held + size > self.max_bytes
                             or (keep is None and len(datagrams) >= self.max_datagrams)):
            oldest = next(iter(datagrams))
            if oldest == keep and len(datagrams) == 1:
                return
            if oldest == keep:                  # evict the next oldest, never the one growing
                oldest = next(k for k in datagrams if k != keep)
            self.stats["frag_evicted"] += 1
            self._drop(oldest)

    def _drop(self, key: Hashable) -> None:
        dgram = self._datagrams.pop(key, None)
        if dgram is not None:
            self.held -= dgram.held


__all__ = ["FragmentTable", "MAX_DATAGRAM"]
