"""Flow table: direction, established (as Suricata 7 computes it per packet), timeouts, bounds."""

from __future__ import annotations

import pytest
from stream_factories import C, S, handshake, icmp, tcp, udp

from dpictl.engine.flow_table import FlowTable, FlowTimeouts


# Each row: packets, then per packet the expected (to_server, established) - checked against
# Suricata 7.0.10 with `flow:established` / `flow:not_established` probe rules.
TCP_CASES = [
    ("handshake, data, close",
     handshake() + [tcp(C, S, "PA", 1000, 5000, b"GET"), tcp(S, C, "A", 5000, 1003),
                    tcp(C, S, "FA", 1003, 5000), tcp(S, C, "FA", 5000, 1004),
                    tcp(C, S, "A", 1004, 5001)],
     [(True, False), (False, False), (True, False), (True, True), (False, True),
      (True, True), (False, True), (True, True)]),
    ("midstream pickup is never established; first sender is the client",
     [tcp(S, C, "PA", 1, 1, b"x"), tcp(C, S, "A", 1, 2), tcp(S, C, "A", 2, 1)],
     [(True, False), (False, False), (True, False)]),
    ("RST after handshake is established, packets after it too",
     handshake() + [tcp(S, C, "R", 5000, 0), tcp(C, S, "A", 1000, 5000)],
     [(True, False), (False, False), (True, False), (False, True), (True, True)]),
    ("data on the handshake-completing ACK is established, a bare ACK is not",
     [tcp(C, S, "S", 9), tcp(S, C, "SA", 99, 10), tcp(C, S, "A", 10, 100, b"data"),
      tcp(S, C, "A", 100, 14)],
     [(True, False), (False, False), (True, True), (False, True)]),
    ("SYN/ACK never answered stays new",
     [tcp(C, S, "S", 9), tcp(S, C, "SA", 99, 10), tcp(S, C, "SA", 99, 10)],
     [(True, False), (False, False), (False, False)]),
]


@pytest.mark.parametrize("name,packets,expected", TCP_CASES, ids=[c[0] for c in TCP_CASES])
def test_tcp_direction_and_established(name, packets, expected):
    table = FlowTable()
    got, flows = [], set()
    for p in packets:                     # `established` is per packet: read it right away
        flow, to_server = table.lookup(p)
        flows.add(flow.flow_id)
        got.append((to_server, flow.established))
    assert got == expected and len(flows) == 1


def test_handshake_sets_state_and_counters():
    table = FlowTable()
    for p in handshake() + [tcp(C, S, "PA", 1000, 5000, b"abcd")]:
        flow, _ = table.lookup(p)
    assert flow.state == "established" and flow.tracked
    assert (flow.client, flow.client_port, flow.server, flow.server_port) == (*C, *S)
    assert (flow.pkts_toserver, flow.pkts_toclient) == (3, 1)
    assert flow.bytes_toserver == 40 + 40 + 44 and flow.bytes_toclient == 40
    assert flow.streams[True].next_seq == 1000 and flow.streams[False].next_seq == 5000


def test_midstream_option_tracks_and_swaps_on_synack():
    table = FlowTable(midstream=True)
    flow, to_server = table.lookup(tcp(S, C, "SA", 4999, 1000))
    assert to_server is False and (flow.client, flow.client_port) == C
    assert flow.tracked and flow.streams[False].next_seq == 5000
    flow2, to_server = table.lookup(tcp(C, S, "A", 1000, 5000))
    assert flow2 is flow and to_server and flow.established


def test_udp_established_after_both_ways():
    table = FlowTable()
    seen = [(d, f.established, f.state) for f, d in
            (table.lookup(p) for p in (udp(C, S), udp(C, S), udp(S, C), udp(C, S)))]
    assert seen == [(True, False, "new"), (True, False, "new"), (False, True, "established"),
                    (True, True, "established")]


def test_icmp_echo_by_id_and_errors_flowless():
    table = FlowTable()
    req, _ = table.lookup(icmp("1.1.1.1", "2.2.2.2", 8, ident=5))
    rep, to_server = table.lookup(icmp("2.2.2.2", "1.1.1.1", 0, ident=5))
    other, _ = table.lookup(icmp("1.1.1.1", "2.2.2.2", 8, ident=6))
    assert rep is req and to_server is False and rep.established
    assert other is not req
    assert table.lookup(icmp("9.9.9.9", "1.1.1.1", 3)) == (None, False)     # quotes nothing
    assert table.lookup(icmp("9.9.9.9", "1.1.1.1", 11)) == (None, False)    # time exceeded


def _quoting(outer_src, outer_dst, inner_src, inner_dst, sport, dport):
    import socket
    inner = (bytes([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]) + socket.inet_aton(inner_src)
             + socket.inet_aton(inner_dst) + sport.to_bytes(2, "big") + dport.to_bytes(2, "big"))
    pkt = icmp(outer_src, outer_dst, 3)
    pkt.payload = inner + b"\0\0\0\0"
    return pkt


def test_unreachable_joins_the_quoted_flow_without_establishing_it():
    # Suricata 7: the error is to_client of the UDP flow and does not make it established.
    table = FlowTable()
    flow, _ = table.lookup(udp(C, S))
    for _ in range(2):
        got, to_server = table.lookup(_quoting(S[0], C[0], C[0], S[0], C[1], S[1]))
        assert got is flow and to_server is False and not got.established
    assert flow.pkts_toclient == 2 and flow.state == "new"
    assert table.lookup(_quoting(S[0], C[0], C[0], S[0], C[1], 9)) == (None, False)


def test_protocols_without_flows():
    from dpictl.engine.packet import Packet
    igmp = Packet(ts=0.0, ip_version=4, src="10.0.0.1", dst="224.0.0.22", ip_proto=2)
    esp = Packet(ts=0.0, ip_version=4, src="10.0.0.1", dst="10.0.0.2", ip_proto=50)
    table = FlowTable()
    assert table.lookup(igmp) == (None, False)
    assert table.lookup(esp)[0] is not None


def test_timeout_starts_new_flow_by_packet_time():
    table = FlowTable(timeouts=FlowTimeouts(udp_new=30))
    first, _ = table.lookup(udp(ts=100.0))
    same, _ = table.lookup(udp(ts=129.0))
    later, _ = table.lookup(udp(ts=160.0))
    assert same is first and later is not first
    assert table.pop_evicted() == [first] and table.stats["timeouts"] == 1


@pytest.mark.parametrize("state_packets,idle,expired", [
    (handshake(), 299.0, False),                    # established: 300 s
    (handshake(), 301.0, True),
    ([tcp(C, S, "S", 1)], 31.0, True),              # new: 30 s
    (handshake() + [tcp(C, S, "FA", 1000, 5000), tcp(S, C, "FA", 5000, 1001)], 11.0, True),
])
def test_tcp_timeouts_follow_state(state_packets, idle, expired):
    table = FlowTable()
    for p in state_packets:
        flow, _ = table.lookup(p)
    again, _ = table.lookup(tcp(C, S, "A", 1001, 5001, ts=idle))
    assert (again is not flow) == expired


def test_sweep_expires_idle_flows_without_traffic_on_them():
    table = FlowTable(sweep_interval=5.0)
    table.lookup(udp(("10.0.0.9", 1), S, ts=0.0))
    table.lookup(udp(C, S, ts=40.0))
    assert len(table) == 1
    assert [f.client for f in table.pop_evicted()] == ["10.0.0.9"]


def test_max_flows_evicts_oldest():
    table = FlowTable(max_flows=3)
    flows = [table.lookup(udp(("10.1.0.%d" % i, 1000), S))[0] for i in range(5)]
    assert len(table) == 3
    assert table.pop_evicted() == flows[:2]
    assert table.lookup(udp(("10.1.0.4", 1000), S))[0] is flows[4]


def test_syn_on_closed_flow_starts_a_new_flow():
    table = FlowTable()
    for p in handshake() + [tcp(C, S, "R", 1000)]:
        old, _ = table.lookup(p)
    new, to_server = table.lookup(tcp(C, S, "S", 77777))
    assert new is not old and to_server and new.flow_id == old.flow_id + 1
    assert table.stats["reused"] == 1


def test_drain_returns_everything():
    table = FlowTable()
    table.lookup(udp(C, S))
    table.lookup(tcp(C, S, "S", 1))
    assert len(table.drain()) == 2 and len(table) == 0


def test_flowless_packets():
    from dpictl.engine.packet import Packet
    assert FlowTable().lookup(Packet(ts=0.0)) == (None, False)
