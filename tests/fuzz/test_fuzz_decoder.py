"""The decoder on mutated and random frames of every link type it knows: `decode()` returns a
Packet or None and never raises, and no frame lands in `internal_errors` (the counter that
hides a decoder bug from the capture loop)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

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
    return out


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
    assert decoder.stats["internal_errors"] == 0


@settings(max_examples=examples(300))
@given(frame=st.binary(max_size=256), linktype=st.sampled_from(LINKTYPES))
def test_random_frames_of_every_link_type(frame: bytes, linktype: int) -> None:
    decoder = Decoder()
    decoder.decode(0.0, frame, linktype)
    assert decoder.stats["internal_errors"] == 0
