"""LiveStats: per-worker snapshots merge into one Suricata-shaped `stats` event."""

from __future__ import annotations

import json

from dpictl.live.stats import LiveStats, WorkerStats


def _worker(index: int, packets: int, drops: int, pkts: int, worst: float) -> WorkerStats:
    snap = WorkerStats(worker=index, interfaces={"cali1": {"kernel_packets": packets,
                                                           "kernel_drops": drops,
                                                           "discarded": 0}},
                       alerts=index + 1, worst_packet_us=worst)
    snap.take_engine({"packets": pkts, "bytes": pkts * 100, "decode_errors": 1,
                      "flows.flows": 3, "flows.active": 2})
    return snap


def test_workers_are_summed_per_interface_and_in_total():
    stats = LiveStats(started=1000.0)
    stats.update(_worker(0, 100, 10, 90, 50.0))
    stats.update(_worker(1, 60, 0, 60, 900.0))
    stats.update(_worker(1, 70, 0, 70, 900.0))          # a newer snapshot replaces the older
    assert stats.interfaces() == {"cali1": {"kernel_packets": 170, "kernel_drops": 10,
                                            "discarded": 0}}
    assert (stats.kernel_packets, stats.kernel_drops, stats.decoded) == (170, 10, 160)
    assert round(stats.drop_percent, 2) == 5.88
    assert stats.worst_packet_us == 900.0


def test_eve_stats_event_has_suricatas_fields():
    stats = LiveStats(started=1000.0)
    stats.update(_worker(0, 100, 10, 90, 1234.56))
    event = json.loads(json.dumps(stats.to_eve(now=1012.5)))
    assert event["event_type"] == "stats" and event["timestamp"].endswith("+0000")
    body = event["stats"]
    assert body["uptime"] == 12
    assert body["capture"] == {"kernel_packets": 100, "kernel_drops": 10, "discarded": 0}
    assert body["decoder"] == {"pkts": 90, "bytes": 9000, "invalid": 1}
    assert body["flow"]["total"] == 3 and body["flow"]["active"] == 2
    assert body["detect"] == {"alert": 1}
    assert body["dpictl"]["worst_packet_us"] == 1234.6 and body["dpictl"]["workers"] == 1
