"""Flow table under hostile traffic: bounded, evicts unanswered flows first, constant work.

Work is counted with `FlowTable.visits` (flows examined by sweeps and evictions), not timed.
"""

from __future__ import annotations

import pytest
from stream_factories import C, S, handshake, tcp, udp

from dpictl.engine.flow_table import FlowTable, FlowTimeouts


def syn(i: int, ts: float = 0.0):
    """A SYN from a client no other test packet uses (address and port from `i`)."""
    src = (f"10.{i >> 16 & 0xFF}.{i >> 8 & 0xFF}.{i & 0xFF}", 1024 + (i >> 24))
    return tcp(src, S, "S", i, ts=ts)


def flood(table: FlowTable, count: int, first: int = 1000, ts: float = 0.0, step: float = 0.0,
          check_bound: bool = False) -> list:
    flows = []
    for i in range(first, first + count):
        flows.append(table.lookup(syn(i, ts + (i - first) * step))[0])
        if check_bound:
            assert len(table) <= table.max_flows
    return flows


def established(table: FlowTable, ts: float = 0.0):
    for p in handshake(ts=ts) + [tcp(C, S, "PA", 1000, 5000, b"GET", ts=ts)]:
        flow, _ = table.lookup(p)
    assert flow.state == "established"
    return flow


def test_ten_times_the_table_in_syns_stays_bounded_and_evicts_oldest_first():
    table = FlowTable(max_flows=50)
    flows = flood(table, 500, check_bound=True)
    evicted = table.pop_evicted()
    assert len(table) == 50 and table.stats["evictions"] == 450
    assert evicted == flows[:450]                         # oldest first, each exactly once
    assert all(table.lookup(syn(1000 + i))[0] is flows[i] for i in range(450, 500))


def test_established_session_survives_a_flood_larger_than_the_table():
    table = FlowTable(max_flows=64)
    session = established(table)
    before = flood(table, 10)                  # new flows older than the flood, not answered
    flood(table, 640, first=5000, step=0.001)
    gone = table.pop_evicted()
    assert session not in gone and all(f in gone for f in before)
    again, to_server = table.lookup(tcp(C, S, "A", 1003, 5000, ts=1.0))
    assert again is session and to_server and again.established


def test_eviction_takes_new_then_closed_then_established():
    table = FlowTable(max_flows=2)
    session = established(table)
    for p in [tcp(("10.0.0.7", 1), S, "S", 1), tcp(S, ("10.0.0.7", 1), "SA", 9, 2),
              tcp(("10.0.0.7", 1), S, "A", 2, 10), tcp(("10.0.0.7", 1), S, "R", 2)]:
        closed, _ = table.lookup(p)
    assert closed.state == "closed" and len(table) == 2
    first, _ = table.lookup(syn(1))            # full: the closed flow goes (no new flow yet)
    assert table.pop_evicted() == [closed]
    table.lookup(syn(2))                       # now a new flow exists: it goes first
    assert table.pop_evicted() == [first]
    assert table.lookup(tcp(C, S, "A", 1003, 5000, ts=1.0))[0] is session


def test_a_table_of_established_flows_evicts_the_least_recently_seen_one():
    table = FlowTable(max_flows=2)
    older = established(table, ts=0.0)
    newer, _ = table.lookup(udp(("10.4.0.1", 53), S, ts=1.0))
    table.lookup(udp(S, ("10.4.0.1", 53), ts=2.0))
    table.lookup(tcp(C, S, "A", 1003, 5000, ts=3.0))    # the TCP session is now the recent one
    assert newer.state == "established" and older.state == "established"
    table.lookup(syn(1, ts=4.0))
    assert table.pop_evicted() == [newer]


def test_eviction_takes_the_least_recently_seen_not_the_oldest_created():
    table = FlowTable(max_flows=3)
    a, b, c = (table.lookup(udp((f"10.1.0.{i}", 1000), S, ts=i))[0] for i in range(3))
    assert table.lookup(udp(("10.1.0.0", 1000), S, ts=5))[0] is a     # a seen again
    table.lookup(udp(("10.1.0.9", 1000), S, ts=6))
    assert table.pop_evicted() == [b]


@pytest.mark.parametrize("size", [100, 1000, 10000])
def test_work_per_new_flow_does_not_grow_with_the_table(size):
    table = FlowTable(max_flows=size)
    flood(table, size)                         # fill it
    visits = table.visits
    flood(table, 2 * size, first=10 ** 6)      # every one of these evicts
    per_flow = (table.visits - visits) / (2 * size)
    assert table.stats["evictions"] == 2 * size
    assert per_flow <= 3                       # a few list fronts, whatever the size


def test_sweeps_visit_each_flow_a_bounded_number_of_times():
    # one SYN every 10 ms for 300 s of packet time: 30,000 flows, each expires after 30 s
    table = FlowTable(sweep_interval=1.0)
    flood(table, 30000, step=0.01)
    # live: 30 s worth of SYNs, plus at most one sweep interval of expired ones
    assert table.stats["timeouts"] > 25000 and len(table) <= 3000 + 100 + 1
    assert table.visits <= 2 * 30000 + 3 * 300   # each expiry, plus one stop per list per sweep


def test_sweep_expires_per_state_with_the_reason_counted():
    t = FlowTimeouts(tcp_new=30, tcp_established=300, tcp_closed=10)
    table = FlowTable(timeouts=t, sweep_interval=1.0)
    session = established(table)
    half_open, _ = table.lookup(syn(1))
    for p in [tcp(("10.0.0.7", 1), S, "S", 1), tcp(S, ("10.0.0.7", 1), "SA", 9, 2),
              tcp(("10.0.0.7", 1), S, "A", 2, 10), tcp(("10.0.0.7", 1), S, "R", 2)]:
        closed, _ = table.lookup(p)
    table.lookup(udp(C, S, ts=11.0))           # packets elsewhere drive the sweep:
    table.lookup(udp(S, C, ts=11.0))           # an established UDP flow (300 s)
    assert table.pop_evicted() == [closed]
    table.lookup(udp(C, S, ts=31.0))
    assert table.pop_evicted() == [half_open]
    table.lookup(udp(C, S, ts=299.0))
    assert table.pop_evicted() == [] and len(table) == 2          # session and the UDP flow
    table.lookup(udp(C, S, ts=301.0))
    assert table.pop_evicted() == [session]
    assert table.stats["timeouts"] == 3 and table.stats["evictions"] == 0


def test_sweep_removes_in_creation_order_across_states():
    table = FlowTable(sweep_interval=1.0)
    a, _ = table.lookup(udp(("10.2.0.1", 1), S, ts=0.0))
    b, _ = table.lookup(syn(1, ts=0.0))
    table.lookup(udp(("10.2.0.1", 1), S, ts=1.0))       # a seen again: behind b in its list
    table.lookup(udp(S, ("10.2.0.1", 1), ts=1.0))       # a established (300 s)
    c, _ = table.lookup(udp(("10.2.0.3", 1), S, ts=2.0))
    table.lookup(udp(("10.2.0.9", 1), S, ts=400.0))
    assert table.pop_evicted() == [a, b, c]


def test_full_table_expires_timed_out_flows_before_evicting_live_ones():
    table = FlowTable(max_flows=2, sweep_interval=1000.0)
    session = established(table)
    old, _ = table.lookup(syn(1, ts=0.0))
    table.lookup(syn(2, ts=40.0))              # full: the idle SYN has timed out, no eviction
    assert table.pop_evicted() == [old]
    assert table.stats == {"flows": 3, "timeouts": 1, "evictions": 0, "reused": 0}
    assert table.lookup(tcp(C, S, "A", 1003, 5000, ts=41.0))[0] is session


def test_a_bare_syn_holds_no_reassembler_until_the_syn_ack():
    table = FlowTable()
    flow, _ = table.lookup(tcp(C, S, "S", 8))
    assert flow.tracked and flow.streams is None
    table.lookup(tcp(C, S, "S", 98))           # sent again with a new ISN: data starts at 99
    table.lookup(tcp(S, C, "SA", 4999, 99))
    assert flow.streams[True].next_seq == 99 and flow.streams[False].next_seq == 5000
    assert flow.streams[True].peer_ack == 99 and flow.streams[True].closed
    table.lookup(tcp(C, S, "A", 99, 5000))
    data = tcp(C, S, "PA", 99, 5000, b"GET")
    assert table.lookup(data)[0].streams[True].add(data) == b"GET"


def test_reset_before_the_syn_ack_closes_a_flow_without_streams():
    table = FlowTable()
    flow, _ = table.lookup(tcp(C, S, "S", 8))
    table.lookup(tcp(S, C, "RA", 0, 9))
    assert flow.state == "closed" and flow.streams is None
    again, _ = table.lookup(tcp(C, S, "PA", 9, 1, b"late"))
    assert again is flow and flow.streams is None
    new, _ = table.lookup(tcp(C, S, "S", 500))
    assert new is not flow and table.stats["reused"] == 1


def test_drain_gives_live_flows_in_creation_order():
    table = FlowTable()
    flows = flood(table, 5)
    table.lookup(syn(1000))                    # the first one seen again
    assert table.drain() == flows and len(table) == 0
    assert table.lookup(syn(1000))[0] is not flows[0]
