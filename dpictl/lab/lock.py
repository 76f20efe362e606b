"""One lab per state database: a lock held by the command that changes the lab.

Two `run-lab`s on one state used to both pass the "fresh" check and then delete each other's
namespaces. Now `run-lab`, `lab up` and `lab down` hold an exclusive `flock` on
`<db>.lab.lock` (in the state directory, beside the database) while they run; a second one is
refused with one line naming the holder and touches nothing. flock is released by the
kernel when its holder dies however it dies, so a kill -9 never leaves a stale lock.

The file also records the holder (pid, command) and what it left: "running" while a run
is in progress, "kept" for a lab left up (`--keep`, `lab up`), "clean" after a clean-up. The
next holder that finds "running" knows the previous run died before its clean-up (a live
one would still hold the lock), and removes its leftovers (see `previous_died`).
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from dpictl.errors import ClusterError

RUNNING, KEPT, CLEAN = "running", "kept", "clean"


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int | None
    command: str
    state: str

    def describe(self) -> str:
        return f"pid {self.pid} ({self.command})" if self.pid else "another dpictl command"


class LabBusy(ClusterError):
    """Another command holds this state database's lab."""


def lock_path(db: Path) -> Path:
    db = Path(db).expanduser().absolute()
    return db.with_name(db.name + ".lab.lock")


class LabLock:
    """The held lock of one state database (use as a context manager)."""

    def __init__(self, db: Path, command: str) -> None:
        self.db = Path(db).expanduser().absolute()
        self.path = lock_path(db)
        self.command = command
        self._fd: int | None = None
        self.previous: Holder | None = None
        self.leave_as: str | None = None      # what the holder left: KEPT or CLEAN
        self.recovered = False                # a dead run's leftovers were removed

    def __enter__(self) -> "LabLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _parse(_read(fd))
            os.close(fd)
            raise LabBusy(f"the lab of {self.db} is in use by {holder.describe()}",
                          hint="wait for it to end, or stop it: its clean-up then runs") \
                from None
        self._fd = fd
        self.previous = _parse(_read(fd))
        # A kept lab stays "kept" until a command takes it down: a run that only finds it
        # (and is refused by the fresh check) must not make it look like a dead run's.
        self.mark(KEPT if self.previous.state == KEPT else RUNNING)
        return self

    def __exit__(self, *exc: object) -> None:
        """Record what is left, then release. Unless told (`leave_as`), a kept lab stays
        kept, a dead run whose leftovers were not removed stays a dead run, and anything
        else was cleaned up (the runner cleans up whatever ends its run)."""
        if self._fd is None:
            return
        try:
            if self.leave_as is not None:
                self.mark(self.leave_as)
            elif self.previous_died and not self.recovered:
                self._write(self.previous.pid, self.previous.command, RUNNING)
            else:
                self.mark(KEPT if self.previous_kept else CLEAN)
        finally:
            os.close(self._fd)          # releases the flock
            self._fd = None

    @property
    def previous_kept(self) -> bool:
        return self.previous is not None and self.previous.state == KEPT

    @property
    def previous_died(self) -> bool:
        """The last holder ended without its clean-up (killed, or lost power)."""
        return self.previous is not None and self.previous.state == RUNNING

    def mark(self, state: str) -> None:
        """Record this holder and what the lab is left as (RUNNING, KEPT or CLEAN)."""
        self._write(os.getpid(), self.command, state)

    def _write(self, pid: int | None, command: str, state: str) -> None:
        assert self._fd is not None
        data = json.dumps({"pid": pid, "command": command, "state": state})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, (data + "\n").encode(), 0)


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        return ""


def _parse(text: str) -> Holder:
    try:
        data = json.loads(text)
        pid = data.get("pid")
        return Holder(pid=pid if isinstance(pid, int) else None,
                      command=str(data.get("command") or "dpictl"),
                      state=str(data.get("state") or CLEAN))
    except (ValueError, AttributeError):
        return Holder(pid=None, command="dpictl", state=CLEAN)


__all__ = ["LabLock", "LabBusy", "Holder", "lock_path", "RUNNING", "KEPT", "CLEAN"]
