"""The decoder's fast path: Ethernet + unfragmented IPv4 + TCP/UDP, ~90% of traffic.

`Decoder` tries it first on every Ethernet frame carrying IPv4; it gives up (returns False)
on anything else, and the general path (decoder.py) decodes the frame from scratch.
"""

from __future__ import annotations

import struct

from dpictl.engine.decode.addresses import _cache as _ADDR_CACHE
from dpictl.engine.decode.addresses import ipv4_text
from dpictl.engine.packet import PROTO_TCP, PROTO_UDP, Packet

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBH")
_UDP = struct.Struct("!HHH")


def ethernet_ipv4(pkt: Packet, frame: bytes, tunnel_ports: frozenset[int]) -> bool:
    """Fill `pkt` from an Ethernet + unfragmented IPv4 + TCP/UDP frame; False if it is not one.

    It is ipv4.parse + tcp.parse/udp.parse inlined (bench_decode.py over the shared
    pcaps: 9.2 -> 3.9 µs per packet). Anything unusual (fragments, UDP to or from a tunnel
    port, bad lengths) returns False before touching `pkt`, and the general path decodes the
    frame from scratch, so this function only has to be right for the common case.
    """
    size = len(frame)
    if size < 54:
        return False
    vihl, tos, total, ident, frag, ttl, proto, _csum, src, dst = _IPV4.unpack_from(frame, 14)
    hlen = (vihl & 0x0F) << 2
    if vihl >> 4 != 4 or hlen < 20 or total < hlen or 14 + total > size or frag & 0x3FFF:
        return False
    off = 14 + hlen
    end = 14 + total
    if proto == PROTO_TCP:
        if end - off < 20:
            return False
        sport, dport, seq, ack, data_off, flags, window = _TCP.unpack_from(frame, off)
        thlen = (data_off >> 4) << 2
        if thlen < 20 or off + thlen > end:
            return False
        pkt.seq = seq
        pkt.ack = ack
        pkt.tcp_flags = flags
        pkt.window = window
        if thlen > 20:
            pkt.tcp_options = frame[off + 20:off + thlen]
        pkt.payload = frame[off + thlen:end]
    elif proto == PROTO_UDP:
        if end - off < 8:
            return False
        sport, dport, length = _UDP.unpack_from(frame, off)
        if length < 8 or off + length > end or dport in tunnel_ports \
                or sport in tunnel_ports:
            return False
        pkt.payload = frame[off + 8:off + length]
    else:
        return False
    pkt.sport = sport
    pkt.dport = dport
    cache = _ADDR_CACHE
    pkt.src = cache.get(src) or ipv4_text(src)
    pkt.dst = cache.get(dst) or ipv4_text(dst)
    pkt.ip_version = 4
    pkt.ip_proto = proto
    pkt.ttl = ttl
    pkt.tos = tos
    pkt.ip_id = ident
    pkt.ip_flags = frag >> 13
    pkt.ip_header = frame[14:off]
    pkt.ip_len = total
    return True


__all__ = ["ethernet_ipv4"]
