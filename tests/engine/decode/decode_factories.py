"""Frames for the decoder tests, built with scapy or read from the shared pcaps.

Every sample is (name, frame bytes, linktype, expected Packet fields). The expectations are
written out by hand from what the builder was asked for, not read back from the decoder.
"""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import ARP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN

from dpictl.capture import open_pcap

SHARED_PCAPS = Path(__file__).resolve().parents[4] / "shared" / "pcaps"

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
TCP_OPTS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("WScale", 7)]
HTTP = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
TCP4 = (IP(src="10.0.0.1", dst="10.0.0.2", ttl=63, tos=0x10, id=4242)
        / TCP(sport=40000, dport=80, seq=1000, ack=2000, flags="PA", window=512) / HTTP)
TCP4_FIELDS = dict(ip_version=4, src="10.0.0.1", dst="10.0.0.2", ip_proto=6, ttl=63, tos=0x10,
                   ip_id=4242, sport=40000, dport=80, seq=1000, ack=2000, tcp_flags=0x18,
                   window=512, payload=HTTP)
V6 = dict(src="2001:db8::1", dst="2001:db8::2")
V6_FIELDS = dict(ip_version=6, src="2001:db8::1", dst="2001:db8::2")


def _bytes(layer) -> bytes:
    return bytes(layer)


def samples() -> list[tuple[str, bytes, int, dict]]:
    """The table every layer test and truncation test runs over."""
    udp_dns = UDP(sport=5353, dport=53) / b"\x12\x34query"
    udp_fields = dict(ip_version=4, src="10.0.0.1", dst="10.0.0.2", ip_proto=17, sport=5353,
                      dport=53, payload=b"\x12\x34query")
    ip4 = IP(src="10.0.0.1", dst="10.0.0.2")
    return [
        ("eth-ipv4-tcp", _bytes(ETH / TCP4), 1, TCP4_FIELDS),
        ("eth-ipv4-tcp-options",
         _bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", options=[b"\x94\x04\x00\x00"])
                / TCP(sport=1, dport=2, flags="S", options=TCP_OPTS)), 1,
         dict(ip_version=4, ip_proto=6, sport=1, dport=2, tcp_flags=0x02, payload=b"")),
        ("eth-ipv4-udp", _bytes(ETH / ip4 / udp_dns), 1, udp_fields),
        ("eth-ipv4-icmp-echo", _bytes(ETH / ip4 / ICMP(type=8, id=7, seq=9) / b"ping"), 1,
         dict(ip_version=4, ip_proto=1, icmp_type=8, icmp_code=0, icmp_id=7, icmp_seq=9,
              payload=b"ping")),
        ("eth-ipv4-icmp-unreach", _bytes(ETH / ip4 / ICMP(type=3, code=3) / b"quoted"), 1,
         dict(ip_proto=1, icmp_type=3, icmp_code=3, icmp_id=0, icmp_seq=0, payload=b"quoted")),
        ("eth-ipv6-icmpv6-echo",
         _bytes(ETH / IPv6(**V6, hlim=5) / ICMPv6EchoRequest(id=3, seq=4, data=b"p6")), 1,
         dict(V6_FIELDS, ip_proto=58, ttl=5, icmp_type=128, icmp_id=3, icmp_seq=4,
              payload=b"p6")),
        ("eth-ipv6-exthdrs-tcp",
         _bytes(ETH / IPv6(**V6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting()
                / IPv6ExtHdrDestOpt() / AH(nh=6, payloadlen=1)
                / TCP(sport=443, dport=5000, flags="A") / b"data6"), 1,
         dict(V6_FIELDS, ip_proto=6, sport=443, dport=5000, payload=b"data6")),
        ("eth-ipv6-esp", _bytes(ETH / IPv6(**V6, nh=50) / (b"\x00\x00\x00\x01" * 4)), 1,
         dict(V6_FIELDS, ip_proto=50, sport=0, payload=b"\x00\x00\x00\x01" * 2)),  # after SPI+seq
        ("eth-ipv6-no-next", _bytes(ETH / IPv6(**V6, nh=59)), 1,
         dict(V6_FIELDS, ip_proto=59, payload=b"")),
        ("eth-vlan", _bytes(ETH / Dot1Q(vlan=100) / TCP4), 1, dict(TCP4_FIELDS, vlan=(100,))),
        ("eth-qinq", _bytes(Ether(type=0x88A8) / Dot1AD(vlan=10) / Dot1Q(vlan=20) / TCP4), 1,
         dict(TCP4_FIELDS, vlan=(10, 20))),
        ("eth-arp", _bytes(ETH / ARP(psrc="10.0.0.1", pdst="10.0.0.2")), 1,
         dict(ip_version=0, ip_proto=0, src="")),
        ("sll", _bytes(CookedLinux(proto=0x0800) / TCP4), 113, TCP4_FIELDS),
        ("sll2", _bytes(CookedLinuxV2(proto=0x0800) / TCP4), 276, TCP4_FIELDS),
        ("raw-v4", _bytes(TCP4), 101, TCP4_FIELDS),
        ("raw-v6", _bytes(IPv6(**V6) / UDP(sport=1, dport=2) / b"x"), 101,
         dict(V6_FIELDS, ip_proto=17, sport=1, dport=2, payload=b"x")),
        ("ipv4-linktype", _bytes(TCP4), 228, TCP4_FIELDS),
        ("ipv6-linktype", _bytes(IPv6(**V6) / TCP(sport=7, dport=8)), 229,
         dict(V6_FIELDS, ip_proto=6, sport=7, dport=8)),
        ("null-le", b"\x02\x00\x00\x00" + _bytes(TCP4), 0, TCP4_FIELDS),
        ("null-be-ipv6", b"\x00\x00\x00\x1e" + _bytes(IPv6(**V6) / UDP(sport=1, dport=2)), 0,
         dict(V6_FIELDS, ip_proto=17, sport=1, dport=2)),
        ("loop", b"\x00\x00\x00\x02" + _bytes(TCP4), 108, TCP4_FIELDS),
        ("vxlan", _bytes(ETH / IP(src="192.168.0.1", dst="192.168.0.2")
                         / UDP(sport=33333, dport=4789) / VXLAN(vni=42) / ETH / TCP4), 1,
         dict(TCP4_FIELDS, tunnels=("vxlan",))),
        ("gre-ipv4", _bytes(ETH / IP(src="192.168.0.1", dst="192.168.0.2") / GRE() / TCP4), 1,
         dict(TCP4_FIELDS, tunnels=("gre",))),
        ("gre-key-seq-eth",
         _bytes(ETH / IP(src="192.168.0.1", dst="192.168.0.2")
                / GRE(key_present=1, key=5, seqnum_present=1, sequence_number=9, proto=0x6558)
                / ETH / Dot1Q(vlan=7) / TCP4), 1,
         dict(TCP4_FIELDS, tunnels=("gre",), vlan=(7,))),
        ("gre-erspan2", _bytes(ETH / IP(src="192.168.0.1", dst="192.168.0.2")
                               / GRE(seqnum_present=1, proto=0x88BE)
                               / (b"\x10\x01\x00\x01\x00\x00\x00\x00") / ETH / TCP4), 1,
         dict(TCP4_FIELDS, tunnels=("gre",))),
        ("gre-pptp-ppp",                # GRE v1, key + sequence, PPP FF 03 00 21 (IPv4)
         _bytes(ETH / IP(src="192.168.0.1", dst="192.168.0.2", proto=47)
                / (b"\x30\x01\x88\x0b\x00\x2c\x00\x07" + b"\x00\x00\x00\x01"
                   + b"\xff\x03\x00\x21" + _bytes(TCP4))), 1,
         dict(TCP4_FIELDS, tunnels=("gre",))),
        ("ipip-v6-in-v4", _bytes(ETH / IP(src="192.168.0.1", dst="192.168.0.2")
                                 / IPv6(**V6) / UDP(sport=1, dport=2) / b"in"), 1,
         dict(V6_FIELDS, ip_proto=17, sport=1, dport=2, payload=b"in", tunnels=("ipip",))),
    ]


def corpus_frames(name: str) -> list[tuple[float, bytes, int, str | None]]:
    """Every frame of one shared pcap, in order."""
    with open_pcap(SHARED_PCAPS / name) as source:
        return list(source)


__all__ = ["samples", "corpus_frames", "SHARED_PCAPS", "TCP4", "TCP4_FIELDS", "ETH"]
