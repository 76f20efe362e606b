"""The local cluster's state in SQLite (tables `cluster_*`, beside the alerts tables).

Manifests of every kind are stored as JSON exactly as `get` returns them; pods also have a
runtime row (IP, netns, host interface, MAC, server pid, phase) that only this backend reads.
WAL and a busy timeout let the CLI and the agent daemon share the file; `dpictl.statefile`
opens it (private directory, read-only when it cannot be written, one-line errors).
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dpictl import statefile
from dpictl.errors import ClusterError

POD_CIDR = ipaddress.ip_network("10.244.0.0/16")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cluster_objects (
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, manifest TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name));
CREATE TABLE IF NOT EXISTS cluster_pods (
    namespace TEXT NOT NULL, name TEXT NOT NULL, ip TEXT NOT NULL UNIQUE, netns TEXT NOT NULL,
    interface TEXT NOT NULL, mac TEXT, pid INTEGER, phase TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (namespace, name));
"""


@dataclass(frozen=True, slots=True)
class PodRuntime:
    namespace: str
    name: str
    ip: str
    netns: str
    interface: str
    mac: str | None
    pid: int | None
    phase: str            # "Pending" while being created, "Running", "Terminating"
    created: float


class ClusterState:
    """One SQLite connection to the state file, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db, self.read_only = statefile.connect(self.path)
        with statefile.guard(self.path):
            if not self.read_only:
                self._db.executescript(_SCHEMA)
            # A read-only file that never held a cluster reads as an empty cluster.
            self._empty = self.read_only and not statefile.has_table(self._db,
                                                                     "cluster_objects")
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: one writer at a time across processes."""
        statefile.require_writable(self.path, self.read_only)
        with self._lock, statefile.guard(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        if self._empty:
            return []
        with self._lock, statefile.guard(self.path):
            return self._db.execute(sql, args).fetchall()

    # settings ---------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM cluster_settings WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO cluster_settings VALUES (?, ?)", (key, value))

    def next_resource_version(self, db: sqlite3.Connection) -> str:
        row = db.execute("SELECT value FROM cluster_settings WHERE key='resource_version'")
        current = row.fetchone()
        value = int(current[0]) + 1 if current else 1
        db.execute("INSERT OR REPLACE INTO cluster_settings VALUES ('resource_version', ?)",
                   (str(value),))
        return str(value)

    # objects ----------------------------------------------------------------------------
    def get_object(self, kind: str, namespace: str, name: str) -> dict | None:
        rows = self._query("SELECT manifest FROM cluster_objects WHERE kind=? AND namespace=? "
                           "AND name=?", (kind, namespace, name))
        return json.loads(rows[0][0]) if rows else None

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict]:
        if namespace is None:
            rows = self._query("SELECT manifest FROM cluster_objects WHERE kind=? "
                               "ORDER BY namespace, name", (kind,))
        else:
            rows = self._query("SELECT manifest FROM cluster_objects WHERE kind=? AND "
                               "namespace=? ORDER BY name", (kind, namespace))
        return [json.loads(r[0]) for r in rows]

    @staticmethod
    def put_object(db: sqlite3.Connection, manifest: dict) -> None:
        meta = manifest["metadata"]
        db.execute("INSERT OR REPLACE INTO cluster_objects VALUES (?, ?, ?, ?)",
                   (manifest["kind"], meta.get("namespace", ""), meta["name"],
                    json.dumps(manifest, sort_keys=True)))

    @staticmethod
    def delete_object(db: sqlite3.Connection, kind: str, namespace: str, name: str) -> None:
        db.execute("DELETE FROM cluster_objects WHERE kind=? AND namespace=? AND name=?",
                   (kind, namespace, name))

    # pods -------------------------------------------------------------------------------
    def pods(self) -> list[PodRuntime]:
        rows = self._query("SELECT namespace, name, ip, netns, interface, mac, pid, phase, "
                           "created FROM cluster_pods ORDER BY namespace, name")
        return [PodRuntime(*r) for r in rows]

    def pod(self, namespace: str, name: str) -> PodRuntime | None:
        return next((p for p in self.pods() if (p.namespace, p.name) == (namespace, name)),
                    None)

    def reserve_pod(self, namespace: str, name: str, netns: str, interface: str) -> PodRuntime:
        """Allocate the next free pod IP and record the pod as Pending."""
        with self.transaction() as db:
            used = {r[0] for r in db.execute("SELECT ip FROM cluster_pods")}
            ip = next((str(a) for a in POD_CIDR.hosts()
                       if a.packed[-1] not in (0, 1, 255) and str(a) not in used), None)
            if ip is None:
                raise ClusterError(f"pod CIDR {POD_CIDR} is full")
            pod = PodRuntime(namespace, name, ip, netns, interface, None, None, "Pending",
                             time.time())
            db.execute("INSERT INTO cluster_pods VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (pod.namespace, pod.name, pod.ip, pod.netns, pod.interface, pod.mac,
                        pod.pid, pod.phase, pod.created))
        return pod

    @staticmethod
    def set_pod_running(db: sqlite3.Connection, pod: PodRuntime) -> None:
        db.execute("UPDATE cluster_pods SET mac=?, pid=?, phase='Running' WHERE "
                   "namespace=? AND name=?", (pod.mac, pod.pid, pod.namespace, pod.name))

    def set_pod_phase(self, namespace: str, name: str, phase: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE cluster_pods SET phase=? WHERE namespace=? AND name=?",
                       (phase, namespace, name))

    @staticmethod
    def delete_pod(db: sqlite3.Connection, namespace: str, name: str) -> None:
        db.execute("DELETE FROM cluster_pods WHERE namespace=? AND name=?", (namespace, name))

    def clear(self) -> dict[str, int]:
        """Forget the whole cluster; returns how many objects of each kind were dropped."""
        with self.transaction() as db:
            counts = dict(db.execute("SELECT kind, COUNT(*) FROM cluster_objects GROUP BY kind"))
            db.execute("DELETE FROM cluster_objects")
            db.execute("DELETE FROM cluster_pods")
            db.execute("DELETE FROM cluster_settings WHERE key != 'cluster_id'")
        return counts


__all__ = ["ClusterState", "PodRuntime", "POD_CIDR"]
