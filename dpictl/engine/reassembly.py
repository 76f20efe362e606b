"""TCP stream reassembly for one direction: segments in, new in-order bytes out.

Why our own: no maintained pure-Python library reassembles TCP incrementally with bounded
memory (scapy's sessions buffer whole captures; dpkt has none).

Semantics, chosen to match what Suricata 7 hands its app layer:

* Sequence numbers are turned into 64-bit stream offsets relative to the initial sequence
  number, unwrapped around the bytes already delivered, so wrap-around at 2**32 is invisible.
* Retransmitted bytes (already delivered) are dropped.
* Overlaps: the *first* copy of a byte wins (Suricata's `first` policy). Bytes already delivered
  can never change; a new out-of-order segment is trimmed to the parts no buffered segment
  covers. (The oracle config uses the `linux` policy, which differs only when overlapping
  retransmissions carry different bytes, i.e. deliberate evasion.)
* Out-of-order segments are buffered up to `max_buffer` bytes per stream and within the
  shared `ReassemblyBudget` (global memcap).
* Gaps: a hole is given up on - the bytes after it delivered and the hole reported in `holes`
  (where in the returned bytes, how many bytes are missing) - when (a) the peer has
  acknowledged data beyond the hole (the receiver got bytes the capture missed, so no
  retransmission will ever fill it), (b) buffering the next segment would exceed a cap, or
  (c) `flush()` is called (FIN/RST, flow timeout, end of input).
* `depth` caps how many bytes a stream delivers at all (Suricata `stream.reassembly.depth`,
  1 MiB in the oracle); 0 means unlimited. Beyond it `add()` returns b"" and `depth_reached`
  is set.
"""

from __future__ import annotations

from bisect import insort

from dpictl.engine.packet import Packet

_MASK = 0xFFFFFFFF
_HALF = 1 << 31
_WINDOW = 1 << 30         # segments further than this ahead of the stream are nonsense
_NONE: tuple = ()         # shared empty value: most streams never need a list (fewer GC objects)


class ReassemblyBudget:
    """Bytes buffered out of order by all streams together, against a global cap."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


class StreamReassembler:
    """One direction of one TCP connection.

    Call `begin(isn + 1)` on the SYN (the flow table does it); a reassembler that was never
    begun starts at the first segment it is given (midstream pickup).
    """

    __slots__ = ("depth", "max_buffer", "budget", "peer_ack", "holes", "gaps", "depth_reached",
                 "closed",
                 "retransmitted", "dropped", "_isn", "_off", "_ooo", "_ooo_bytes")

    def __init__(self, *, depth: int = 1 << 20, max_buffer: int = 1 << 18,
                 budget: ReassemblyBudget | None = None) -> None:
        self.depth = depth
        self.max_buffer = max_buffer
        self.budget = budget if budget is not None else ReassemblyBudget(1 << 62)
        self.peer_ack: int | None = None   # latest ACK number the other side sent
        # Holes before the bytes last returned: (index in those bytes, bytes missing there).
        self.holes: list[tuple[int, int]] | tuple = _NONE
        self.gaps = 0                      # holes given up on so far
        self.depth_reached = False
        self.closed = False                # not accepting data: before the handshake
                                           # completed or after a reset (as in Suricata)
        self.retransmitted = 0             # duplicate bytes dropped
        self.dropped = 0                   # bytes dropped for lack of buffer space
        self._isn: int | None = None
        self._off = 0                      # stream offset of the next byte to deliver
        self._ooo: list[tuple[int, bytes]] | tuple = _NONE
        self._ooo_bytes = 0

    @property
    def gap(self) -> bool:
        """The bytes last returned by `add`/`flush` follow at least one hole."""
        return bool(self.holes)

    @property
    def started(self) -> bool:
        return self._isn is not None

    @property
    def next_seq(self) -> int | None:
        """The TCP sequence number of the next byte expected in order (None before begin)."""
        return None if self._isn is None else (self._isn + self._off) & _MASK

    @property
    def delivered(self) -> int:
        """How many bytes have been delivered in order (including bytes skipped by gaps)."""
        return self._off

    @property
    def buffered(self) -> int:
        return self._ooo_bytes

    def begin(self, seq: int) -> None:
        """Set the sequence number of the first data byte (ISN + 1). A later call (a SYN sent
        again with a new ISN) moves it while no data has arrived yet."""
        if self._isn is None or (self._off == 0 and not self._ooo):
            self._isn = seq & _MASK

    def in_window(self, seq: int, window: int = 1 << 20) -> bool:
        """`seq` is at or up to `window` bytes past the next expected byte (RST validation)."""
        return self._isn is None or ((seq - self._isn - self._off) & _MASK) <= window

    def add(self, pkt: Packet) -> bytes:
        """Feed one packet of this direction; return the new in-order bytes it made available."""
        data = pkt.payload
        if not data:
            return b""
        return self.add_segment(pkt.seq, data)

    def add_segment(self, seq: int, data: bytes) -> bytes:
        """Feed one segment by sequence number; return the new in-order bytes."""
        if self.holes:
            self.holes = _NONE
        if not data or self.depth_reached or self.closed:
            return b""
        if self._isn is None:
            self._isn = seq & _MASK
        off = self._offset(seq)
        end = off + len(data)
        if end <= self._off:
            self.retransmitted += len(data)
            return b""
        if off <= self._off:
            if off < self._off:
                self.retransmitted += self._off - off
                data = data[self._off - off:]
            return self._deliver(data)
        if off - self._off > _WINDOW:
            self.dropped += len(data)
            return b""
        ack = self._ack_offset()
        if ack is not None and ack >= off:
            # The receiver acknowledged past the hole: it will never be retransmitted.
            self._insert(self._uncovered(off, data))
            return self._skip_acked_holes(ack)
        return self._buffer(off, data)

    def flush(self) -> bytes:
        """Give up on every hole and deliver everything buffered (end of stream)."""
        if self.holes:
            self.holes = _NONE
        parts: list[bytes] = []
        while self._ooo and not self.depth_reached:
            off, data = self._ooo.pop(0)
            self._release(len(data))
            parts.append(self._skip_hole(off, data, _total(parts)))
        self.release_all()
        return b"".join(parts)

    # -- internals -------------------------------------------------------------------------

    def _offset(self, seq: int) -> int:
        rel = (seq - self._isn) & _MASK
        base = self._off
        return base + ((rel - (base & _MASK) + _HALF) & _MASK) - _HALF

    def _ack_offset(self) -> int | None:
        if self.peer_ack is None:
            return None
        return self._offset(self.peer_ack)

    def _skip_hole(self, off: int, data: bytes, at: int) -> bytes:
        """Jump the hole before `off`; `at` is where the output so far ends (for `holes`)."""
        if self.holes:
            self.holes.append((at, off - self._off))
        else:
            self.holes = [(at, off - self._off)]
        self.gaps += 1
        self._off = off
        return self._deliver(data)

    def _deliver(self, data: bytes) -> bytes:
        """Append in-order `data` at the current offset, then drain what it made contiguous."""
        self._off += len(data)
        if self._ooo:
            parts = [data]
            while self._ooo and self._ooo[0][0] <= self._off:
                off, seg = self._ooo.pop(0)
                self._release(len(seg))
                end = off + len(seg)
                if end > self._off:
                    parts.append(seg[self._off - off:])
                    self._off = end
            data = b"".join(parts)
        if self.depth and self._off >= self.depth:
            self.depth_reached = True
            keep = len(data) - (self._off - self.depth)
            data = data[:keep] if keep > 0 else b""
            self._release(self._ooo_bytes)
            self._ooo = _NONE
        return data

    def _buffer(self, off: int, data: bytes) -> bytes:
        """Hold an out-of-order segment; when out of room, give up on holes to make some."""
        parts: list[bytes] = []
        while not self.depth_reached:
            end = off + len(data)
            if end <= self._off:
                break                                  # everything arrived by skipping holes
            if off <= self._off:
                parts.append(self._deliver(data[self._off - off:]))
                break
            pieces = self._uncovered(off, data)
            size = sum(len(p) for _, p in pieces)
            if not size:
                self.retransmitted += len(data)
                break
            if (self._ooo_bytes + size <= self.max_buffer
                    and self.budget.used + size <= self.budget.limit):
                self._insert(pieces)
                break
            if not self._ooo:
                self.dropped += size
                break
            first_off, first = self._ooo.pop(0)
            self._release(len(first))
            parts.append(self._skip_hole(first_off, first, _total(parts)))
        return b"".join(parts)

    def _insert(self, pieces: list[tuple[int, bytes]]) -> None:
        if not self._ooo:
            self._ooo = []
        for piece in pieces:
            insort(self._ooo, piece, key=_first)
            self._ooo_bytes += len(piece[1])
            self.budget.used += len(piece[1])

    def _skip_acked_holes(self, ack: int) -> bytes:
        parts: list[bytes] = []
        while self._ooo and self._ooo[0][0] <= ack and not self.depth_reached:
            off, data = self._ooo.pop(0)
            self._release(len(data))
            parts.append(self._skip_hole(off, data, _total(parts)))
        return b"".join(parts)

    def _uncovered(self, off: int, data: bytes) -> list[tuple[int, bytes]]:
        """The parts of a new segment that no buffered segment holds yet (first copy wins)."""
        pieces = [(off, data)]
        for s_off, seg in self._ooo:
            s_end = s_off + len(seg)
            nxt = []
            for p_off, p in pieces:
                p_end = p_off + len(p)
                if p_end <= s_off or p_off >= s_end:
                    nxt.append((p_off, p))
                    continue
                if p_off < s_off:
                    nxt.append((p_off, p[:s_off - p_off]))
                if p_end > s_end:
                    nxt.append((s_end, p[s_end - p_off:]))
            pieces = nxt
            if not pieces:
                break
        return pieces

    def _release(self, size: int) -> None:
        self._ooo_bytes -= size
        self.budget.used -= size

    def release_all(self) -> None:
        """Drop every buffered segment (the flow is gone) and return its memory to the budget."""
        self._release(self._ooo_bytes)
        self._ooo = _NONE


def _first(item: tuple[int, bytes]) -> int:
    return item[0]


def _total(parts: list[bytes]) -> int:
    return sum(len(p) for p in parts)


__all__ = ["ReassemblyBudget", "StreamReassembler"]
