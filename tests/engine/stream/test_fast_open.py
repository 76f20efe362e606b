"""TCP Fast Open and per-fragment inspection end to end through the Engine (without Suricata;
tests/parity/test_decoder_differential.py checks the same sessions against it)."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.l2 import Ether

from dpictl.engine import Engine
from dpictl.rules import parse_rules_text

REQUEST = b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"
RULES = """
alert tcp any any -> any 80 (msg:"uri"; flow:to_server,established; content:"/etc/passwd"; http_uri; sid:1;)
alert tcp any any -> any 80 (msg:"syn content"; flags:S; content:"passwd"; sid:2;)
alert tcp any any -> any 80 (msg:"not established"; flow:not_established; content:"passwd"; sid:3;)
alert udp any any -> any any (msg:"fragment"; fragbits:M; sid:4;)
alert udp any any -> any 53 (msg:"datagram"; content:"tail"; sid:5;)
"""


def _session(fast_open: bool) -> list[bytes]:
    def client(**kw):
        return Ether() / IP(src="10.9.0.1", dst="10.9.0.2") / TCP(sport=40001, dport=80, **kw)

    def server(**kw):
        return Ether() / IP(src="10.9.0.2", dst="10.9.0.1") / TCP(sport=80, dport=40001, **kw)

    options = [("MSS", 1460)] + ([(34, b"\x01" * 8)] if fast_open else [])
    seq = 1001 + len(REQUEST)
    return [bytes(p) for p in (
        client(flags="S", seq=1000, options=options) / REQUEST,
        server(flags="SA", seq=5000, ack=seq), client(flags="A", seq=seq, ack=5001),
        server(flags="PA", seq=5001, ack=seq) / b"HTTP/1.1 204 No Content\r\n\r\n",
        client(flags="A", seq=seq, ack=5028))]


def _sids(frames: list[bytes]) -> list[tuple[int, int]]:
    engine = Engine(parse_rules_text(RULES).rules)
    out = []
    for num, frame in enumerate(frames, 1):
        out += [(d.sid, num) for d in engine.feed(float(num), frame, 1)]
    return sorted(out + [(d.sid, 0) for d in engine.flush()])


def test_fast_open_syn_data_is_stream_and_http_data_of_the_established_session():
    alerts = _sids(_session(fast_open=True))
    # the SYN matches as a packet only for a packet keyword; the request is HTTP data, seen
    # established, on the first packet after the handshake (the server's response)
    assert alerts == [(1, 4), (2, 1)]


def test_syn_data_without_the_option_is_a_packet_only():
    assert _sids(_session(fast_open=False)) == [(2, 1), (3, 1)]


def test_each_fragment_is_inspected_then_the_datagram():
    datagram = (IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7, dport=53)
                / (b"head" + b"." * 40 + b"tail"))
    frames = [bytes(Ether() / piece) for piece in fragment(datagram, fragsize=24)]
    assert _sids(frames) == [(4, 1), (4, 2), (5, 3)]
