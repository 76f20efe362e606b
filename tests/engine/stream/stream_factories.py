"""Hand-built `Packet`s for flow and stream tests (no decoder needed)."""

from __future__ import annotations

from dpictl.engine.packet import PROTO_ICMP, PROTO_TCP, PROTO_UDP, Packet

C, S = ("10.0.0.1", 40000), ("10.0.0.2", 80)


def tcp(src=C, dst=S, flags="A", seq=0, ack=0, payload=b"", ts=0.0) -> Packet:
    bits = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}
    value = 0
    for ch in flags:
        value |= bits[ch]
    return Packet(ts=ts, ip_version=4, src=src[0], dst=dst[0], ip_proto=PROTO_TCP,
                  sport=src[1], dport=dst[1], tcp_flags=value, seq=seq & 0xFFFFFFFF,
                  ack=ack & 0xFFFFFFFF, payload=payload, ip_len=40 + len(payload))


def udp(src=C, dst=S, payload=b"x", ts=0.0) -> Packet:
    return Packet(ts=ts, ip_version=4, src=src[0], dst=dst[0], ip_proto=PROTO_UDP,
                  sport=src[1], dport=dst[1], payload=payload, ip_len=28 + len(payload))


def icmp(src, dst, itype, ident=7, ts=0.0) -> Packet:
    return Packet(ts=ts, ip_version=4, src=src, dst=dst, ip_proto=PROTO_ICMP,
                  icmp_type=itype, icmp_code=0, icmp_id=ident, ip_len=28)


def handshake(cisn=1000, sisn=5000, ts=0.0) -> list[Packet]:
    return [tcp(C, S, "S", cisn - 1, 0, ts=ts), tcp(S, C, "SA", sisn - 1, cisn, ts=ts),
            tcp(C, S, "A", cisn, sisn, ts=ts)]
