"""Raw-stream inspection state for one TCP flow: the reassembled bytes not yet inspected.

Suricata inspects packet rules on each packet's payload *and* on the reassembled stream,
whose data it inspects in chunks: when a chunk-size worth of data is waiting, when the app
layer completes a message (an HTTP request or response), and when the stream ends. We do
the same: in-order bytes collect in a per-direction chunk, inspected on those triggers. A chunk made of one segment was already seen whole by packet
inspection and is skipped; signatures that already alerted on a packet of the chunk are not
reported again for it (Suricata de-duplicates within one inspection).
"""

from __future__ import annotations

CHUNK_LIMIT = 2560   # Suricata stream.reassembly.toserver/toclient-chunk-size (oracle config)


class StreamChunks:
    __slots__ = ("pending", "sizes", "iface")

    def __init__(self, iface: str | None = None) -> None:
        self.iface = iface          # where the flow was seen, for alerts raised at its end
        # index by to_server (False=0: to client, True=1: to server)
        self.pending: list[list[bytes]] = [[], []]
        self.sizes = [0, 0]

    def add(self, to_server: bool, data: bytes) -> None:
        self.pending[to_server].append(data)
        self.sizes[to_server] += len(data)

    def size(self, to_server: bool) -> int:
        return self.sizes[to_server]

    def take(self, to_server: bool) -> bytes | None:
        """The chunk to inspect, None when nothing is waiting."""
        parts = self.pending[to_server]
        if not parts:
            return None
        self.pending[to_server] = []
        self.sizes[to_server] = 0
        return parts[0] if len(parts) == 1 else b"".join(parts)


__all__ = ["StreamChunks", "CHUNK_LIMIT"]
