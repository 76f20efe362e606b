"""Differential test of what is inspected per frame, against a local Suricata 7.

Crafted pcaps exercise the decoders and the stream's first packet: IPv4 and IPv6 fragments
(each fragment, then the reassembled datagram; `fragoffset`, `flow:only_frag/no_frag`),
VXLAN, Geneve, Teredo, GRE and IP in IP (outer packet, then the inner one), MPLS and PPPoE (the IP
packet inside), and TCP Fast Open (data on the SYN).
Probe rules ask which packet each keyword family sees: IP-level (`fragbits`, `id`,
`ip_proto`, plain `ip`), transport (ports, `flags`, `dsize`), payload (`content` on packet,
stream and HTTP buffers) and flow (`established`). Suricata and dpictl run the same rules on
the same pcap, and the multiset of alerts (sid, protocol, addresses, ports) must agree:
Suricata numbers no pseudo packet (a reassembled datagram, a tunnel's inner packet), so the
packet number is left out. Skipped when `suricata` is not installed.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.layers.ppp import PPP, PPPoE, PPPoED
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw
from scapy.utils import wrpcap

from dpictl.capture import open_pcap
from dpictl.engine import Engine
from dpictl.rules import load_rules

pytestmark = pytest.mark.skipif(shutil.which("suricata") is None,
                                reason="suricata is not installed")

FRAGMENT_RULES = """
alert ip any any -> any any (msg:"ip fragbits M"; fragbits:M; sid:1;)
alert ip any any -> any any (msg:"ip fragbits !M"; fragbits:!M; sid:2;)
alert udp any any -> any any (msg:"udp fragbits M"; fragbits:M; sid:3;)
alert ip any any -> any any (msg:"id"; id:4321; sid:4;)
alert udp any any -> any any (msg:"udp content second piece"; content:"BBBB"; sid:5;)
alert udp any any -> any any (msg:"udp content first piece"; content:"AAAA"; sid:6;)
alert ip any any -> any any (msg:"ip content"; content:"BBBB"; sid:7;)
alert udp any any -> any 53 (msg:"udp port"; sid:8;)
alert ip any any -> any any (msg:"ip"; sid:9;)
alert ip any any -> any any (msg:"ip_proto udp"; ip_proto:17; sid:10;)
alert udp any any -> any any (msg:"udp dsize"; dsize:>30; sid:11;)
alert ip any any -> any any (msg:"community 272 shape"; fragbits:M+; ip_proto:2; sid:13;)
alert icmp any any -> any any (msg:"community 29456 shape"; fragbits:!M; itype:8; sid:14;)
alert icmp any any -> any any (msg:"itype"; itype:8; sid:15;)
alert ip any any -> any any (msg:"ip dsize"; dsize:>20; sid:18;)
alert ip any any -> any any (msg:"ipv6 fragment header"; ip_proto:44; sid:19;)
alert udp any any -> any any (msg:"udp"; sid:20;)
alert icmp any any -> any any (msg:"icmp content"; content:"BBBB"; sid:21;)
alert ip any any -> any any (msg:"ip dsize 0"; dsize:0; sid:22;)
alert ip any any -> any any (msg:"fragoffset above 0"; fragoffset:>0; sid:31;)
alert ip any any -> any any (msg:"fragoffset 0"; fragoffset:0; sid:32;)
alert ip any any -> any any (msg:"fragoffset in units"; fragoffset:3; sid:34;)
alert ip any any -> any any (msg:"fragoffset below"; fragoffset:<16; sid:35;)
alert ip any any -> any any (msg:"only_frag"; flow:only_frag; sid:36;)
alert ip any any -> any any (msg:"no_frag"; flow:no_frag; sid:37;)
alert udp any any -> any any (msg:"only_frag content"; flow:only_frag; content:"BBBB"; sid:38;)
alert udp any any -> any any (msg:"no_frag content"; flow:no_frag; content:"BBBB"; sid:39;)
alert udp any any -> any any (msg:"fragoffset content"; fragoffset:0; content:"BBBB"; sid:40;)
"""

TUNNEL_RULES = """
alert udp any any -> any 4789 (msg:"vxlan outer"; sid:101;)
alert ip any any -> any any (msg:"ip content"; content:"INNER"; sid:102;)
alert udp any any -> any 53 (msg:"inner udp content"; content:"INNER"; sid:103;)
alert ip [10.0.0.0/8,2001:db8::b] any -> any any (msg:"outer addresses"; sid:104;)
alert ip [192.168.0.0/16,2001:db8::/32,2001::/64] any -> any any (msg:"inner addresses"; sid:105;)
alert ip any any -> any any (msg:"gre"; ip_proto:47; sid:106;)
alert udp any any -> any 6081 (msg:"geneve outer"; sid:107;)
alert ip any any -> any any (msg:"ip"; sid:108;)
alert udp any any -> any any (msg:"udp content"; content:"INNER"; sid:109;)
alert ip any any -> any any (msg:"ip_proto udp"; ip_proto:17; sid:110;)
alert udp any any -> any 4789 (msg:"vxlan outer content"; content:"INNER"; sid:111;)
alert udp any any -> any 4789 (msg:"vxlan outer dsize"; dsize:>10; sid:112;)
alert udp any any -> any 4789 (msg:"vxlan outer dsize 0"; dsize:0; sid:113;)
alert udp any any -> any 4789 (msg:"vxlan outer flow"; flow:to_server; sid:114;)
alert udp any any -> any 3544 (msg:"teredo outer"; sid:115;)
alert udp any 3544 -> any any (msg:"teredo outer, source port"; sid:116;)
"""

TFO_RULES = """
alert tcp any any -> any 80 (msg:"community 1122"; flow:to_server,established; content:"/etc/passwd"; fast_pattern:only; http_uri; sid:1122;)
alert tcp any any -> any 80 (msg:"content"; content:"passwd"; sid:201;)
alert tcp any any -> any 80 (msg:"SYN content"; flags:S; content:"passwd"; sid:202;)
alert tcp any any -> any 80 (msg:"established content"; flow:established; content:"passwd"; sid:203;)
alert tcp any any -> any 80 (msg:"not established content"; flow:not_established; content:"passwd"; sid:204;)
alert tcp any any -> any 80 (msg:"SYN dsize"; flags:S; dsize:>0; sid:205;)
alert tcp any any -> any 80 (msg:"http_method"; content:"GET"; http_method; sid:206;)
alert tcp any any -> any 80 (msg:"only_stream"; flow:only_stream; content:"passwd"; sid:207;)
alert tcp any any -> any 80 (msg:"no_stream"; flow:no_stream; content:"passwd"; sid:208;)
alert tcp any 80 -> any any (msg:"response"; content:"200 OK"; sid:209;)
alert tcp any any -> any 80 (msg:"depth"; content:"GET"; depth:3; sid:210;)
alert tcp any any -> any 80 (msg:"ack"; ack:5001; content:"passwd"; sid:301;)
alert tcp any any -> any 80 (msg:"window"; window:8192; content:"passwd"; sid:302;)
alert tcp any any -> any 80 (msg:"id"; id:1; content:"passwd"; sid:303;)
alert tcp any any -> any 80 (msg:"tos"; tos:0; content:"passwd"; sid:304;)
alert tcp any any -> any 80 (msg:"fragbits"; fragbits:!M; content:"passwd"; sid:306;)
alert tcp any any -> any 80 (msg:"ttl"; ttl:64; content:"passwd"; sid:308;)
alert tcp any any -> any 80 (msg:"seq"; seq:1001; content:"passwd"; sid:309;)
alert tcp any any -> any 80 (msg:"flags"; flags:PA; content:"passwd"; sid:310;)
"""


def _fragment_packets() -> list:
    udp = (Ether() / IP(src="10.0.0.1", dst="10.0.0.2", id=4321) / UDP(sport=1111, dport=53)
           / (b"A" * 16 + b"B" * 16 + b"C" * 16))
    icmp = (Ether() / IP(src="10.0.0.3", dst="10.0.0.4", id=999) / ICMP(type=8, id=7, seq=1)
            / (b"X" * 40 + b"BBBB" + b"Y" * 20))
    igmp = Ether() / IP(src="10.0.0.5", dst="10.0.0.6", id=555, proto=2) / Raw(b"\x11" * 48)
    whole = (Ether() / IP(src="10.0.0.7", dst="10.0.0.8", id=4321) / UDP(sport=2222, dport=53)
             / (b"A" * 8 + b"BBBB"))
    v6 = (Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=4321)
          / UDP(sport=3333, dport=53) / (b"A" * 16 + b"B" * 40 + b"C" * 40))
    return (fragment(udp, fragsize=24) + fragment(icmp, fragsize=32)
            + fragment(igmp, fragsize=16) + [whole] + fragment6(v6, 80))


def _inner(n: int, src: str, dst: str):
    return Ether() / IP(src=src, dst=dst) / UDP(sport=5000 + n, dport=53) / (b"INNER%d" % n)


def _tunnel_packets() -> list:
    options = b"\x01\x02\x03\x01" + b"\xaa\xbb\xcc\xdd"
    return [
        Ether() / IP(src="10.1.0.1", dst="10.1.0.2") / UDP(sport=12345, dport=4789)
        / VXLAN(vni=42) / _inner(1, "192.168.0.1", "192.168.0.2"),
        Ether() / IP(src="10.2.0.1", dst="10.2.0.2") / GRE(proto=0x0800)
        / IP(src="192.168.1.1", dst="192.168.1.2") / UDP(sport=5002, dport=53) / b"INNER2",
        Ether() / IP(src="10.3.0.1", dst="10.3.0.2") / GRE(proto=0x6558)
        / _inner(3, "192.168.3.1", "192.168.3.2"),
        Ether() / IP(src="10.4.0.1", dst="10.4.0.2") / UDP(sport=12346, dport=6081)
        / GENEVE(vni=7, proto=0x6558, options=options) / _inner(4, "192.168.4.1", "192.168.4.2"),
        Ether(type=0x8847) / MPLS(label=100, s=0) / MPLS(label=200, s=1)
        / IP(src="192.168.5.1", dst="192.168.5.2") / UDP(sport=5005, dport=53) / b"INNER5",
        Ether(type=0x8848) / MPLS(label=101, s=1)
        / IP(src="192.168.6.1", dst="192.168.6.2") / UDP(sport=5006, dport=53) / b"INNER6",
        Ether(type=0x8847) / MPLS(label=102, s=1)
        / IPv6(src="2001:db8::7", dst="2001:db8::8") / UDP(sport=5007, dport=53) / b"INNER7",
        Ether(type=0x8864) / PPPoE(sessionid=0x11) / PPP(proto=0x0021)
        / IP(src="192.168.8.1", dst="192.168.8.2") / UDP(sport=5008, dport=53) / b"INNER8",
        Ether(type=0x8864) / PPPoE(sessionid=0x11) / PPP(proto=0x0057)
        / IPv6(src="2001:db8::9", dst="2001:db8::a") / UDP(sport=5009, dport=53) / b"INNER9",
        Ether(type=0x8863) / PPPoED(code=0x09) / b"INNER10",
        Ether() / IPv6(src="2001:db8::b", dst="2001:db8::c") / UDP(sport=12347, dport=4789)
        / VXLAN(vni=43) / _inner(11, "192.168.11.1", "192.168.11.2"),
        Ether(type=0x8847) / MPLS(label=0, s=1)
        / IP(src="192.168.12.1", dst="192.168.12.2") / UDP(sport=5012, dport=53) / b"INNER12",
        Ether() / IP(src="10.13.0.1", dst="10.13.0.2") / UDP(sport=12348, dport=6081)
        / GENEVE(vni=8, proto=0x0800) / IP(src="192.168.13.1", dst="192.168.13.2")
        / UDP(sport=5013, dport=53) / b"INNER13",
        # IP in IP: Suricata follows IPv6 in IPv4 and IPv4 in IPv6, not IPv4 in IPv4
        Ether() / IP(src="10.20.0.1", dst="10.20.0.2")
        / IP(src="192.168.20.1", dst="192.168.20.2") / UDP(sport=5020, dport=53) / b"INNER20",
        Ether() / IP(src="10.21.0.1", dst="10.21.0.2")
        / IPv6(src="2001:db8::21", dst="2001:db8::22") / UDP(sport=5021, dport=53) / b"INNER21",
        Ether() / IPv6(src="2001:db8::b", dst="2001:db8::c")
        / IP(src="192.168.22.1", dst="192.168.22.2") / UDP(sport=5022, dport=53) / b"INNER22",
        # Teredo, to and from its port, with an origin indication; text on the port
        Ether() / IP(src="10.30.0.1", dst="10.30.0.2") / UDP(sport=40000, dport=3544)
        / IPv6(src="2001::1", dst="2001::2") / UDP(sport=5030, dport=53) / b"INNER30",
        Ether() / IP(src="10.31.0.1", dst="10.31.0.2") / UDP(sport=3544, dport=40000)
        / Raw(b"\x00\x00\x12\x34\x01\x02\x03\x04")
        / IPv6(src="2001::3", dst="2001::4") / UDP(sport=5031, dport=53) / b"INNER31",
        Ether() / IP(src="10.32.0.1", dst="10.32.0.2") / UDP(sport=40000, dport=3544)
        / Raw(b"INNER32 is only text on the Teredo port"),
        # a fragmented datagram inside VXLAN: outer, inner fragments, inner datagram (one
        # outer flow per frame: Suricata alerts a header-only rule once per flow direction,
        # dpictl on every packet, see docs/parity.md)
        *[Ether() / IP(src="10.14.0.1", dst="10.14.0.2") / UDP(sport=12349 + i, dport=4789)
          / VXLAN(vni=44) / Ether() / piece
          for i, piece in enumerate(fragment(IP(src="192.168.14.1", dst="192.168.14.2", id=77)
                                             / UDP(sport=5014, dport=53)
                                             / (b"INNER14" + b"x" * 40), 24))],
    ]


REQUEST = b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"


def _tcp_session(cport: int, fast_open: bool, accepted: bool) -> list:
    """An HTTP request carried on the SYN; the server takes it (or not: sent again)."""
    def client(**kw):
        return Ether() / IP(src="10.9.0.1", dst="10.9.0.2") / TCP(sport=cport, dport=80, **kw)

    def server(**kw):
        return Ether() / IP(src="10.9.0.2", dst="10.9.0.1") / TCP(sport=80, dport=cport, **kw)

    isn, sisn = 1000, 5000
    cookie = [(34, b"\x11\x22\x33\x44\x55\x66\x77\x88")] if fast_open else []
    seq = isn + 1 + (len(REQUEST) if accepted else 0)
    out = [client(flags="S", seq=isn, options=[("MSS", 1460)] + cookie) / REQUEST,
           server(flags="SA", seq=sisn, ack=seq, options=[("MSS", 1460)]),
           client(flags="A", seq=seq, ack=sisn + 1)]
    if not accepted:
        out.append(client(flags="PA", seq=seq, ack=sisn + 1) / REQUEST)
        seq += len(REQUEST)
    end = sisn + 1 + len(RESPONSE)
    out += [server(flags="PA", seq=sisn + 1, ack=seq) / RESPONSE,
            client(flags="A", seq=seq, ack=end), client(flags="FA", seq=seq, ack=end),
            server(flags="FA", seq=end, ack=seq + 1), client(flags="A", seq=seq + 1, ack=end + 1)]
    return out


def _fast_open_packets() -> list:
    return (_tcp_session(40001, True, True) + _tcp_session(40002, False, True)
            + _tcp_session(40003, True, False))


def _suricata(shared: Path, rules: Path, pcap: Path, out: Path) -> Counter:
    config = out / "suricata.yaml"
    text = (shared / "oracle" / "suricata.yaml").read_text()
    text = text.replace("default-log-dir: .", "default-log-dir: .\npacket-alert-max: 255")
    text = text.replace(" shared/rules/", f" {shared}/rules/")
    config.write_text(text)
    subprocess.run(["suricata", "-c", str(config), "-S", str(rules), "-r", str(pcap), "-l",
                    str(out), "-k", "none", "--runmode", "single"], capture_output=True,
                   timeout=300, check=False)
    alerts: Counter = Counter()
    for line in (out / "eve.json").read_text().splitlines():
        event = json.loads(line)
        if event.get("event_type") == "alert":
            alerts[_key(event["alert"]["signature_id"], event["proto"], event["src_ip"],
                        event.get("src_port", 0), event["dest_ip"],
                        event.get("dest_port", 0))] += 1
    return alerts


def _dpictl(rules: Path, pcap: Path) -> Counter:
    engine = Engine(load_rules([rules]).rules)
    alerts: Counter = Counter()
    with open_pcap(pcap) as frames:
        for ts, frame, linktype, iface in frames:
            detections = engine.feed(ts, frame, linktype, iface)
            alerts.update(_key(d.sid, d.proto, d.src_ip, d.src_port, d.dst_ip, d.dst_port)
                          for d in detections)
    alerts.update(_key(d.sid, d.proto, d.src_ip, d.src_port, d.dst_ip, d.dst_port)
                  for d in engine.flush())
    return alerts


def _key(sid: int, proto: str, src: str, sport: int, dst: str, dport: int) -> tuple:
    return (sid, proto.upper(), ipaddress.ip_address(src).compressed, sport,
            ipaddress.ip_address(dst).compressed, dport)


@pytest.mark.parametrize(("name", "packets", "rules"), [
    ("fragments", _fragment_packets, FRAGMENT_RULES),
    ("tunnels", _tunnel_packets, TUNNEL_RULES),
    ("fast_open", _fast_open_packets, TFO_RULES),
])
def test_inspected_packets_agree_with_suricata(name, packets, rules, tmp_path, shared_dir):
    rules_file, pcap = tmp_path / f"{name}.rules", tmp_path / f"{name}.pcap"
    rules_file.write_text(rules)
    frames = packets()
    for i, frame in enumerate(frames):
        frame.time = 1700000000 + i * 0.01
    wrpcap(str(pcap), frames)
    expected = _suricata(shared_dir, rules_file, pcap, tmp_path)
    got = _dpictl(rules_file, pcap)
    assert sum(expected.values()) > 40                      # the probes do fire
    assert got == expected, (sorted((expected - got).items())[:10],
                             sorted((got - expected).items())[:10])
