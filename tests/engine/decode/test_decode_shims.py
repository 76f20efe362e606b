"""MPLS, PPPoE and Geneve decoding, and decode_all's packets per frame (fragments, outer and
inner packets of tunnels), on hand-built samples and every truncation of them."""

from __future__ import annotations

import pytest
from decode_factories import ETH
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import GRE, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.ppp import PPP, PPPoE, PPPoED
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

from dpictl.engine.decode import Decoder
from dpictl.engine.decode.tcp import has_fast_open

UDP4 = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=53) / b"dns?"
UDP6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1000, dport=53) / b"dns6"
GENEVE_OPTIONS = b"\x01\x02\x03\x01" + b"\xaa\xbb\xcc\xdd"     # one option of 4 data bytes

# (name, frame, (src, dport, payload, vlan) of the packet decode() returns; None: not IP)
SHIMS = [
    ("mpls-stack-ipv4", ETH / MPLS(label=100, s=0) / MPLS(label=200, s=1) / UDP4,
     ("10.0.0.1", 53, b"dns?", ())),
    ("mpls-multicast", Ether(type=0x8848) / MPLS(label=300, s=1) / UDP4,
     ("10.0.0.1", 53, b"dns?", ())),
    ("mpls-ipv6-by-nibble", ETH / MPLS(label=16, s=1) / UDP6, ("2001:db8::1", 53, b"dns6", ())),
    ("mpls-ipv4-explicit-null", ETH / MPLS(label=0, s=1) / UDP4, ("10.0.0.1", 53, b"dns?", ())),
    ("mpls-ipv6-explicit-null", ETH / MPLS(label=2, s=1) / UDP6,
     ("2001:db8::1", 53, b"dns6", ())),
    ("mpls-ethernet-pseudowire", ETH / MPLS(label=500, s=1) / b"\x00\x00\x00\x00"
     / Ether() / UDP4, ("10.0.0.1", 53, b"dns?", ())),
    ("mpls-implicit-null-at-bottom", ETH / MPLS(label=3, s=1) / UDP4, None),
    ("pppoe-ipv4", Ether(type=0x8864) / PPPoE(sessionid=7) / PPP(proto=0x0021) / UDP4,
     ("10.0.0.1", 53, b"dns?", ())),
    ("pppoe-ipv6", Ether(type=0x8864) / PPPoE(sessionid=7) / PPP(proto=0x0057) / UDP6,
     ("2001:db8::1", 53, b"dns6", ())),
    ("pppoe-lcp", Ether(type=0x8864) / PPPoE(sessionid=7) / PPP(proto=0xC021)
     / Raw(b"\x01" * 8), None),
    ("pppoe-discovery", Ether(type=0x8863) / PPPoED(code=0x09) / b"\x01\x01\x00\x00", None),
    ("geneve-ethernet-options", ETH / IP(src="10.9.0.1", dst="10.9.0.2")
     / UDP(sport=4000, dport=6081) / GENEVE(vni=5, proto=0x6558, options=GENEVE_OPTIONS)
     / Ether() / UDP4, ("10.0.0.1", 53, b"dns?", ())),
    ("geneve-ipv4-source-port", ETH / IP(src="10.9.0.1", dst="10.9.0.2")
     / UDP(sport=6081, dport=4000) / GENEVE(vni=5, proto=0x0800) / UDP4,
     ("10.0.0.1", 53, b"dns?", ())),
    ("geneve-vlan-inside", ETH / IP(src="10.9.0.1", dst="10.9.0.2")
     / UDP(sport=4000, dport=6081) / GENEVE(vni=5, proto=0x6558) / Ether() / Dot1Q(vlan=10)
     / UDP4, ("10.0.0.1", 53, b"dns?", (10,))),
]
SHIM_IDS = [name for name, *_ in SHIMS]


@pytest.mark.parametrize(("name", "frame", "expected"), SHIMS, ids=SHIM_IDS)
def test_shims_and_geneve_decode_to_the_ip_packet_inside(name, frame, expected):
    pkt = Decoder().decode(1.0, bytes(frame), 1)
    assert pkt is not None
    if expected is None:
        assert (pkt.ip_version, pkt.ip_proto) == (0, 0)
    else:
        assert (pkt.src, pkt.dport, pkt.payload, pkt.vlan) == expected


@pytest.mark.parametrize("header", [
    b"\x40\x00\x65\x58\x00\x00\x05\x00",                 # version 1
    b"\x00\x01\x65\x58\x00\x00\x05\x00",                 # a reserved flag bit
    b"\x02\x00\x65\x58\x00\x00\x05\x00" + b"\x01\x02\x03\x03" + b"\x00" * 4,   # option too long
    b"\x00\x00\x88\x47\x00\x00\x05\x00",                 # a payload type it does not follow
])
def test_geneve_header_suricata_refuses_stays_plain_udp(header):
    body = header + bytes(Ether() / UDP4)
    frame = bytes(ETH / IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=4000, dport=6081) / body)
    pkts = Decoder().decode_all(1.0, frame, 1)
    assert [(p.src, p.dport, p.payload, p.tunnel_outer) for p in pkts] == [
        ("10.9.0.1", 6081, body, False)]


@pytest.mark.parametrize(("name", "frame", "expected"), SHIMS, ids=SHIM_IDS)
def test_every_truncation_of_a_shim_frame_is_counted_never_raised(name, frame, expected):
    frame = bytes(frame)
    decoder = Decoder()
    for cut in range(len(frame)):
        decoder.decode_all(1.0, frame[:cut], 1)
    assert decoder.stats["internal_errors"] == 0


def test_decode_all_gives_a_tunnels_outer_packet_first_without_its_payload():
    frame = bytes(ETH / IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=4000, dport=4789)
                  / VXLAN(vni=3) / Ether() / UDP4)
    outer, inner = Decoder().decode_all(1.0, frame, 1, "eth0", 5)
    assert (outer.src, outer.dport, outer.ip_proto, outer.payload, outer.tunnel_outer,
            outer.tunnels) == ("10.9.0.1", 4789, 17, b"", True, ())
    assert (inner.src, inner.dport, inner.payload, inner.tunnel_outer,
            inner.tunnels) == ("10.0.0.1", 53, b"dns?", False, ("vxlan",))
    assert outer.num == inner.num == 5 and outer.frame == inner.frame == frame
    assert Decoder().decode(1.0, frame, 1, "eth0", 5) == inner   # decode(): the inner only


def test_decode_all_gives_gre_outer_with_protocol_47():
    frame = bytes(ETH / IP(src="10.9.0.1", dst="10.9.0.2") / GRE(proto=0x0800) / UDP4)
    outer, inner = Decoder().decode_all(1.0, frame, 1)
    assert (outer.ip_proto, outer.proto_name, outer.payload, inner.src) == (
        47, "GRE", b"", "10.0.0.1")


def test_each_ipv4_fragment_is_a_packet_then_the_datagram():
    datagram = IP(src="10.0.0.1", dst="10.0.0.2", id=4321) / UDP(sport=1, dport=53) / (b"x" * 48)
    frames = [bytes(ETH / piece) for piece in fragment(datagram, fragsize=24)]
    decoder = Decoder()
    out = [decoder.decode_all(float(i), f, 1, None, i + 1) for i, f in enumerate(frames)]
    assert [len(pkts) for pkts in out] == [1, 1, 2]
    pieces = [pkts[0] for pkts in out]
    assert all(p.is_fragment and p.ip_proto == 17 and (p.sport, p.dport, p.payload) == (0, 0, b"")
               and p.ip_id == 4321 for p in pieces)
    assert [(p.frag_offset, p.ip_flags & 1) for p in pieces] == [(0, 1), (24, 1), (48, 0)]
    whole = out[2][1]
    assert (whole.is_fragment, whole.defragmented, whole.dport, whole.payload) == (
        False, True, 53, b"x" * 48)


def test_an_ipv6_fragment_is_a_packet_of_protocol_44():
    datagram = (IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=9)
                / UDP(sport=1, dport=53) / (b"y" * 100))
    frames = [bytes(ETH / piece) for piece in fragment6(datagram, 80)]
    decoder = Decoder()
    out = [decoder.decode_all(float(i), f, 1) for i, f in enumerate(frames)]
    assert all(pkts[0].is_fragment and pkts[0].ip_proto == 44
               and pkts[0].proto_name == "IPv6-Frag" for pkts in out)
    assert [len(pkts) for pkts in out] == [1] * (len(frames) - 1) + [2]
    assert out[-1][1].payload == b"y" * 100 and out[-1][1].ip_proto == 17


def test_protocols_not_taken_apart_have_no_payload_but_esp_has_its_data():
    igmp = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", proto=2) / (b"\x11" * 16))
    esp = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", proto=50) / (b"\x00" * 8 + b"secret"))
    assert Decoder().decode(1.0, igmp, 1).payload == b""
    assert Decoder().decode(1.0, esp, 1).payload == b"secret"


@pytest.mark.parametrize(("options", "expected"), [
    ([("MSS", 1460), (34, b"\x01" * 8)], True),          # a cookie
    ([(34, b"")], True),                                  # a cookie request
    ([(34, b"\x01" * 3)], False),                          # odd length 5: refused
    ([(254, b"\xf9\x89")], True),                          # the experimental form
    ([(254, b"\x12\x34")], False),
    ([("MSS", 1460), ("SAckOK", b""), ("WScale", 7)], False),
])
def test_fast_open_option(options, expected):
    tcp = TCP(flags="S", options=options)
    assert has_fast_open(bytes(tcp)[20:(tcp.dataofs or 5) * 4 if tcp.dataofs else None]) \
        == expected


def test_ipv4_in_ipv4_is_not_followed_but_ipv6_in_ipv4_and_ipv4_in_ipv6_are():
    v4v4 = bytes(ETH / IP(src="10.9.0.1", dst="10.9.0.2") / UDP4)
    v6v4 = bytes(ETH / IP(src="10.9.0.1", dst="10.9.0.2") / UDP6)
    v4v6 = bytes(ETH / IPv6(src="2001:db8::9", dst="2001:db8::a") / UDP4)
    assert [(p.src, p.ip_proto, p.proto_name, p.payload) for p in
            Decoder().decode_all(1.0, v4v4, 1)] == [("10.9.0.1", 4, "IP-in-IP", b"")]
    assert [p.src for p in Decoder().decode_all(1.0, v6v4, 1)] == ["10.9.0.1", "2001:db8::1"]
    assert [p.src for p in Decoder().decode_all(1.0, v4v6, 1)] == ["2001:db8::9", "10.0.0.1"]


@pytest.mark.parametrize(("prefix", "followed"), [
    (b"", True),
    (b"\x00\x00\x12\x34\x01\x02\x03\x04", True),          # origin indication
    (b"\x00\x01\x00\x00", False),                          # authentication indication
])
def test_teredo_follows_an_ipv6_packet_filling_the_datagram(prefix, followed):
    frame = bytes(ETH / IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=40000, dport=3544)
                  / prefix / UDP6)
    pkts = Decoder().decode_all(1.0, frame, 1)
    assert [p.src for p in pkts] == (["10.9.0.1", "2001:db8::1"] if followed else ["10.9.0.1"])
    longer = bytes(ETH / IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=40000, dport=3544)
                   / Raw(prefix + bytes(UDP6) + b"\x00"))      # IPv6 not ending the datagram
    assert [p.src for p in Decoder().decode_all(1.0, longer, 1)] == ["10.9.0.1"]
