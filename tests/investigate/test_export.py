"""`alerts export`'s packet plan: each alert's kept packets before its triggering packet, in
time order, each packet once, comments on triggering packets only."""

from __future__ import annotations

from dataclasses import replace

import dpkt

from dpictl.alerts.record import KeptPacket
from dpictl.investigate.export import evidence_packets, write_pcapng

from alerts.factories import make_alert


def _pkt(n: int, size: int = 200) -> bytes:
    return bytes([n]) * size


SYN, SYNACK, ACK, GET, POST = (KeptPacket(10.0 + i, _pkt(i), 1) for i in range(5))


def test_two_alerts_of_one_flow_share_their_packets_once():
    first = make_alert(id=1, sid=1, time=13.0, packet=_pkt(3), context=(SYN, SYNACK, ACK))
    # the second alert's ring holds the first one's trigger, cut at 2 KiB like all kept packets
    second = make_alert(id=2, sid=2, time=14.0, packet=_pkt(4),
                        context=(SYNACK, ACK, replace(GET, packet=_pkt(3)[:100]), ))
    packets = evidence_packets([second, first])
    assert [p.time for p in packets] == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert [len(p.data) for p in packets] == [200] * 5      # the longer copy kept
    assert [len(p.comments) for p in packets] == [0, 0, 0, 1, 1]
    assert "sid 1:1:" in packets[3].comments[0] and "sid 1:2:" in packets[4].comments[0]


def test_two_rules_on_one_packet_give_one_packet_with_two_comments(tmp_path):
    a = make_alert(id=1, sid=1, time=13.0, packet=_pkt(3), context=(SYN,))
    b = make_alert(id=2, sid=2, time=13.0, packet=_pkt(3), context=(SYN,))
    flowless = make_alert(id=3, sid=3, time=20.0, packet=b"", context=())
    out = tmp_path / "e.pcapng"
    count = write_pcapng(out, [a, b, flowless])
    assert (count.packets, count.triggering, count.without_packet) == (2, 1, 1)
    with open(out, "rb") as fh:
        read = [(ts, bytes(buf)) for ts, buf in dpkt.pcapng.Reader(fh)]
    assert read == [(10.0, _pkt(0)), (13.0, _pkt(3))]


def test_a_flow_end_alert_exports_its_context_without_a_comment():
    end = make_alert(id=1, time=15.0, packet=b"", context=(SYN, SYNACK))
    packets = evidence_packets([end])
    assert [(p.time, p.comments) for p in packets] == [(10.0, []), (11.0, [])]
