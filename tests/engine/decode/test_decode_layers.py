"""Every decoder on a hand-built sample, on every truncation of it, and on mangled bytes."""

from __future__ import annotations

import random

import pytest
from decode_factories import ETH, TCP4, samples

from dpictl.engine.decode import Decoder
from dpictl.engine.decode.decoder import LINK_PARSERS

SAMPLES = samples()
IDS = [name for name, *_ in SAMPLES]


@pytest.mark.parametrize(("name", "frame", "linktype", "expected"), SAMPLES, ids=IDS)
def test_sample_decodes_to_expected_fields(name, frame, linktype, expected):
    pkt = Decoder().decode(12.5, frame, linktype, "eth0", 7)
    assert pkt is not None
    assert (pkt.ts, pkt.frame, pkt.linktype, pkt.iface, pkt.num) == (12.5, frame, linktype,
                                                                     "eth0", 7)
    assert {key: getattr(pkt, key) for key in expected} == expected


@pytest.mark.parametrize(("name", "frame", "linktype", "expected"), SAMPLES, ids=IDS)
def test_fast_path_and_general_path_agree(name, frame, linktype, expected):
    slow = Decoder()
    slow.fast_path = False
    assert Decoder().decode(1.0, frame, linktype) == slow.decode(1.0, frame, linktype)


@pytest.mark.parametrize(("name", "frame", "linktype", "expected"), SAMPLES, ids=IDS)
def test_every_truncation_is_counted_never_raised(name, frame, linktype, expected):
    decoder = Decoder()
    dropped = 0
    for cut in range(len(frame)):
        pkt = decoder.decode(1.0, frame[:cut], linktype)
        if pkt is None:
            dropped += 1
        elif expected.get("ip_version", 4):
            pytest.fail(f"{name} cut at {cut} bytes still decoded as IP: {pkt}")
    stats = decoder.stats
    assert stats["internal_errors"] == 0
    assert stats["truncated"] + stats["malformed"] == dropped
    assert dropped >= 1


def test_ip_header_and_options_are_kept():
    from scapy.layers.inet import IP, TCP

    frame = bytes(ETH / IP(src="1.1.1.1", dst="2.2.2.2", options=[b"\x94\x04\x00\x00"])
                  / TCP(options=[("MSS", 1400)]))
    pkt = Decoder().decode(0.0, frame, 1)
    assert pkt.ip_header == frame[14:38] and len(pkt.ip_header) == 24
    assert pkt.tcp_options == b"\x02\x04\x05\x78"
    assert pkt.ip_len == len(frame) - 14


def test_ethernet_padding_is_not_payload():
    frame = bytes(TCP4)
    padded = b"\x02" * 12 + b"\x08\x00" + frame + b"\x00" * 30
    pkt = Decoder().decode(0.0, padded, 1)
    assert pkt.payload.endswith(b"\r\n\r\n")


def test_unknown_linktype_is_a_non_ip_packet():
    decoder = Decoder()
    pkt = decoder.decode(0.0, b"\x01\x02\x03", 147)
    assert pkt is not None and pkt.ip_version == 0 and pkt.ip_proto == 0
    assert decoder.stats["unsupported_linktype"] == 1 and decoder.stats["non_ip"] == 1


def test_tcp_with_zero_total_length_is_malformed_like_suricata():
    frame = bytearray(b"\x02" * 12 + b"\x08\x00" + bytes(TCP4))
    frame[16:18] = b"\x00\x00"          # what TSO captures on the sender look like
    decoder = Decoder()
    assert decoder.decode(0.0, bytes(frame), 1) is None
    assert decoder.stats["malformed"] == 1


def test_vxlan_without_vni_flag_stays_outer_udp():
    from scapy.layers.inet import IP, UDP

    frame = bytes(ETH / IP(src="9.9.9.9", dst="8.8.8.8") / UDP(sport=1, dport=4789)
                  / (b"\x00" * 8 + bytes(ETH / TCP4)))
    pkt = Decoder().decode(0.0, frame, 1)
    assert (pkt.src, pkt.ip_proto, pkt.dport, pkt.tunnels) == ("9.9.9.9", 17, 4789, ())


def test_mangled_frames_never_raise():
    rng = random.Random(1234)
    decoder = Decoder()
    for _name, frame, linktype, _expected in SAMPLES:
        for _ in range(300):
            mangled = bytearray(frame)
            for _ in range(rng.randint(1, 6)):
                mangled[rng.randrange(len(mangled))] = rng.randrange(256)
            decoder.decode(0.0, bytes(mangled), linktype)
    for linktype in LINK_PARSERS:
        for _ in range(300):
            decoder.decode(0.0, rng.randbytes(rng.randint(0, 120)), linktype)
    assert decoder.stats["internal_errors"] == 0
