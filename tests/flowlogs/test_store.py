"""The flow log store shares the alerts' SQLite file: what the agent flushes, `flows list`
and `graph` read back whole, filtered by namespace and time, with the alerts untouched."""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import replace

import pytest

from dpictl.alerts.store import AlertStore
from dpictl.errors import DpictlError, InputError
from dpictl.flowlogs.record import FlowLog
from dpictl.flowlogs.store import SCHEMA_VERSION, FlowLogStore

from tests.alerts.factories import make_alert

from .factories import make_flow


def test_round_trip_keeps_every_field(db):
    record = make_flow()
    with FlowLogStore(db) as store:
        assert store.write([record]) == 1
        assert store.query() == [record]
    with FlowLogStore(db) as again:           # committed: a second opener sees it
        (read,) = again.query()
    assert read == record
    assert read.to_dict()["source_labels"] == {"labels": ["app=blue2", "tier=web"]}


def test_wal_and_prefixed_tables_beside_the_alerts(db):
    with AlertStore(db) as alerts:
        alerts.add([make_alert()])
    with FlowLogStore(db) as store:
        store.write([make_flow()])
        assert store.schema_version == SCHEMA_VERSION
        assert store.clear() == 1
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"flowlogs", "flowlogs_meta", "alerts"} <= tables
    with AlertStore(db) as alerts:             # clearing flows leaves the alerts alone
        assert alerts.count() == 1


def test_namespace_matches_source_or_dest(db):
    a = make_flow(source_namespace="red", dest_namespace="blue", end_time=1.0)
    b = make_flow(source_namespace="blue", dest_namespace="red", end_time=2.0)
    c = make_flow(source_namespace="-", dest_namespace="green", end_time=3.0)
    with FlowLogStore(db) as store:
        store.write([a, b, c])
        assert store.query(namespace="red") == [a, b]
        assert store.query(namespace="green") == [c]
        assert store.query(namespace="nope") == []


def test_since_limit_and_order_newest_last(db):
    records = [make_flow(start_time=t - 30, end_time=t, dest_port=int(t)) for t in
               (300.0, 100.0, 200.0)]
    with FlowLogStore(db) as store:
        store.write(records)
        assert [r.end_time for r in store.query()] == [100.0, 200.0, 300.0]
        assert [r.end_time for r in store.query(since=200.0)] == [200.0, 300.0]
        assert [r.end_time for r in store.query(limit=2)] == [200.0, 300.0]
        assert [r.end_time for r in store.query(since=150, limit=1)] == [300.0]


def test_write_empty_is_a_no_op_and_newer_schema_refused(db):
    with FlowLogStore(db) as store:
        assert store.write([]) == 0
        assert store.query() == []
    conn = sqlite3.connect(db)
    conn.execute("UPDATE flowlogs_meta SET value = '9' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(InputError, match="schema version 9"):
        FlowLogStore(db)


def test_concurrent_writers_wait_rather_than_fail(db):
    FlowLogStore(db).close()
    errors: list[BaseException] = []

    def writer(port: int) -> None:
        try:
            with FlowLogStore(db) as store:
                for i in range(20):
                    store.write([make_flow(dest_port=port, end_time=float(i))])
        except BaseException as exc:          # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with FlowLogStore(db) as store:
        assert sorted({r.dest_port for r in store.query()}) == [1, 2, 3]
        assert len(store.query()) == 60


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_read_only_file_reads_and_refuses_writes(db):   # pragma: no cover - non-root only
    with FlowLogStore(db) as store:
        store.write([make_flow()])
    os.chmod(db.parent, 0o500)
    try:
        with FlowLogStore(db) as store:
            assert len(store.query()) == 1
            with pytest.raises(DpictlError, match="read-only"):
                store.write([make_flow()])
    finally:
        os.chmod(db.parent, 0o700)


def test_a_file_without_flow_tables_opened_read_only_reads_empty(db, monkeypatch):
    with AlertStore(db) as alerts:
        alerts.add([make_alert()])
    monkeypatch.setattr("dpictl.statefile.is_writable", lambda path: False)
    with FlowLogStore(db) as store:
        assert store.read_only
        assert store.query() == []
        with pytest.raises(DpictlError, match="read-only"):
            store.clear()


def test_damaged_file_is_one_line(db):
    db.parent.mkdir(parents=True, mode=0o700)
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DpictlError, match="damaged|cannot use"):
        FlowLogStore(db)


def test_frozen_record_replace_keeps_labels_independent(db):
    record = make_flow()
    other = replace(record, source_labels={"app": "x"})
    with FlowLogStore(db) as store:
        store.write([record, other])
        first, second = store.query()
    assert first.source_labels == {"app": "blue2", "tier": "web"}
    assert second.source_labels == {"app": "x"}


def test_the_store_keeps_the_newest_max_rows(db):
    with FlowLogStore(db, max_rows=5) as store:
        store.write([make_flow(end_time=float(i)) for i in range(4)])
        store.write([make_flow(end_time=float(i)) for i in range(4, 8)])
        assert [r.end_time for r in store.query()] == [3.0, 4.0, 5.0, 6.0, 7.0]
