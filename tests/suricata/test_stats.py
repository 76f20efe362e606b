"""SuricataStats: a Suricata EVE stats record read as dpictl's live counters."""

from __future__ import annotations

from dpictl.cli.render.progress import capture_line
from dpictl.live.stats import LiveStats
from dpictl.suricata.stats import SuricataStats


def _thread(packets: int, drops: int) -> dict:
    return {"capture": {"kernel_packets": packets, "kernel_drops": drops, "errors": 0},
            "decoder": {"pkts": packets - drops, "bytes": 100 * (packets - drops)}}


RECORD = {
    "timestamp": "2026-12-04T23:10:53.980130+0000", "event_type": "stats",
    "stats": {
        "uptime": 6,
        "capture": {"kernel_packets": 1400, "kernel_drops": 40, "errors": 0},
        "decoder": {"pkts": 1360, "bytes": 136000, "invalid": 2},
        "flow": {"total": 9, "active": 3, "mgr": {"flows_timeout": 4, "flows_evicted": 1},
                 "wrk": {"flows_evicted": 2}},
        "detect": {"alert": 5, "engines": [{"id": 0}]},
        "threads": {
            "W#01-calired1": _thread(300, 0), "W#02-calired1": _thread(200, 0),
            "W#01-cali0123456789a": _thread(900, 40),
            "FM#01": {"flow": {"mgr": {}}}, "Global": {"flow": {"memuse": 1}},
            "memcap_pressure": 0,
        },
    },
}


def test_per_interface_counters_come_from_the_capture_threads_names():
    stats = SuricataStats.from_eve(RECORD)
    assert stats is not None and len(stats.workers) == 3
    assert stats.interfaces() == {
        "calired1": {"kernel_packets": 500, "kernel_drops": 0, "discarded": 0,
                     "inspected": 500},
        "cali0123456789a": {"kernel_packets": 900, "kernel_drops": 40, "discarded": 0,
                            "inspected": 860}}
    assert SuricataStats.from_eve({"event_type": "alert"}) is None


def test_the_event_has_the_python_live_engines_shape():
    event = SuricataStats(RECORD).to_eve()
    python = LiveStats().to_eve()
    assert event["event_type"] == "stats" and event["timestamp"] == RECORD["timestamp"]
    for section in ("capture", "decoder", "flow", "detect"):
        assert set(event["stats"][section]) == set(python["stats"][section]), section
    assert set(event["stats"]["dpictl"]) >= set(python["stats"]["dpictl"])
    assert event["stats"]["capture"] == {"kernel_packets": 1400, "kernel_drops": 40,
                                         "discarded": 0}
    assert event["stats"]["flow"] == {"total": 9, "active": 3, "timeout": 4, "evicted": 3}
    assert event["stats"]["detect"] == {"alert": 5}
    assert event["stats"]["dpictl"]["interfaces"]["calired1"] == {
        "kernel_packets": 500, "kernel_drops": 0, "discarded": 0}


def test_the_summary_line_says_drops_and_claims_no_packet_time():
    line, lost = capture_line(SuricataStats(RECORD))
    assert lost
    assert line == ("capture: 1,400 packets seen by the kernel, 40 dropped (2.86%), "
                    "1,360 inspected by 3 workers")
