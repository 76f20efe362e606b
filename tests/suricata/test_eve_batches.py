"""The live Suricata reader stores what one read of the EVE FIFO brought in one
transaction: Suricata blocks on a full FIFO (and drops packets), so the reader must not pay
a commit per alert (`benchmarks/bench_alert_store.py`: 70 us CPU per alert alone, 19 in
batches)."""

from __future__ import annotations

import os
import shutil

import pytest

from dpictl.rules.ruleset import load_rules
from dpictl.suricata.binary import find_suricata
from dpictl.suricata.eve_reader import EveFollower, follow_batches, make_fifo
from dpictl.suricata.session import SuricataSession

pytestmark = pytest.mark.skipif(shutil.which("suricata") is None and not os.environ.get("CI"),
                                reason="suricata is not installed")


def _alert(sid: int) -> dict:
    return {"event_type": "alert", "timestamp": "2026-12-05T00:00:00.000000+0000",
            "src_ip": "10.0.0.1", "src_port": 40000, "dest_ip": "10.0.0.2", "dest_port": 80,
            "proto": "TCP", "in_iface": "cali1", "flow_id": 1,
            "alert": {"gid": 1, "signature_id": sid, "rev": 1, "action": "allowed"}}


class CountingStore:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def add(self, alerts):
        self.batches.append(len(alerts))
        return list(alerts)


def test_each_read_is_one_transaction_and_every_alert_is_shown(tmp_path):
    rules = tmp_path / "r.rules"
    rules.write_text("".join(f'alert tcp any any -> any any (msg:"m{s}"; content:"x"; '
                             f'sid:{s}; rev:1;)\n' for s in (11, 12)))
    shown: list = []
    store = CountingStore()
    session = SuricataSession(find_suricata(), load_rules([rules]), {}, shown.extend, store,
                              log_dir=tmp_path / "log")
    stats = {"event_type": "stats", "timestamp": "2026-12-05T00:00:01.000000+0000",
             "stats": {"decoder": {"pkts": 5}}}
    session._consume_live(iter([[_alert(11), _alert(12), stats, _alert(11)], [_alert(12)],
                                [_alert(999)]]))          # an unknown sid is skipped
    assert store.batches == [3, 1]
    assert [a.sid for a in shown] == [11, 12, 11, 12]
    assert session.counts.alerts == 4


def test_follow_batches_gives_what_one_read_found(tmp_path):
    fifo = make_fifo(tmp_path / "eve.fifo")
    follower = EveFollower(fifo)
    writer = os.open(fifo, os.O_WRONLY)
    try:
        os.write(writer, b'{"event_type": "alert", "n": 1}\n{"event_type": "alert", "n": 2}\n'
                         b'{"event_type": "st')
        alive = iter([True, False])
        batches = follow_batches(follower, lambda: next(alive, False), timeout=0.2)
        assert [e["n"] for e in next(batches)] == [1, 2]      # the partial line waits
        os.write(writer, b'ats", "n": 3}\n')
        assert [e["n"] for e in next(batches)] == [3]
    finally:
        os.close(writer)
        follower.close()
