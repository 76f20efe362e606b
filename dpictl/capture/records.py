"""Limits and the private error shared by the capture file readers.

Both readers work on an mmap of the file: a record is sliced out only after its length has
been checked against `MAX_CAPLEN` and against the bytes left in the file, so a corrupt length
(2 GB caplen, a negative-looking block length) can neither allocate absurd memory nor hang.
"""

from __future__ import annotations

# Largest packet we accept in a file, as Wireshark (WTAP_MAX_PACKET_SIZE_STANDARD) and libpcap
# do for Ethernet-like links. A bigger caplen means the file is corrupt, not that a packet is big.
MAX_CAPLEN = 262144


class CorruptRecord(Exception):
    """A record cannot be read: the file ends inside it or its header is impossible.

    Raised by the readers after every earlier packet has been yielded; `PcapSource` turns it
    into a `PcapError` (or `.error`) that says how many packets were read.
    """

    def __init__(self, reason: str, truncated: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.truncated = truncated


__all__ = ["MAX_CAPLEN", "CorruptRecord"]
