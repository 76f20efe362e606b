"""The flow log store: SQLite, in the same file as the alerts and the local cluster's state.

Flow logs live beside the alerts (`dpictl.paths.default_db_path()`) in tables prefixed
`flowlogs`, so `dpictl graph` can join who-talked-to-whom with what alerted from one file,
and the agent that writes both needs one database. Like the alert store: WAL so the agent
writes while `dpictl flows list` reads, a busy timeout so a second writer waits, one commit
per `write()` so a flushed interval is on disk (whole) before the call returns. Opening goes
through `dpictl.statefile` (read-only files are read, never migrated; damage is one line).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from dpictl import statefile
from dpictl.flowlogs.record import FlowLog

SCHEMA_VERSION = 1
# Flow logs are a window on recent traffic, as Calico's rotated flow log files are: the
# store keeps the newest MAX_ROWS records (a few hundred bytes each) and drops older ones.
MAX_ROWS = 500_000

# FlowLog fields in insertion order; the two label maps are stored as JSON objects.
_COLUMNS = (
    "start_time", "end_time", "source_ip", "source_name", "source_namespace", "dest_ip",
    "dest_name", "dest_namespace", "dest_port", "proto", "action", "reporter", "num_flows",
    "packets_in", "packets_out", "bytes_in", "bytes_out", "source_labels", "dest_labels",
    "host",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flowlogs_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS flowlogs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    start_time REAL NOT NULL, end_time REAL NOT NULL,
    source_ip TEXT NOT NULL, source_name TEXT NOT NULL, source_namespace TEXT NOT NULL,
    dest_ip TEXT NOT NULL, dest_name TEXT NOT NULL, dest_namespace TEXT NOT NULL,
    dest_port INTEGER NOT NULL, proto TEXT NOT NULL,
    action TEXT NOT NULL, reporter TEXT NOT NULL, num_flows INTEGER NOT NULL,
    packets_in INTEGER NOT NULL, packets_out INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL,
    source_labels TEXT NOT NULL DEFAULT '{}', dest_labels TEXT NOT NULL DEFAULT '{}',
    host TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS flowlogs_end_idx ON flowlogs (end_time);
CREATE INDEX IF NOT EXISTS flowlogs_source_ns_idx ON flowlogs (source_namespace);
CREATE INDEX IF NOT EXISTS flowlogs_dest_ns_idx ON flowlogs (dest_namespace);
"""


def _row_values(record: FlowLog) -> tuple:
    return (
        float(record.start_time), float(record.end_time), record.source_ip, record.source_name,
        record.source_namespace, record.dest_ip, record.dest_name, record.dest_namespace,
        int(record.dest_port), record.proto, record.action, record.reporter,
        int(record.num_flows), int(record.packets_in), int(record.packets_out),
        int(record.bytes_in), int(record.bytes_out),
        json.dumps(dict(record.source_labels), sort_keys=True),
        json.dumps(dict(record.dest_labels), sort_keys=True), record.host,
    )


def _from_row(row: sqlite3.Row) -> FlowLog:
    values = {c: row[c] for c in _COLUMNS}
    values["source_labels"] = json.loads(values["source_labels"] or "{}")
    values["dest_labels"] = json.loads(values["dest_labels"] or "{}")
    return FlowLog(**values)


class FlowLogStore:
    """Flow logs in one SQLite file. Thread-safe (one connection behind a lock); open one
    per process. Use as a context manager or call `close()`."""

    def __init__(self, path: Path | str | None = None, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
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
            # A read-only file that never held flow logs reads as empty.
            self._empty = self.read_only and not statefile.has_table(self._conn, "flowlogs")

    def _migrate(self) -> None:
        with self._lock:
            statefile.migrate(self._conn, self.path, schema=_SCHEMA, meta="flowlogs_meta",
                              version=SCHEMA_VERSION, what="flow log store")

    @property
    def schema_version(self) -> int:
        return statefile.schema_version(self._conn, "flowlogs_meta") or 0

    def write(self, records: Iterable[FlowLog]) -> int:
        """Store records in one transaction, committed before returning how many; the
        oldest go beyond `max_rows`."""
        statefile.require_writable(self.path, self.read_only)
        batch = [_row_values(r) for r in records]
        if not batch:
            return 0
        sql = (f"INSERT INTO flowlogs ({', '.join(_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(_COLUMNS))})")
        with self._lock, statefile.guard(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(sql, batch)
                # ids only grow (AUTOINCREMENT): everything below the newest max_rows goes
                self._conn.execute("DELETE FROM flowlogs WHERE id <= "
                                   "(SELECT MAX(id) FROM flowlogs) - ?", (self.max_rows,))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return len(batch)

    def query(self, namespace: str | None = None, since: float | None = None,
              limit: int | None = None) -> list[FlowLog]:
        """Records oldest first (by the end of their interval). `namespace` matches the
        source or the destination; `since` keeps records whose interval ends at or after
        that unix time; `limit` keeps the newest N."""
        clauses: list[str] = []
        args: list = []
        if namespace is not None:
            clauses.append("(source_namespace = ? OR dest_namespace = ?)")
            args += [namespace, namespace]
        if since is not None:
            clauses.append("end_time >= ?")
            args.append(float(since))
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = f"SELECT * FROM flowlogs{where} ORDER BY end_time DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        if self._empty:
            return []
        with self._lock, statefile.guard(self.path):
            rows = self._conn.execute(sql, args).fetchall()
            return [_from_row(r) for r in reversed(rows)]

    def clear(self) -> int:
        """Delete every flow log; returns how many there were."""
        statefile.require_writable(self.path, self.read_only)
        with self._lock, statefile.guard(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                removed = self._conn.execute("DELETE FROM flowlogs").rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return int(removed)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "FlowLogStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["FlowLogStore", "SCHEMA_VERSION", "MAX_ROWS"]
