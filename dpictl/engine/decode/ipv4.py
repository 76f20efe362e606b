"""IPv4 header (RFC 791), options kept verbatim in `Packet.ip_header`.

`parse` fills the IP fields of a `Packet` and returns where the payload lies; it does not
reassemble: it reports the fragment word and the decoder hands fragments to
`FragmentTable` (see fragments.py). The payload ends at the header's total length, not at the
end of the frame, so Ethernet padding never reaches a rule. Checksums are not verified
(Calico runs Snort with `-k none`).

A total length of 0 (what a sender's capture shows for a TCP-segmentation-offload super-frame)
is malformed, as in Suricata: such frames are dropped rather than guessed at, which keeps the
alerts comparable with the oracle (cs-mail_sender_attachment.pcapng has 19 of them).
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.addresses import ipv4_text
from dpictl.engine.decode.errors import Malformed, Truncated
from dpictl.engine.packet import Packet

MIN_HEADER_LEN = 20
FLAG_MF = 0x2000
OFFSET_MASK = 0x1FFF
_HEADER = struct.Struct("!BBHHHBBH4s4s")
_TOTAL_LEN = struct.Struct("!H")


def parse(pkt: Packet, buf: bytes, off: int, end: int) -> tuple[int, int, int, int]:
    """Fill `pkt` from the IPv4 header at `off`.

    Returns (protocol, payload offset, payload end, fragment word). The fragment word is the
    raw flags+offset field; it is a fragment when `word & 0x3FFF` is non-zero.
    """
    if end - off < MIN_HEADER_LEN:
        raise Truncated("ipv4")
    vihl, tos, total, ident, frag, ttl, proto, _csum, src, dst = _HEADER.unpack_from(buf, off)
    hlen = (vihl & 0x0F) << 2
    if vihl >> 4 != 4 or hlen < MIN_HEADER_LEN:
        raise Malformed("ipv4: bad version or header length")
    if total < hlen:
        raise Malformed("ipv4: total length shorter than header")
    if off + total > end:
        raise Truncated("ipv4")
    pkt.ip_version = 4
    pkt.src = ipv4_text(src)
    pkt.dst = ipv4_text(dst)
    pkt.ip_proto = proto
    pkt.ttl = ttl
    pkt.tos = tos
    pkt.ip_id = ident
    pkt.ip_flags = frag >> 13
    pkt.frag_offset = (frag & OFFSET_MASK) << 3
    pkt.ip_header = buf[off:off + hlen]
    pkt.ip_len = total
    return proto, off + hlen, off + total, frag


def rebuild(first_header: bytes, payload: bytes) -> bytes:
    """An unfragmented datagram: the first fragment's header (options included) + `payload`.

    Total length is rewritten and MF/offset cleared, so the result parses as a plain packet.
    The checksum is left stale on purpose: nothing verifies it.
    """
    header = bytearray(first_header)
    total = len(header) + len(payload)
    if total > 0xFFFF:
        raise Malformed("ipv4: reassembled datagram longer than 65535")
    _TOTAL_LEN.pack_into(header, 2, total)
    header[6] &= 0x40          # keep DF, clear MF and the offset's high bits
    header[7] = 0
    return bytes(header) + payload


__all__ = ["parse", "rebuild", "MIN_HEADER_LEN", "FLAG_MF", "OFFSET_MASK"]
