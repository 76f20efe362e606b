"""Opening the SQLite state file, one way for the alert store and the local cluster state.

Three things every opener needs and none should get wrong on its own:
- the directory is private (`paths.private_dir`: 0700 when created, refused when others
  can write to it);
- a file whose directory (or itself) cannot be written is opened read-only, so read-only
  commands (`alerts list`, `get`, `lab status`) still work on a read-only copy or mount;
  a WAL database needs its -shm file to be creatable for that, so when it is not, the file
  is opened `immutable` (nobody can write it anyway);
- SQLite errors become one line: a damaged file says so and how to salvage it, a write to a
  read-only file says which file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from dpictl import paths
from dpictl.errors import DpictlError, InputError, PermissionDenied

BUSY_TIMEOUT_S = 30.0


def is_writable(path: Path) -> bool:
    """Whether the state file at `path` can be written (and its WAL files created)."""
    if not os.access(path.parent, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def connect(path: Path) -> tuple[sqlite3.Connection, bool]:
    """(connection, read_only) for the state file; raises one-line DpictlErrors."""
    path = Path(path)
    paths.private_dir(path.parent)
    read_only = not is_writable(path)
    if read_only and not path.exists():
        raise PermissionDenied(f"cannot create the state file {path}: its directory is "
                               "read-only", hint="use another --db")
    with guard(path):
        if not read_only:
            created = not path.exists()
            db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                 check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")     # WAL: no fsync per commit
            if created:
                os.chmod(path, 0o600)     # alerts are nobody else's business (nor a pod's)
            return db, False
        uri = "file:" + quote(str(path.resolve()))
        for mode in ("?mode=ro", "?mode=ro&immutable=1"):
            db = sqlite3.connect(uri + mode, uri=True, timeout=BUSY_TIMEOUT_S,
                                 isolation_level=None, check_same_thread=False)
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return db, True
            except sqlite3.OperationalError:
                db.close()
                if "immutable" in mode:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


def require_writable(path: Path, read_only: bool) -> None:
    """Before a write: a read-only file is refused up front, not half-way into a transaction."""
    if read_only:
        raise state_error(path, sqlite3.OperationalError("attempt to write a readonly database"))


def has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                      (name,)).fetchone() is not None


def migrate(db: sqlite3.Connection, path: Path, *, schema: str, meta: str, version: int,
            what: str, migrations: dict[int, str] | None = None) -> None:
    """Create `schema`'s tables, bring an older file up to `version` (`migrations[n]` takes
    version n to n + 1) and record it in table `meta`, all in one IMMEDIATE transaction; a
    file newer than this dpictl is refused. Shared by the stores living in the state file."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in filter(None, (s.strip() for s in schema.split(";"))):
            db.execute(statement)
        found = schema_version(db, meta)
        found = version if found is None else found
        while found < version:
            for statement in filter(None, (migrations or {})[found].split(";")):
                db.execute(statement)
            found += 1
        if found > version:
            raise InputError(f"{what} {path} has schema version {found}, newer than this "
                             f"dpictl understands ({version})",
                             hint="upgrade dpictl or use another --db")
        db.execute(f"INSERT OR REPLACE INTO {meta} (key, value) VALUES ('schema_version', ?)",
                   (str(found),))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def schema_version(db: sqlite3.Connection, meta: str) -> int | None:
    """The version `migrate` recorded in table `meta`; None before the first."""
    row = db.execute(f"SELECT value FROM {meta} WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


@contextmanager
def guard(path: Path) -> Iterator[None]:
    """Turn SQLite errors on `path` into one-line DpictlErrors."""
    try:
        yield
    except DpictlError:
        raise
    except sqlite3.Error as exc:
        raise state_error(path, exc) from None


def state_error(path: Path, exc: sqlite3.Error) -> DpictlError:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return PermissionDenied(f"the state file {path} is read-only and this command writes "
                                "to it", hint="run it where the file can be written")
    if isinstance(exc, sqlite3.OperationalError) and "malformed" not in text:
        return InputError(f"cannot use the state file {path}: {text}",
                          hint="check --db / $DPICTL_DB and its permissions")
    return InputError(f"the state file {path} is damaged: {text}",
                      hint=f"move it aside (a new one is started), or salvage it with: "
                           f"sqlite3 {path} .recover")


__all__ = ["connect", "guard", "has_table", "is_writable", "require_writable", "state_error",
           "BUSY_TIMEOUT_S"]
