"""Raw-stream inspection state for one TCP flow: the reassembled bytes not yet inspected.

Suricata 7 (stream-tcp-reassemble.c, StreamTcpReassembleRawCheckLimit) inspects a
direction's reassembled data once the other side has *acknowledged* at least a chunk's
worth (`toserver/toclient-chunk-size`, 2560 bytes in the oracle config), when an app-layer
parser completes a message (an HTTP request or response), and when the stream ends. We do
the same: in-order bytes wait here with the sequence number they end at; an ACK from the
peer releases what it covers; `CHUNK_LIMIT` acknowledged bytes, an HTTP message or the
flow's end make the waiting bytes one inspected chunk.
"""

from __future__ import annotations

CHUNK_LIMIT = 2560   # Suricata stream.reassembly.toserver/toclient-chunk-size (oracle config)
# Bound on bytes waiting without an ACK (one-way captures never see one): past it the
# waiting bytes are inspected anyway, so memory stays bounded and detection still happens.
UNACKED_LIMIT = 64 * 1024
_MASK = 0xFFFFFFFF
_HALF = 1 << 31


class StreamChunks:
    __slots__ = ("pending", "acked", "sizes", "iface")

    def __init__(self, iface: str | None = None) -> None:
        self.iface = iface          # where the flow was seen, for alerts raised at its end
        # per direction (index: to_server): [(end_seq, data)] waiting, and how many of the
        # leading bytes the peer has acknowledged
        self.pending: list[list[tuple[int | None, bytes]]] = [[], []]
        self.acked = [0, 0]
        self.sizes = [0, 0]

    def add(self, to_server: bool, data: bytes, end_seq: int | None = None) -> int:
        """Queue in-order bytes; returns how many bytes now wait in that direction."""
        self.pending[to_server].append((end_seq, data))
        self.sizes[to_server] += len(data)
        return self.sizes[to_server]

    def ack(self, to_server: bool, ack: int) -> int:
        """The peer acknowledged up to `ack`: returns the acknowledged bytes waiting."""
        total = 0
        for end_seq, data in self.pending[to_server]:
            if end_seq is not None and ((ack - end_seq) & _MASK) >= _HALF:
                break                                   # this segment ends after `ack`
            total += len(data)
        self.acked[to_server] = total
        return total

    def take(self, to_server: bool, acked_only: bool = False) -> bytes | None:
        """The chunk to inspect: everything waiting, or only the acknowledged part."""
        parts = self.pending[to_server]
        if not parts:
            return None
        if acked_only:
            size, n = self.acked[to_server], 0
            while n < len(parts) and size > 0:
                size -= len(parts[n][1])
                n += 1
            taken, self.pending[to_server] = parts[:n], parts[n:]
        else:
            taken, self.pending[to_server] = parts, []
        self.acked[to_server] = 0
        self.sizes[to_server] = sum(len(d) for _, d in self.pending[to_server])
        if not taken:
            return None
        return taken[0][1] if len(taken) == 1 else b"".join(d for _, d in taken)


__all__ = ["StreamChunks", "CHUNK_LIMIT", "UNACKED_LIMIT"]
