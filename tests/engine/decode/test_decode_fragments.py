"""IPv4 and IPv6 defragmentation: order, overlaps (BSD policy), timeouts, memory bounds."""

from __future__ import annotations

import itertools

import pytest
from decode_factories import ETH, corpus_frames
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment

from dpictl.engine.decode import Decoder

ESP = 50                    # not parsed further: payload == reassembled bytes after 8 (SPI, seq)


def v4_fragment(offset: int, data: bytes, more: bool, ident: int = 1,
                proto: int = ESP, src: str = "10.0.0.1") -> bytes:
    ip = IP(src=src, dst="10.0.0.2", id=ident, proto=proto, flags="MF" if more else 0,
            frag=offset // 8)
    return bytes(ETH / ip / data)


def v6_fragment(offset: int, data: bytes, more: bool, ident: int = 1, nh: int = 17) -> bytes:
    return bytes(ETH / IPv6(src="2001:db8::1", dst="2001:db8::2")
                 / IPv6ExtHdrFragment(nh=nh, offset=offset // 8, m=int(more), id=ident) / data)


def feed(decoder: Decoder, frames: list[bytes], start: float = 0.0) -> list:
    return [decoder.decode(start + i * 0.001, frame, 1, None, i + 1)
            for i, frame in enumerate(frames)]


DATAGRAM = bytes(UDP(sport=1234, dport=53) / (bytes(range(256)) * 12))  # 3080 bytes


def split(data: bytes, size: int = 1480) -> list[tuple[int, bytes, bool]]:
    pieces = [(o, data[o:o + size]) for o in range(0, len(data), size)]
    return [(o, d, o + size < len(data)) for o, d in pieces]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_ipv4_udp_reassembles_in_any_order(order):
    pieces = split(DATAGRAM)
    frames = [v4_fragment(*pieces[i], proto=17) for i in order]
    decoder = Decoder()
    results = feed(decoder, frames)
    assert results[:2] == [None, None]
    pkt = results[2]
    assert pkt.defragmented and pkt.num == 3 and pkt.frame == frames[2]
    assert (pkt.sport, pkt.dport, pkt.payload) == (1234, 53, DATAGRAM[8:])
    assert (pkt.frag_offset, pkt.ip_flags & 1, pkt.ip_len) == (0, 0, 20 + len(DATAGRAM))
    assert decoder.stats["fragments"] == 3 and decoder.stats["reassembled"] == 1
    assert len(decoder.fragments) == 0 and decoder.fragments.held == 0


def test_ipv4_first_fragment_header_and_options_are_kept():
    pieces = split(DATAGRAM)
    first = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", id=9, proto=17, flags="MF",
                               options=[b"\x94\x04\x00\x00"], ttl=9) / pieces[0][1])
    rest = [v4_fragment(o, d, m, ident=9, proto=17) for o, d, m in pieces[1:]]
    pkt = feed(Decoder(), rest + [first])[-1]
    assert pkt.ttl == 9 and len(pkt.ip_header) == 24 and pkt.ip_header[20:] == b"\x94\x04\x00\x00"


def test_ipv4_overlaps_follow_bsd_policy():
    # A(0..24) first, then B(8..32) and C(0..16) overlap it, then the last piece D(32..40).
    frames = [v4_fragment(0, b"A" * 24, True), v4_fragment(8, b"B" * 24, True),
              v4_fragment(0, b"C" * 16, True), v4_fragment(32, b"D" * 8, False)]
    decoder = Decoder()
    pkt = feed(decoder, frames)[-1]
    # lowest start wins, first arrival among equal starts: A over C, A over B, B past A's end.
    assert pkt.payload == (b"A" * 24 + b"B" * 8 + b"D" * 8)[8:]
    assert decoder.stats["frag_overlaps"] == 1


def test_ipv4_later_fragment_starting_lower_wins():
    frames = [v4_fragment(8, b"B" * 16, True), v4_fragment(0, b"A" * 16, True),
              v4_fragment(24, b"D" * 8, False)]
    assert feed(Decoder(), frames)[-1].payload == (b"A" * 16 + b"B" * 8 + b"D" * 8)[8:]


def test_fragments_of_different_datagrams_do_not_mix():
    a = [v4_fragment(0, b"a" * 8, True, ident=1), v4_fragment(8, b"a" * 8, False, ident=1)]
    b = [v4_fragment(0, b"b" * 8, True, ident=2), v4_fragment(8, b"b" * 8, False, ident=2)]
    results = feed(Decoder(), [a[0], b[0], b[1], a[1]])
    assert results[2].payload == b"b" * 8 and results[3].payload == b"a" * 8


def test_timeout_evicts_a_stale_datagram():
    decoder = Decoder(frag_timeout=30.0)
    assert decoder.decode(0.0, v4_fragment(0, b"x" * 8, True), 1) is None
    assert decoder.decode(31.0, v4_fragment(8, b"y" * 8, False), 1) is None
    assert decoder.stats["frag_timeouts"] == 1 and decoder.stats["reassembled"] == 0
    assert len(decoder.fragments) == 1          # only the late piece, waiting for a new head
    decoder.expire(100.0)
    assert len(decoder.fragments) == 0 and decoder.fragments.held == 0


def test_memory_bound_evicts_oldest_datagrams():
    decoder = Decoder(frag_max_bytes=10_000, frag_max_datagrams=1_000)
    for ident in range(50):
        decoder.decode(ident * 0.01, v4_fragment(0, b"z" * 1400, True, ident=ident), 1)
        assert decoder.fragments.held <= 10_000
    assert decoder.stats["frag_evicted"] >= 43
    # the newest datagram survived and can still complete
    pkt = decoder.decode(1.0, v4_fragment(1400, b"w" * 8, False, ident=49), 1)
    assert pkt is not None and pkt.payload == b"z" * 1392 + b"w" * 8


def test_datagram_count_bound():
    decoder = Decoder(frag_max_datagrams=16)
    for ident in range(100):
        decoder.decode(0.0, v4_fragment(0, b"q" * 8, True, ident=ident), 1)
    assert len(decoder.fragments) == 16 and decoder.stats["frag_evicted"] == 84


def test_datagram_longer_than_64k_is_dropped():
    decoder = Decoder()
    decoder.decode(0.0, v4_fragment(0, b"h" * 8, True), 1)
    assert decoder.decode(0.0, v4_fragment(65528, b"t" * 16, False), 1) is None
    assert decoder.stats["frag_malformed"] == 1 and len(decoder.fragments) == 0


def test_two_different_last_fragments_drop_the_datagram():
    decoder = Decoder()
    feed(decoder, [v4_fragment(8, b"e" * 8, False), v4_fragment(16, b"f" * 8, False)])
    assert decoder.stats["frag_malformed"] == 1


def test_ipv6_reassembles_out_of_order_and_parses_udp():
    pieces = split(DATAGRAM, 1232)
    frames = [v6_fragment(o, d, m, ident=77) for o, d, m in reversed(pieces)]
    decoder = Decoder()
    results = feed(decoder, frames)
    assert results[:-1] == [None] * (len(frames) - 1)
    pkt = results[-1]
    assert pkt.defragmented and (pkt.ip_proto, pkt.sport, pkt.dport) == (17, 1234, 53)
    assert pkt.payload == DATAGRAM[8:] and pkt.ip_id == 77 and pkt.ip_flags == 0


def test_ipv6_atomic_fragment_is_not_held():
    frame = v6_fragment(0, bytes(UDP(sport=5, dport=6) / b"atom"), False)
    pkt = Decoder().decode(0.0, frame, 1)
    assert pkt is not None and (pkt.ip_proto, pkt.dport, pkt.payload) == (17, 6, b"atom")


def test_real_ipv6_fragmented_pings(shared_dir):
    decoder = Decoder()
    packets = [decoder.decode(ts, frame, lt, None, n)
               for n, (ts, frame, lt, _) in enumerate(corpus_frames("cs-ipv6_fragments.pcapng"), 1)]
    whole = [p for p in packets if p is not None and p.defragmented]
    assert decoder.stats["fragments"] == 20 and decoder.stats["reassembled"] == 10
    assert [(p.icmp_type, p.icmp_seq) for p in whole] == [
        (t, s) for s in range(1, 6) for t in (128, 129)]
    assert all(p.icmp_id == 0xEA40 and len(p.payload) == 1500 for p in whole)
    assert [p.num for p in whole] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert packets[0] is None and len(decoder.fragments) == 0
