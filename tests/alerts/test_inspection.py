"""Inspection: alerts are committed before the sink sees them, and the engine is flushed
even when the source fails half way."""

from __future__ import annotations

import pytest

from dpictl.alerts.inspection import Inspection
from dpictl.alerts.store import AlertStore
from dpictl.errors import PcapError

from .factories import make_detection


class _Engine:
    def __init__(self):
        self.flushed = 0

    def feed(self, ts, frame, linktype, iface=None):
        return [make_detection(ts=ts)] if frame == b"hit" else []

    def flush(self):
        self.flushed += 1
        return [make_detection(ts=99.0)]

    def fork(self):
        return _Engine()

    stats: dict = {}
    rule_report: list = []


def _source(frames, fail_after=None):
    for i, frame in enumerate(frames):
        if fail_after is not None and i == fail_after:
            raise PcapError("cut short")
        yield float(i + 1), frame, 1, "eth0"


def test_store_commits_before_sink_sees_alerts(db):
    store = AlertStore(db)
    seen = []

    def sink(alerts):
        # A second connection already sees them: committed, with ids.
        with AlertStore(db) as other:
            assert {a.id for a in alerts} <= {a.id for a in other.query()}
        seen.extend(alerts)

    insp = Inspection(_Engine(), sink, store, origin="inspect", host="h1")
    insp.run(_source([b"x", b"hit", b"y", b"hit"]))
    assert [a.time for a in seen] == [2.0, 4.0, 99.0]
    assert all(a.id is not None and a.host == "h1" for a in seen)
    assert (insp.counts.packets, insp.counts.bytes, insp.counts.alerts) == (4, 8, 3)
    store.close()


def test_failing_source_still_flushes_then_raises():
    engine, seen = _Engine(), []
    insp = Inspection(engine, seen.extend)
    with pytest.raises(PcapError):
        insp.run(_source([b"hit", b"x", b"hit"], fail_after=2))
    assert engine.flushed == 1
    assert [a.time for a in seen] == [1.0, 99.0]       # the hit before the cut, then the flush
    assert all(a.id is None for a in seen)             # no store: nothing gets an id


def test_on_packet_called_per_frame():
    calls = []
    Inspection(_Engine(), lambda a: None).run(_source([b"a", b"b", b"c"]), calls.append)
    assert calls == [1, 2, 3]
