"""The alert store: SQLite, shared by the agent daemon and every CLI command.

Alerts live in the same file as the local backend's state (`dpictl.paths.default_db_path()`),
in tables prefixed `alerts` so the two never collide. WAL mode lets the agent write while
`dpictl alerts list` reads; the busy timeout makes a second writer wait instead of failing.
`add()` commits before it returns, so an alert a command shows is already on disk.
Opening goes through `dpictl.statefile`: a read-only file is read (never migrated), and a
damaged one is one line with a hint, not a DatabaseError.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import threading
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from dpictl import statefile
from dpictl.alerts.record import Alert, Endpoint, KeptPacket

SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = statefile.BUSY_TIMEOUT_S

# Columns in insertion order; `endpoint_*` flatten the Endpoint, `extra` is JSON.
_COLUMNS = (
    "time", "source_ip", "source_port", "dest_ip", "dest_port", "proto", "gid", "sid", "rev",
    "signature", "category", "priority", "origin", "host", "source_name", "source_namespace",
    "dest_name", "dest_namespace", "endpoint_name", "endpoint_namespace", "endpoint_interface",
    "endpoint_role", "app_proto", "pkt_num", "rule_text", "snort_alert", "extra", "packet",
    "linktype", "context",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    source_ip TEXT NOT NULL, source_port INTEGER NOT NULL,
    dest_ip TEXT NOT NULL, dest_port INTEGER NOT NULL,
    proto TEXT NOT NULL,
    gid INTEGER NOT NULL, sid INTEGER NOT NULL, rev INTEGER NOT NULL,
    signature TEXT NOT NULL, category TEXT NOT NULL DEFAULT '', priority INTEGER NOT NULL,
    origin TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '',
    source_name TEXT NOT NULL DEFAULT '', source_namespace TEXT NOT NULL DEFAULT '',
    dest_name TEXT NOT NULL DEFAULT '', dest_namespace TEXT NOT NULL DEFAULT '',
    endpoint_name TEXT, endpoint_namespace TEXT, endpoint_interface TEXT, endpoint_role TEXT,
    app_proto TEXT, pkt_num INTEGER NOT NULL DEFAULT 0,
    rule_text TEXT NOT NULL DEFAULT '', snort_alert TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}',
    packet BLOB NOT NULL DEFAULT x'',
    linktype INTEGER NOT NULL DEFAULT 1,
    context BLOB NOT NULL DEFAULT x''
);
CREATE INDEX IF NOT EXISTS alerts_time_idx ON alerts (time);
CREATE INDEX IF NOT EXISTS alerts_sid_idx ON alerts (sid);
CREATE INDEX IF NOT EXISTS alerts_source_ns_idx ON alerts (source_namespace);
CREATE INDEX IF NOT EXISTS alerts_dest_ns_idx ON alerts (dest_namespace);
CREATE INDEX IF NOT EXISTS alerts_endpoint_ns_idx ON alerts (endpoint_namespace);
"""

# Migrations from version N to N+1, applied in order.
_MIGRATIONS: dict[int, str] = {
    # 2: alerts keep their triggering packet (dpictl alerts show / export)
    1: "ALTER TABLE alerts ADD COLUMN packet BLOB NOT NULL DEFAULT x'';"
       "ALTER TABLE alerts ADD COLUMN linktype INTEGER NOT NULL DEFAULT 1",
    # 3: and the packets of its flow before it (alerts export)
    2: "ALTER TABLE alerts ADD COLUMN context BLOB NOT NULL DEFAULT x''",
}

# One kept packet in the `context` column: time (double), link type, length, then the bytes.
# Packed by hand rather than as JSON+base64 (a third larger) or as a pcap (one link type per
# file): a row holds at most a few KiB of it and only this module reads it.
_KEPT_HEADER = struct.Struct("<dII")


def _pack_context(context: Iterable[KeptPacket]) -> bytes:
    return b"".join(_KEPT_HEADER.pack(k.time, k.linktype, len(k.packet)) + bytes(k.packet)
                    for k in context)


def _unpack_context(blob: bytes | None) -> tuple[KeptPacket, ...]:
    out: list[KeptPacket] = []
    pos, view = 0, memoryview(blob or b"")
    while pos + _KEPT_HEADER.size <= len(view):
        ts, linktype, size = _KEPT_HEADER.unpack_from(view, pos)
        pos += _KEPT_HEADER.size
        out.append(KeptPacket(ts, bytes(view[pos:pos + size]), linktype))
        pos += size
    return tuple(out)


def _row_values(alert: Alert) -> tuple:
    ep = alert.endpoint
    return (
        float(alert.time), alert.source_ip, int(alert.source_port), alert.dest_ip,
        int(alert.dest_port), alert.proto, int(alert.gid), int(alert.sid), int(alert.rev),
        alert.signature, alert.category, int(alert.priority), alert.origin, alert.host,
        alert.source_name, alert.source_namespace, alert.dest_name, alert.dest_namespace,
        ep.name if ep else None, ep.namespace if ep else None, ep.interface if ep else None,
        ep.role if ep else None, alert.app_proto, int(alert.pkt_num), alert.rule_text,
        alert.snort_alert, json.dumps(alert.extra, default=str, sort_keys=True),
        bytes(alert.packet), int(alert.linktype), _pack_context(alert.context),
    )


def _from_row(row: sqlite3.Row) -> Alert:
    endpoint = None
    if row["endpoint_name"] is not None:
        endpoint = Endpoint(name=row["endpoint_name"], namespace=row["endpoint_namespace"] or "",
                            interface=row["endpoint_interface"] or "",
                            role=row["endpoint_role"] or "")
    # A read-only store is never migrated: an older file may lack the newer columns.
    present = set(row.keys())
    plain = {c: row[c] for c in _COLUMNS
             if c in present and not c.startswith("endpoint_") and c not in ("extra", "context")}
    context = _unpack_context(row["context"]) if "context" in present else ()
    return Alert(id=row["id"], endpoint=endpoint, extra=json.loads(row["extra"] or "{}"),
                 context=context, **plain)


class AlertStore:
    """Alerts in one SQLite file. Thread-safe (one connection behind a lock); open one per
    process. Use as a context manager or call `close()`."""

    def __init__(self, path: Path | str | None = None) -> None:
        if path is None:
            from dpictl.paths import default_db_path

            path = default_db_path()
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn, self.read_only = statefile.connect(self.path)
        self._conn.row_factory = sqlite3.Row
        with statefile.guard(self.path):
            if not self.read_only:
                self._migrate()
            # A read-only file that never held alerts reads as empty.
            self._empty = self.read_only and not statefile.has_table(self._conn, "alerts")

    def _migrate(self) -> None:
        with self._lock:
            statefile.migrate(self._conn, self.path, schema=_SCHEMA, meta="alerts_meta",
                              version=SCHEMA_VERSION, what="alert store", migrations=_MIGRATIONS)

    @property
    def schema_version(self) -> int:
        return statefile.schema_version(self._conn, "alerts_meta") or 0

    def add(self, alerts: Iterable[Alert]) -> list[Alert]:
        statefile.require_writable(self.path, self.read_only)
        with statefile.guard(self.path):
            return self._add(alerts)

    def _add(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Store alerts in one transaction, committed before returning them with their ids."""
        batch = list(alerts)
        if not batch:
            return []
        sql = (f"INSERT INTO alerts ({', '.join(_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(_COLUMNS))})")
        stored: list[Alert] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for alert in batch:
                    cur = self._conn.execute(sql, _row_values(alert))
                    stored.append(replace(alert, id=cur.lastrowid))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return stored

    @staticmethod
    def _where(sid: int | None, since: float | None, namespace: str | None, pod: str | None,
               origin: str | None) -> tuple[str, list]:
        clauses: list[str] = []
        args: list = []
        if sid is not None:
            clauses.append("sid = ?")
            args.append(int(sid))
        if since is not None:
            clauses.append("time >= ?")
            args.append(float(since))
        if origin is not None:
            clauses.append("origin = ?")
            args.append(origin)
        if namespace is not None or pod is not None:
            # A workload matches on any side: source, destination or the endpoint that saw it.
            sides = []
            for side in ("source", "dest", "endpoint"):
                parts = []
                if namespace is not None:
                    parts.append(f"{side}_namespace = ?")
                    args.append(namespace)
                if pod is not None:
                    parts.append(f"{side}_name = ?")
                    args.append(pod)
                sides.append("(" + " AND ".join(parts) + ")")
            clauses.append("(" + " OR ".join(sides) + ")")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def query(self, sid: int | None = None, since: float | None = None,
              namespace: str | None = None, pod: str | None = None, origin: str | None = None,
              limit: int | None = None) -> list[Alert]:
        """Alerts oldest first. `since` is a unix time (alerts at or after it); `namespace`
        and `pod` match the source, the destination or the endpoint; `limit` keeps the
        newest N."""
        where, args = self._where(sid, since, namespace, pod, origin)
        sql = f"SELECT * FROM alerts{where} ORDER BY time DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        if self._empty:
            return []
        with self._lock, statefile.guard(self.path):
            rows = self._conn.execute(sql, args).fetchall()
            return [_from_row(r) for r in reversed(rows)]

    def get(self, alert_id: int) -> Alert | None:
        """One alert by its id (what `alerts list` shows in its ID column)."""
        if self._empty:
            return None
        with self._lock, statefile.guard(self.path):
            row = self._conn.execute("SELECT * FROM alerts WHERE id = ?",
                                     (int(alert_id),)).fetchone()
            return _from_row(row) if row is not None else None

    def count(self, sid: int | None = None, since: float | None = None,
              namespace: str | None = None, pod: str | None = None,
              origin: str | None = None) -> int:
        where, args = self._where(sid, since, namespace, pod, origin)
        if self._empty:
            return 0
        with self._lock, statefile.guard(self.path):
            return int(self._conn.execute(f"SELECT COUNT(*) FROM alerts{where}", args)
                       .fetchone()[0])

    def clear(self) -> int:
        """Delete every alert; returns how many there were."""
        statefile.require_writable(self.path, self.read_only)
        with self._lock, statefile.guard(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                removed = self._conn.execute("DELETE FROM alerts").rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return int(removed)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "AlertStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["AlertStore", "SCHEMA_VERSION"]
