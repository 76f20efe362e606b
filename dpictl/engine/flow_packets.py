"""The last few packets of every flow, kept so that an alert can show what led up to it.

An analyst who opens an alert in Wireshark wants the handshake and the request before the
packet that matched, not that packet alone. So the engine keeps, per flow, a ring of its
last `depth` packets (both directions, as captured), and a detection takes a copy of its
flow's ring as it stands before the triggering packet.

The bound. Every kept packet is charged `len(data) + ENTRY_OVERHEAD` bytes and every flow
that holds packets `RING_OVERHEAD` more; the constants cover what CPython allocates for
them (the timestamp float, the bytes object's header, the ring list's slots, the list and
its OrderedDict entry; `tests/engine/test_flow_packets.py` checks them with tracemalloc:
what the rings hold is 0.85-0.99 of what they are charged). Data is cut at `snap` bytes, so
one ring costs at most `RING_OVERHEAD + depth * (snap + ENTRY_OVERHEAD)`. After every
packet the charged total is at most `budget`: a packet that passes it releases whole rings
of the flows seen least recently. Busy flows keep their context; idle ones lose theirs
first, as the flow table's own LRU would. With the defaults (8 packets of at most 2 KiB,
16 MiB per process) a full ring is charged at most 17,536 bytes and the buffer holds at
least 956 full rings - many more for flows of small packets (a 74-byte handshake packet is
charged 186 bytes).

One buffer serves an engine and all its forks (one per interface in the agent), so the
bound holds per process, however many interfaces it watches.

Cost. A frame that is `bytes` and no longer than `snap` is kept by reference (no copy);
only longer frames (GRO/TSO super-frames on a veth) are sliced. Per packet: one dict
lookup, one LRU move when the flow changes, three list appends, and no new object that
the garbage collector tracks. A ring is one flat list `[charge, ts, frame, linktype, ts,
frame, linktype, ...]`, not a list of tuples: a kept tuple per packet is one more object
for every collection to walk, which showed in the engine's time with thousands of flows
(the first version); the charge in front makes releasing a ring O(1).
Written here rather than taken from a library: `collections.deque(maxlen=...)` is the
obvious ring, but it drops entries silently (the byte count could not follow) and costs
~600 bytes per flow against ~250 for a short list.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Hashable

# One kept packet: (timestamp, frame bytes from the link header on, pcap link type).
KeptFrame = tuple[float, bytes, int]

DEFAULT_DEPTH = 8
# 2 KiB holds a whole Ethernet frame (1514 bytes, with VLAN tags 1522): ordinary packets are
# kept whole; only GRO/TSO super-frames (up to 64 KiB on a veth) lose their tail.
DEFAULT_SNAP = 2048
DEFAULT_BUDGET = 16 << 20
# Charged per kept packet beyond its data: float (24), bytes header (33), its three slots in
# the ring list (24), allocator rounding, and the list's over-allocation.
ENTRY_OVERHEAD = 112
# Charged per flow holding packets: the list (56), its charge (an int, 28), the
# OrderedDict's hash entry and link node (~100), allocator rounding.
RING_OVERHEAD = 256
_STRIDE = 3                     # list slots per kept packet


def ring_bound(depth: int, snap: int) -> int:
    """The most one flow's ring can be charged."""
    return RING_OVERHEAD + depth * (snap + ENTRY_OVERHEAD)


class FlowPacketBuffer:
    """Per-flow rings of recent packets under one byte budget (see the module docstring).

    `used` is the charged total, always <= `budget`; `stats` counts packets cut at `snap`
    and rings released to stay under the budget.
    """

    __slots__ = ("depth", "snap", "budget", "used", "stats", "_rings", "_last", "_slots")

    def __init__(self, depth: int = DEFAULT_DEPTH, snap: int = DEFAULT_SNAP,
                 budget: int = DEFAULT_BUDGET) -> None:
        if depth < 1 or snap < 1:
            raise ValueError("depth and snap must be at least 1")
        if budget < ring_bound(depth, snap):
            raise ValueError(f"budget {budget} cannot hold one flow's ring "
                             f"({ring_bound(depth, snap)} bytes)")
        self.depth = depth
        self._slots = 1 + depth * _STRIDE
        self.snap = snap
        self.budget = budget
        self.used = 0
        self.stats = {"snapped": 0, "released": 0}
        # flow -> its ring (oldest packet first); flows in order of their last packet
        self._rings: OrderedDict[Hashable, list] = OrderedDict()
        self._last: Hashable | None = None

    def __len__(self) -> int:
        """How many flows hold packets."""
        return len(self._rings)

    def keep(self, flow: Hashable, ts: float, frame: bytes, linktype: int) -> None:
        """Add a packet to `flow`'s ring (the hot path: called for every packet of a flow)."""
        if len(frame) > self.snap or type(frame) is not bytes:
            frame = bytes(frame[:self.snap])
            self.stats["snapped"] += 1
        rings = self._rings
        ring = rings.get(flow)
        if ring is None:
            ring = rings[flow] = [RING_OVERHEAD]
            self.used += RING_OVERHEAD
        elif flow is not self._last:
            rings.move_to_end(flow)
        self._last = flow
        ring.append(ts)
        ring.append(frame)
        ring.append(linktype)
        charge = len(frame) + ENTRY_OVERHEAD
        if len(ring) > self._slots:
            charge -= len(ring[2]) + ENTRY_OVERHEAD
            del ring[1:1 + _STRIDE]
        ring[0] += charge
        self.used += charge
        if self.used > self.budget:
            self._shrink()

    def before(self, flow: Hashable) -> tuple[KeptFrame, ...]:
        """`flow`'s kept packets, oldest first (a copy: the ring moves on)."""
        ring = self._rings.get(flow)
        if ring is None:
            return ()
        return tuple(zip(ring[1::_STRIDE], ring[2::_STRIDE], ring[3::_STRIDE]))

    def release(self, flow: Hashable) -> None:
        """The flow ended: forget its packets."""
        ring = self._rings.pop(flow, None)
        if ring is not None:
            self.used -= ring[0]
            if flow is self._last:
                self._last = None

    def _shrink(self) -> None:
        """Release the rings of the least recently seen flows until under budget. The flow
        just fed is last in order and a ring fits the budget alone, so it is never one."""
        rings = self._rings
        while self.used > self.budget:
            _, ring = rings.popitem(last=False)
            self.used -= ring[0]
            self.stats["released"] += 1


__all__ = ["FlowPacketBuffer", "KeptFrame", "ring_bound", "DEFAULT_DEPTH", "DEFAULT_SNAP",
           "DEFAULT_BUDGET", "ENTRY_OVERHEAD", "RING_OVERHEAD"]
