"""The Engine facade end to end: frames in, detections out (real decoder, flows, streams,
HTTP), the Snort 3 lab rule, fork() isolation and stats."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether

from dpictl.capture import open_pcap
from dpictl.engine import Engine
from dpictl.rules import load_rules, parse_rules_text

CLIENT, SERVER = "10.1.0.1", "10.1.0.2"


def tcp_session(*segments: tuple[bool, bytes], dport: int = 80) -> list[bytes]:
    """Frames of a TCP session: handshake, then (to_server, payload) segments, each acked."""
    cseq, sseq, sport = 1000, 5000, 40001
    frames = []

    def frame(to_server: bool, flags: str, payload: bytes = b"") -> bytes:
        if to_server:
            ip, tcp = IP(src=CLIENT, dst=SERVER), TCP(sport=sport, dport=dport, flags=flags,
                                                      seq=cseq, ack=sseq)
        else:
            ip, tcp = IP(src=SERVER, dst=CLIENT), TCP(sport=dport, dport=sport, flags=flags,
                                                      seq=sseq, ack=cseq)
        return bytes(Ether() / ip / tcp / payload)

    frames.append(bytes(Ether() / IP(src=CLIENT, dst=SERVER) /
                        TCP(sport=sport, dport=dport, flags="S", seq=cseq - 1)))
    frames.append(bytes(Ether() / IP(src=SERVER, dst=CLIENT) /
                        TCP(sport=dport, dport=sport, flags="SA", seq=sseq - 1, ack=cseq)))
    frames.append(frame(True, "A"))
    for to_server, payload in segments:
        frames.append(frame(to_server, "PA", payload))
        if to_server:
            cseq += len(payload)
        else:
            sseq += len(payload)
        frames.append(frame(not to_server, "A"))
    return frames


def run(engine: Engine, frames: list[bytes], linktype: int = 1, iface: str | None = None) -> list:
    dets = []
    for i, f in enumerate(frames):
        dets += engine.feed(1700000000.0 + i * 0.01, f, linktype, iface)
    return dets + engine.flush()


def engine_for(text: str) -> Engine:
    ruleset = parse_rules_text(text)
    assert not ruleset.errors, ruleset.errors
    return Engine(ruleset.rules)


def test_lab_rule_from_snort3_community_file_alerts_on_lab_pcap(shared_dir):
    ruleset = load_rules([shared_dir / "rules" / "snort3-community.rules"])
    rules = [r for r in ruleset.rules if r.sid == 21562]
    assert rules and rules[0].syntax == "snort3"
    engine = Engine(rules)
    dets = []
    with open_pcap(shared_dir / "pcaps" / "lab-smk.pcap") as frames:
        for ts, frame, linktype, iface in frames:
            dets += engine.feed(ts, frame, linktype, iface)
    dets += engine.flush()
    assert [d.sid for d in dets] == [21562]
    assert dets[0].proto == "TCP" and 80 in (dets[0].src_port, dets[0].dst_port)


def test_pattern_split_across_segments_is_found_in_the_stream():
    engine = engine_for('alert tcp any any -> any 80 (msg:"split"; flow:to_server,established; '
                        'content:"EVILPATTERN"; sid:100; rev:1;)')
    dets = run(engine, tcp_session((True, b"xxEVIL"), (True, b"PATTERNyy")), iface="cali0")
    assert [d.sid for d in dets] == [100]
    # found when the stream ends (a small stream is inspected then, as in Suricata)
    assert dets[0].iface == "cali0"
    assert {dets[0].src_ip, dets[0].dst_ip} == {CLIENT, SERVER}


def test_http_buffers_from_the_app_layer():
    engine = engine_for(
        'alert tcp any any -> any 80 (msg:"ua"; flow:to_server,established; '
        'content:"/login"; http_uri; content:"curl"; http_header; sid:101; rev:1;)\n'
        'alert tcp any 80 -> any any (msg:"403"; flow:to_client,established; '
        'content:"403"; http_stat_code; sid:102; rev:1;)\n'
        'alert tcp any any -> any 80 (msg:"uri not there"; content:"/admin"; http_uri; '
        'sid:103; rev:1;)')
    request = b"GET /a/../login HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/8\r\n\r\n"
    response = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
    dets = run(engine, tcp_session((True, request), (False, response)))
    assert sorted(d.sid for d in dets) == [101, 102]
    assert all(d.app_proto == "http" for d in dets)


def test_http_rule_does_not_fire_on_non_http_payload():
    engine = engine_for('alert tcp any any -> any any (msg:"m"; content:"POST"; http_method; '
                        'sid:104; rev:1;)')
    dets = run(engine, tcp_session((True, b"\x00\x01POST binary"), dport=9999))
    assert dets == []


def test_midstream_flow_is_not_established():
    engine = engine_for('alert tcp any any -> any any (msg:"est"; flow:established; '
                        'content:"abc"; sid:105; rev:1;)\n'
                        'alert tcp any any -> any any (msg:"any"; content:"abc"; sid:106; rev:1;)')
    frame = bytes(Ether() / IP(src=CLIENT, dst=SERVER) /
                  TCP(sport=1234, dport=80, flags="PA", seq=1, ack=1) / b"abc")
    assert [d.sid for d in run(engine, [frame])] == [106]


def test_fork_shares_rules_but_not_state():
    engine = engine_for('alert icmp any any -> any any (msg:"ping"; itype:8; '
                        'detection_filter:track by_src, count 1, seconds 60; sid:107; rev:1;)')
    ping = bytes(Ether() / IP(src=CLIENT, dst=SERVER) / ICMP(type=8) / b"hello")
    assert run(engine, [ping, ping]) and len(run(engine, [ping])) == 1
    other = engine.fork()
    assert other.rule_report is engine.rule_report
    assert other._detector is engine._detector
    assert run(other, [ping]) == []            # fresh threshold state: first match filtered
    assert other.stats["packets"] == 1


def test_stats_and_garbage_frames():
    engine = engine_for('alert ip any any -> any any (msg:"x"; content:"zz"; sid:108; rev:1;)')
    assert engine.feed(1.0, b"\x00\x01", 1) == []
    assert engine.feed(1.0, b"", 1) == []
    assert engine.feed(1.0, b"\xff" * 60, 999) == []
    stats = engine.stats
    assert stats["packets"] == 3 and stats["not_inspected"] == 3
    assert stats["decode_errors"] >= 2            # the two truncated Ethernet frames
    assert stats["decode.unsupported_linktype"] == 1
    assert stats["alerts"] == 0 and stats["rules_loaded"] == 1


def test_detection_carries_the_rule_and_packet():
    engine = engine_for('alert icmp any any -> any any (msg:"unreach"; itype:3; icode:3; '
                        'sid:109; rev:2;)')
    frame = bytes(Ether() / IP(src=CLIENT, dst=SERVER) / ICMP(type=3, code=3) /
                  IP(src=SERVER, dst=CLIENT) / (b"\x00" * 8))
    (det,) = engine.feed(1700000001.5, frame, 1, "cali123")
    assert (det.sid, det.rule.rev, det.proto) == (109, 2, "ICMP")
    assert (det.src_ip, det.dst_ip, det.iface, det.ts) == (CLIENT, SERVER, "cali123",
                                                           1700000001.5)
    assert det.pkt_num == 1 and det.to_server is None


@pytest.mark.parametrize("home_net,expected", [(None, 1), (["10.1.0.0/16"], 1),
                                               (["192.168.0.0/16"], 0)])
def test_home_net_limits_what_is_inspected(home_net, expected):
    ruleset = parse_rules_text('alert icmp any any -> any any (msg:"p"; itype:8; sid:110; rev:1;)')
    engine = Engine(ruleset.rules, home_net=home_net)
    ping = bytes(Ether() / IP(src=CLIENT, dst=SERVER) / ICMP(type=8))
    assert len(engine.feed(1.0, ping, 1)) == expected


def test_an_internal_error_on_one_packet_is_counted_not_raised(monkeypatch):
    engine = engine_for('alert icmp any any -> any any (msg:"p"; itype:8; sid:111; rev:1;)')
    ping = bytes(Ether() / IP(src=CLIENT, dst=SERVER) / ICMP(type=8))

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(engine._detector, "inspect_packet", boom)
    assert engine.feed(1.0, ping, 1) == []
    assert engine.stats["inspect_errors"] == 1
    monkeypatch.undo()
    assert [d.sid for d in engine.feed(2.0, ping, 1)] == [111]


# Probe rules run through Suricata 7.0.10 on the same session (client: "HELLO there",
# "USER bob", "PASS x"; server replies): which alert on the segment itself (pkt_num of
# the "USER bob" segment) and which only on the reassembled stream at the flow's end.
PROBES = """
alert tcp any any -> any any (msg:"depth"; flow:established,to_server; content:"USER "; depth:5; sid:1; rev:1;)
alert tcp any any -> any any (msg:"plain"; flow:established,to_server; content:"USER "; sid:2; rev:1;)
alert tcp any any -> any any (msg:"offset0"; flow:established,to_server; content:"USER "; offset:0; sid:3; rev:1;)
alert tcp any any -> any any (msg:"pcre ^"; flow:established,to_server; pcre:"/^USER /"; sid:6; rev:1;)
alert tcp any any -> any any (msg:"pcre"; flow:established,to_server; pcre:"/USER bob/"; sid:7; rev:1;)
alert tcp any any -> any any (msg:"dsize"; flow:established,to_server; dsize:<20; content:"USER "; sid:9; rev:1;)
alert tcp any any -> any any (msg:"isdataat"; flow:established,to_server; content:"USER "; isdataat:!50; sid:11; rev:1;)
alert tcp any any -> any any (msg:"byte_test"; flow:established,to_server; content:"bob"; byte_test:1,=,85,0; sid:13; rev:1;)
"""


def test_tcp_segments_versus_stream_like_suricata():
    engine = engine_for(PROBES)
    frames = tcp_session((True, b"HELLO there\r\n"), (False, b"220 hi\r\n"),
                         (True, b"USER bob\r\n"), (False, b"331 pw\r\n"),
                         (True, b"PASS x\r\n"), (False, b"230 ok\r\n"), dport=4321)
    user_segment = 8                                   # 1-based frame number
    dets = run(engine, frames)
    on_segment = sorted(d.sid for d in dets if d.pkt_num == user_segment)
    at_end = sorted(d.sid for d in dets if d.pkt_num != user_segment)
    assert on_segment == [1, 3, 9]           # Suricata: 1, 3, 9 (and 4, 5, 10, 12)
    assert at_end == [2, 3, 7, 11]           # Suricata: 2, 3, 7, 8, 10, 11, 12


def test_unacknowledged_stream_data_is_inspected_past_a_bound():
    """Without ACKs from the peer, waiting bytes are inspected once UNACKED_LIMIT is reached
    (memory stays bounded), not only at the flow's end."""
    from dpictl.engine.detect.stream_state import UNACKED_LIMIT

    engine = engine_for('alert tcp any any -> any any (msg:"m"; content:"NEEDLE"; sid:112; '
                        'rev:1;)')
    segments = [(True, b"x" * 1000 + (b"NEEDLE" if i == 3 else b""))
                for i in range(UNACKED_LIMIT // 1000 + 2)]
    frames = tcp_session(*segments)
    # keep the handshake, drop the server's ACKs of the data
    kept = frames[:3] + [f for f in frames[3:] if Ether(f)[IP].src == CLIENT]
    dets = []
    for i, f in enumerate(kept):
        dets += engine.feed(1.0 + i, f, 1)
    assert [d.sid for d in dets] == [112]


def test_one_way_capture_without_handshake_is_inspected_per_packet():
    engine = engine_for('alert tcp any any -> any any (msg:"m"; content:"NEEDLE"; sid:113; '
                        'rev:1;)')
    frames = tcp_session((True, b"xxNEEDLExx"))
    client_only = [f for f in frames if Ether(f)[IP].src == CLIENT]   # no SYN/ACK
    dets = []
    for i, f in enumerate(client_only):
        dets += engine.feed(1.0 + i, f, 1)
    assert [d.sid for d in dets] == [113]


def test_a_segment_lost_inside_a_body_does_not_hide_the_next_request():
    """The reassembler skips a hole once the server ACKs past it; HTTP must be told where,
    or the next request is read as the rest of the first one's body (seen on ec-rig_ek)."""
    engine = engine_for(
        'alert tcp any any -> any 80 (msg:"beacon"; flow:to_server,established; '
        'content:"POST"; http_method; content:"Mozilla/4.0"; http_header; '
        'content:"smk="; http_client_body; depth:4; sid:110; rev:1;)')
    sport, cseq, sseq = 40002, 1000, 5000
    first = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n"
    beacon = (b"POST / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/4.0\r\n"
              b"Content-Length: 8\r\n\r\nsmk=1234")

    def seg(seq: int, payload: bytes) -> bytes:
        return bytes(Ether() / IP(src=CLIENT, dst=SERVER) /
                     TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=sseq) / payload)

    def ack(upto: int) -> bytes:
        return bytes(Ether() / IP(src=SERVER, dst=CLIENT) /
                     TCP(sport=80, dport=sport, flags="A", seq=sseq, ack=upto))

    frames = [bytes(Ether() / IP(src=CLIENT, dst=SERVER) /
                    TCP(sport=sport, dport=80, flags="S", seq=cseq - 1)),
              bytes(Ether() / IP(src=SERVER, dst=CLIENT) /
                    TCP(sport=80, dport=sport, flags="SA", seq=sseq - 1, ack=cseq)),
              bytes(Ether() / IP(src=CLIENT, dst=SERVER) /
                    TCP(sport=sport, dport=80, flags="A", seq=cseq, ack=sseq))]
    seq = cseq
    frames.append(seg(seq, first))
    seq += len(first)
    seq += 1000                                   # the first half of the body is lost
    frames.append(seg(seq, b"b" * 1000))
    seq += 1000
    frames.append(ack(seq))                       # the server saw it all: the hole is final
    frames.append(seg(seq, beacon))
    seq += len(beacon)
    frames.append(ack(seq))
    dets = run(engine, frames)
    assert [d.sid for d in dets] == [110]
