"""The engine's per-flow buffer of recent packets: what an alert's context holds, and the
memory bound (`dpictl.engine.flow_packets`) under many flows."""

from __future__ import annotations

import gc
import struct
import tracemalloc

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from dpictl.engine import Engine
from dpictl.engine.flow_packets import (
    DEFAULT_BUDGET, DEFAULT_DEPTH, DEFAULT_SNAP, FlowPacketBuffer, ring_bound,
)
from dpictl.rules import parse_rules_text

from engine.detect.test_pipeline import tcp_session

RULE = 'alert tcp any any -> any 80 (msg:"post"; flow:to_server; content:"POST"; depth:4; sid:1;)'
TS = 1700000000.0


def _engine(**kw) -> Engine:
    return Engine(parse_rules_text(RULE).rules, **kw)


def _feed(engine: Engine, frames: list[bytes], start: float = TS) -> list:
    dets = []
    for i, frame in enumerate(frames):
        dets += engine.feed(start + i * 0.01, frame, 1)
    return dets


def test_an_alert_carries_the_packets_of_its_flow_before_the_triggering_one():
    frames = tcp_session((True, b"GET / HTTP/1.0\r\n\r\n"), (True, b"POST / HTTP/1.0\r\n\r\n"))
    (det,) = _feed(_engine(), frames)
    post = frames.index(det.frame)
    assert [data for _, data, _ in det.context] == frames[:post]   # handshake, GET and its ack
    assert [ts for ts, _, _ in det.context] == [TS + i * 0.01 for i in range(post)]
    assert {lt for _, _, lt in det.context} == {1}


def test_the_ring_keeps_only_the_last_n():
    frames = tcp_session(*[(True, b"x%d" % i) for i in range(10)], (True, b"POST"))
    (det,) = _feed(_engine(flow_packets=3), frames)
    post = frames.index(det.frame)
    assert [data for _, data, _ in det.context] == frames[post - 3:post]


def test_flow_packets_zero_keeps_none():
    engine = _engine(flow_packets=0)
    (det,) = _feed(engine, tcp_session((True, b"POST")))
    assert det.context == () and not any(k.startswith("flow_packets") for k in engine.stats)


def test_a_flow_that_ends_releases_its_packets_and_forks_share_the_buffer():
    engine = _engine()
    twin = engine.fork()
    _feed(engine, tcp_session((True, b"GET")))
    _feed(twin, tcp_session((True, b"GET"), dport=81))
    assert engine.stats["flow_packets.flows"] == twin.stats["flow_packets.flows"] == 2
    engine.flush()
    assert twin.stats["flow_packets.flows"] == 1
    twin.flush()
    assert twin.stats["flow_packets.bytes"] == 0


def test_long_frames_are_cut_at_snap_and_short_bytes_are_kept_without_a_copy():
    buf = FlowPacketBuffer(depth=2, snap=100)
    short, jumbo = b"s" * 100, b"j" * 5000
    buf.keep("f", 1.0, short, 1)
    buf.keep("f", 2.0, memoryview(jumbo), 1)
    (_, kept_short, _), (_, kept_jumbo, _) = buf.before("f")
    assert kept_short is short
    assert kept_jumbo == jumbo[:100] and type(kept_jumbo) is bytes
    assert buf.stats["snapped"] == 1


def test_a_budget_too_small_for_one_ring_is_refused():
    with pytest.raises(ValueError):
        FlowPacketBuffer(depth=8, snap=2048, budget=ring_bound(8, 2048) - 1)


def test_many_flows_stay_under_the_budget_and_busy_flows_keep_their_packets():
    """100k flows with payload, one charged byte count checked after every packet: it never
    passes the budget; the flows seen least recently lose their packets first."""
    budget = 4 << 20
    buf = FlowPacketBuffer(budget=budget)
    busy = ("busy",)
    peak = 0
    for i in range(100_000):
        buf.keep(i, float(i), b"%08d" % i + b"p" * (64 + i % 1400), 1)
        if i % 100 == 0:
            buf.keep(busy, float(i), b"busy", 1)
        peak = max(peak, buf.used)
    assert peak <= budget
    assert budget - peak < ring_bound(DEFAULT_DEPTH, DEFAULT_SNAP)   # it did fill up
    assert len(buf.before(busy)) == DEFAULT_DEPTH
    assert buf.before(0) == () and buf.before(99_999) != ()
    assert buf.stats["released"] >= 100_000 - len(buf) - 1


@pytest.mark.parametrize("size", [60, 1514, 9000])
def test_the_charged_bytes_cover_what_python_allocates(size):
    """The bound is stated in charged bytes: tracemalloc checks the charge is not below what
    the rings really hold (frames, entries, lists, the LRU dict), for small, MTU-sized and
    snapped frames."""
    keys = [object() for _ in range(3000)]
    buf = FlowPacketBuffer(budget=64 << 20)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(DEFAULT_DEPTH + 2):
            for i, key in enumerate(keys):
                # a fresh bytes object per packet, as a capture yields; only the buffer keeps it
                buf.keep(key, float(n), struct.pack("!II", n, i) + bytes(size - 8), 1)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held <= buf.used, (held, buf.used)
    assert buf.used <= len(keys) * ring_bound(DEFAULT_DEPTH, DEFAULT_SNAP)


def test_the_engine_under_100k_flows_keeps_both_bounds():
    """100k UDP flows with payload through the engine with a 1 MiB buffer: the buffer's
    charge stays within it, and the flow table within its own bound."""
    budget = 1 << 20
    engine = _engine(flow_packet_budget=budget)
    template = bytearray(bytes(Ether() / IP(src="10.9.0.0", dst="10.8.0.1") /
                               UDP(sport=1, dport=53) / (b"q" * 200)))
    max_flows = engine._flows.max_flows
    peak = 0
    for i in range(100_000):
        template[28:30] = struct.pack("!H", i >> 8)     # source address 10.9.x.y
        template[34:36] = struct.pack("!H", 1024 + (i & 0xFF))
        engine.feed(TS + i * 1e-4, bytes(template), 1)
        if i % 97 == 0:
            stats = engine.stats
            peak = max(peak, stats["flow_packets.bytes"])
            assert stats["flows.active"] <= max_flows
    stats = engine.stats
    assert stats["flows.flows"] == 100_000
    assert max(peak, stats["flow_packets.bytes"]) <= budget
    assert stats["flow_packets.released"] > 0
    assert DEFAULT_BUDGET == 16 << 20
