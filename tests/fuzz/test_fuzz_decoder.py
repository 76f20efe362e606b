"""The decoder on mutated and random frames of every link type it knows: `decode()` returns a
Packet or None and `decode_all()` a list, neither raises, and no frame lands in
`internal_errors` (the counter that hides a decoder bug from the capture loop). Crafted
tunnel, MPLS, PPPoE and fragment frames join the real ones, so the mutations reach those
decoders too."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import GRE, IP, UDP, fragment
from scapy.layers.l2 import Ether
from scapy.layers.ppp import PPP, PPPoE
from scapy.layers.vxlan import VXLAN

from dpictl.capture import open_pcap
from dpictl.engine.decode import Decoder
from dpictl.engine.decode.decoder import LINK_PARSERS

from .budget import examples
from .mutate import mutated

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps"


def _frames() -> list[tuple[bytes, int]]:
    """Real frames: TCP, DNS, ICMP, IPv6 with fragments (the first ones of each file)."""
    out = []
    for name in ("cs-dns_tcp.pcapng", "cs-ipv6_fragments.pcapng", "cs-icmp_traceroute.pcapng",
                 "cs-http_post.pcapng"):
        with open_pcap(SHARED / name) as source:
            for i, (_, frame, linktype, _) in enumerate(source):
                if i >= 12:
                    break
                out.append((bytes(frame[:1600]), linktype))
    return out + [(bytes(frame), 1) for frame in _crafted()]


def _crafted() -> list:
    inner = IP(src="10.0.0.1", dst="10.0.0.2", id=3) / UDP(sport=1, dport=53) / (b"q" * 40)
    outer = IP(src="10.9.0.1", dst="10.9.0.2")
    return [Ether() / outer / UDP(sport=2, dport=4789) / VXLAN() / Ether() / inner,
            Ether() / outer / UDP(sport=2, dport=6081)
            / GENEVE(proto=0x6558, options=b"\x01\x02\x03\x01\x00\x00\x00\x00") / Ether() / inner,
            Ether() / outer / GRE(proto=0x0800) / inner,
            Ether(type=0x8847) / MPLS(label=100, s=0) / MPLS(label=0, s=1) / inner,
            Ether(type=0x8864) / PPPoE() / PPP(proto=0x0021) / inner,
            *[Ether() / outer / UDP(sport=2, dport=4789) / VXLAN() / Ether() / piece
              for piece in fragment(inner, fragsize=24)]]


FRAMES = _frames()
LINKTYPES = sorted(LINK_PARSERS) + [147]          # 147: a link type with no parser


@settings(max_examples=examples(400))
@given(st.lists(st.sampled_from(range(len(FRAMES))).flatmap(
    lambda i: st.tuples(mutated(FRAMES[i][0], max_ops=4), st.just(FRAMES[i][1]))),
    min_size=1, max_size=8))
def test_mutated_real_frames(frames: list[tuple[bytes, int]]) -> None:
    decoder = Decoder()                 # several frames: fragments meet in one table
    for num, (frame, linktype) in enumerate(frames):
        decoder.decode(float(num), frame, linktype, num=num)
        assert isinstance(decoder.decode_all(float(num), frame, linktype, num=num), list)
    assert decoder.stats["internal_errors"] == 0


@settings(max_examples=examples(300))
@given(frame=st.binary(max_size=256), linktype=st.sampled_from(LINKTYPES))
def test_random_frames_of_every_link_type(frame: bytes, linktype: int) -> None:
    decoder = Decoder()
    decoder.decode(0.0, frame, linktype)
    decoder.decode_all(0.0, frame, linktype)
    assert decoder.stats["internal_errors"] == 0
