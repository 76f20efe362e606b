"""TCP reassembly: each row feeds (seq, data) segments and checks every return value."""

from __future__ import annotations

import random

import pytest
from stream_factories import C, S, handshake, tcp

from dpictl.engine.flow_table import FlowTable
from dpictl.engine.reassembly import ReassemblyBudget, StreamReassembler

ISN = 1000
WRAP = 2**32 - 4            # the stream crosses 2**32 after 4 bytes

CASES = [
    ("in order", ISN, [(0, b"abc"), (3, b"def")], [b"abc", b"def"]),
    ("retransmission dropped", ISN, [(0, b"abc"), (0, b"abc"), (3, b"d"), (1, b"bc")],
     [b"abc", b"", b"d", b""]),
    ("partial retransmission keeps new tail", ISN, [(0, b"abc"), (1, b"bcdef")],
     [b"abc", b"def"]),
    ("reordered", ISN, [(3, b"def"), (6, b"g"), (0, b"abc")], [b"", b"", b"abcdefg"]),
    ("overlap: first copy wins (in order)", ISN, [(0, b"abcd"), (2, b"XYef")],
     [b"abcd", b"ef"]),
    ("overlap: first copy wins (out of order)", ISN, [(4, b"efgh"), (2, b"XXYYZZ"), (0, b"ab")],
     [b"", b"", b"abXXefgh"]),
    ("wrap-around", WRAP, [(0, b"abcd"), (4, b"efgh"), (8, b"ij")], [b"abcd", b"efgh", b"ij"]),
    ("wrap-around reordered", WRAP, [(6, b"gh"), (2, b"cdef"), (0, b"ab")],
     [b"", b"", b"abcdefgh"]),
]


@pytest.mark.parametrize("name,isn,segments,outputs", CASES, ids=[c[0] for c in CASES])
def test_segments(name, isn, segments, outputs):
    r = StreamReassembler()
    r.begin(isn)
    got = [r.add_segment((isn + off) & 0xFFFFFFFF, data) for off, data in segments]
    assert got == outputs
    assert r.buffered == 0 and not r.gap


def test_random_orders_and_duplicates_give_the_stream():
    data = bytes(range(256)) * 40
    rng = random.Random(7)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), 60))
        segs = [(a, data[a:b]) for a, b in zip([0] + cuts, cuts + [len(data)])]
        segs += rng.sample(segs, 15)                    # retransmissions
        rng.shuffle(segs)
        r = StreamReassembler(depth=0)
        r.begin(2**32 - 500)                            # and a wrap in the middle
        out = b"".join(r.add_segment((2**32 - 500 + off) & 0xFFFFFFFF, d) for off, d in segs)
        assert out == data and r.gaps == 0


def test_gap_skipped_when_peer_acked_past_it():
    r = StreamReassembler()
    r.begin(ISN)
    assert r.add_segment(ISN, b"abc") == b"abc"
    r.peer_ack = ISN + 10                                # receiver got bytes we never saw
    assert r.add_segment(ISN + 6, b"ghij") == b"ghij"
    assert r.holes == [(0, 3)] and r.gaps == 1 and r.next_seq == ISN + 10
    assert r.add_segment(ISN + 10, b"k") == b"k" and not r.gap


def test_gap_skipped_on_flush():
    r = StreamReassembler()
    r.begin(ISN)
    r.add_segment(ISN, b"ab")
    assert r.add_segment(ISN + 5, b"fg") == b""
    assert r.add_segment(ISN + 9, b"j") == b""
    assert r.flush() == b"fgj" and r.holes == [(0, 3), (2, 2)] and r.buffered == 0


def test_per_stream_buffer_cap_forces_gap():
    r = StreamReassembler(max_buffer=8)
    r.begin(ISN)
    assert r.add_segment(ISN + 10, b"abcdef") == b""
    out = r.add_segment(ISN + 20, b"ghijkl")        # would exceed 8 buffered bytes
    assert out == b"abcdef" and r.holes == [(0, 10)] and r.buffered == 6
    assert r.flush() == b"ghijkl"


def test_global_budget_is_shared_and_released():
    budget = ReassemblyBudget(10)
    a, b = StreamReassembler(budget=budget), StreamReassembler(budget=budget)
    a.begin(0)
    b.begin(0)
    a.add_segment(5, b"12345678")
    assert budget.used == 8
    assert b.add_segment(5, b"xyz") == b""           # no room, nothing to give up: dropped
    assert b.dropped == 3 and budget.used == 8
    a.flush()
    assert budget.used == 0


def test_depth_stops_delivery():
    r = StreamReassembler(depth=5)
    r.begin(0)
    assert r.add_segment(0, b"abc") == b"abc"
    assert r.add_segment(3, b"defg") == b"de"
    assert r.depth_reached and r.add_segment(7, b"h") == b""


def test_hole_past_depth_delivers_nothing_beyond_it():
    r = StreamReassembler(depth=10)
    r.begin(0)
    r.add_segment(0, b"ab")
    r.add_segment(8, b"0123456789" * 3)               # buffered, crosses the depth
    assert r.flush() == b"01" and r.depth_reached
    r2 = StreamReassembler(depth=10)
    r2.begin(0)
    r2.add_segment(20, b"x" * 5)
    assert r2.flush() == b""                             # entirely beyond the depth


def test_midstream_reassembler_starts_at_first_segment():
    r = StreamReassembler()
    assert r.add_segment(123456, b"xy") == b"xy" and r.next_seq == 123458


def test_flow_table_feeds_isn_and_peer_ack():
    table = FlowTable()
    for p in handshake():
        flow, _ = table.lookup(p)
    ahead = tcp(C, S, "PA", 1005, 5000, b"later")
    flow, to_server = table.lookup(ahead)
    assert flow.streams[to_server].add(ahead) == b""
    flow, _ = table.lookup(tcp(S, C, "A", 5000, 1010))  # the server ACKs past the hole
    late = tcp(C, S, "PA", 1010, 5000, b"!")
    flow, to_server = table.lookup(late)
    assert flow.streams[True].add(late) == b"later!" and flow.streams[True].gap


def test_reset_closes_both_streams():
    table = FlowTable()
    for p in handshake() + [tcp(C, S, "R", 1000)]:
        flow, _ = table.lookup(p)
    late = tcp(S, C, "PA", 5000, 1000, b"response after RST")
    flow, to_server = table.lookup(late)
    assert flow.streams[to_server].add(late) == b""        # Suricata ignores it too


def test_several_holes_in_one_return_are_all_reported():
    r = StreamReassembler()
    r.begin(0)
    r.add_segment(2, b"cd")
    r.add_segment(6, b"gh")
    r.peer_ack = 10
    assert r.add_segment(9, b"j") == b"cdghj"
    assert r.holes == [(0, 2), (2, 2), (4, 1)]


@pytest.mark.parametrize("drop,delivered", [(None, True), (1, False), (2, True)],
                         ids=["full handshake", "no SYN/ACK: no data", "data ACK completes it"])
def test_data_only_after_handshake(drop, delivered):
    packets = handshake()
    if drop is not None:
        del packets[drop]
    table = FlowTable()
    for p in packets:
        table.lookup(p)
    data = tcp(C, S, "PA", 1000, 5000, b"GET / HTTP/1.1\r\n\r\n")
    flow, to_server = table.lookup(data)
    # without the SYN/ACK the flow has no streams yet (the engine then reassembles nothing)
    got = flow.streams[to_server].add(data) if flow.streams is not None else b""
    assert (got == data.payload) == delivered


def test_random_segments_keep_the_books_balanced():
    rng = random.Random(99)
    budget = ReassemblyBudget(4000)
    streams = [StreamReassembler(max_buffer=1500, budget=budget, depth=20000) for _ in range(4)]
    total = {id(s): 0 for s in streams}
    for s in streams:
        s.begin(2**32 - 1000)
    for _ in range(3000):
        s = rng.choice(streams)
        off = rng.randrange(0, 25000)
        if rng.random() < 0.1:
            s.peer_ack = (2**32 - 1000 + rng.randrange(0, 25000)) & 0xFFFFFFFF
        out = s.add_segment((2**32 - 1000 + off) & 0xFFFFFFFF, bytes(rng.randint(1, 600)))
        total[id(s)] += len(out)
        assert s.buffered <= 1500 and 0 <= budget.used <= 4000
        assert sum(size for _, size in s.holes) >= 0 and len(out) <= 20000
    assert budget.used == sum(s.buffered for s in streams)
    for s in streams:
        total[id(s)] += len(s.flush())
        assert s.buffered == 0 and total[id(s)] <= 20000
    assert budget.used == 0


def test_syn_resent_with_new_isn_moves_the_stream_start():
    table = FlowTable()
    table.lookup(tcp(C, S, "S", 100))
    for p in handshake(cisn=7000):                      # SYN again, new ISN, then the rest
        flow, _ = table.lookup(p)
    data = tcp(C, S, "PA", 7000, 5000, b"GET")
    flow, to_server = table.lookup(data)
    assert flow.streams[to_server].add(data) == b"GET"


def test_reset_outside_the_window_is_ignored():
    table = FlowTable()
    for p in handshake():
        table.lookup(p)
    flow, _ = table.lookup(tcp(S, C, "R", 5000 + 10_000_000))     # spoofed, far off
    assert flow.state == "established"
    data = tcp(C, S, "PA", 1000, 5000, b"still here")
    assert flow.streams[True].add(data) == b"still here"
    table.lookup(tcp(S, C, "RA", 5000, 1010))
    assert flow.state == "closed"
