"""The store is shared by the agent daemon and CLI commands: what one adds another must see,
committed, while both have the file open."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace

import pytest

from dpictl.alerts.record import Endpoint
from dpictl.alerts.store import SCHEMA_VERSION, AlertStore
from dpictl.errors import InputError

from dpictl.alerts.record import KeptPacket

from .factories import LAB_TS, make_alert


def test_round_trip_keeps_every_field(db):
    original = make_alert(extra={"flow_id": 7, "in_iface": "cali1"}, rule_text="alert tcp ...",
                          snort_alert="line", packet=b"\x00trigger",
                          context=(KeptPacket(LAB_TS - 0.5, b"syn\x00", 1),
                                   KeptPacket(LAB_TS - 0.25, b"", 101),
                                   KeptPacket(LAB_TS - 0.125, bytes(range(256)) * 8, 113)))
    with AlertStore(db) as store:
        (stored,) = store.add([original])
        assert stored.id is not None
        assert replace(stored, id=None) == original
        assert store.query() == [stored]


def test_parent_dirs_created_and_wal_on(db):
    AlertStore(db).close()
    assert db.exists()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {t for t in tables if not t.startswith("sqlite_")} <= {"alerts", "alerts_meta"}
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"alerts_time_idx", "alerts_sid_idx", "alerts_endpoint_ns_idx"} <= indexes


def test_schema_version_recorded_and_newer_refused(db):
    with AlertStore(db) as store:
        assert store.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alerts_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(InputError, match="schema version 99"):
        AlertStore(db)


def test_other_tables_in_the_same_file_are_left_alone(db):
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE pods (name TEXT)")
    conn.execute("INSERT INTO pods VALUES ('red1')")
    conn.commit()
    with AlertStore(db) as store:
        store.add([make_alert()])
        assert store.clear() == 1
    assert conn.execute("SELECT name FROM pods").fetchall() == [("red1",)]


def test_not_a_database_is_an_input_error(tmp_path):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="junk.db is damaged: file is not a database"):
        AlertStore(bad)


def _sample(store: AlertStore) -> None:
    store.add([
        make_alert(time=100.0, sid=1),                                                 # red->red
        make_alert(time=200.0, sid=2, dest_name="blue1", dest_namespace="blue"),       # red->blue
        make_alert(time=300.0, sid=2, source_name="blue2", source_namespace="blue",
                   endpoint=Endpoint("red2", "red", "cali5", "destination")),           # blue->red
        make_alert(time=400.0, sid=3, source_name="", source_namespace="", dest_name="",
                   dest_namespace="", endpoint=None, origin="inspect"),               # pcap
    ])


def test_query_filters(db):
    with AlertStore(db) as store:
        _sample(store)
        assert [a.time for a in store.query(sid=2)] == [200.0, 300.0]
        assert [a.time for a in store.query(since=250.0)] == [300.0, 400.0]
        assert [a.time for a in store.query(namespace="blue")] == [200.0, 300.0]
        assert [a.time for a in store.query(namespace="red")] == [100.0, 200.0, 300.0]
        assert [a.time for a in store.query(pod="red2")] == [100.0, 300.0]
        # pod and namespace must hold on the same side: blue1 lives in blue, not red.
        assert store.query(namespace="red", pod="blue1") == []
        assert [a.time for a in store.query(namespace="blue", pod="blue1")] == [200.0]
        assert [a.time for a in store.query(origin="inspect")] == [400.0]
        assert [a.time for a in store.query(limit=2)] == [300.0, 400.0]
        assert store.count() == 4 and store.count(sid=2, since=250.0) == 1
        assert store.clear() == 4 and store.count() == 0


def test_commit_visible_from_a_second_connection(db):
    writer = AlertStore(db)
    reader = AlertStore(db)
    (stored,) = writer.add([make_alert()])
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT id, sid FROM alerts").fetchall() == [(stored.id, 21562)]
    assert [a.id for a in reader.query()] == [stored.id]
    writer.close()
    reader.close()


def test_concurrent_writer_and_reader(db):
    """A writer thread adds while a reader (its own connection) polls: the reader never sees
    an error and the counts it sees only grow, ending at the total."""
    AlertStore(db).close()
    batches, per_batch = 40, 5
    seen: list[int] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with AlertStore(db) as w:
                for i in range(batches):
                    w.add(make_alert(time=LAB_TS + i, sid=i) for _ in range(per_batch))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=write)
    with AlertStore(db) as reader:
        thread.start()
        deadline = time.monotonic() + 30
        while thread.is_alive() and time.monotonic() < deadline:
            seen.append(reader.count())
        thread.join()
        final = reader.count()
    assert not errors
    assert seen == sorted(seen)
    assert all(n % per_batch == 0 for n in seen)   # whole transactions only
    assert final == batches * per_batch


def test_a_version_2_store_gains_the_context_column(db):
    import sqlite3

    with AlertStore(db) as store:
        store.add([make_alert(packet=b"old")])
    conn = sqlite3.connect(db)                      # make it look like a version-2 file
    conn.execute("ALTER TABLE alerts DROP COLUMN context")
    conn.execute("UPDATE alerts_meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with AlertStore(db) as store:
        assert store.schema_version == 3
        (old,) = store.query()
        assert (old.packet, old.context) == (b"old", ())
        (new,) = store.add([make_alert(context=(KeptPacket(1.5, b"k", 1),))])
        assert store.get(new.id).context == (KeptPacket(1.5, b"k", 1),)
