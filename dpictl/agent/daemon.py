"""The agent as a background daemon, one per state database.

`ensure_agent(db)` is what `dpictl apply` (and the lab) call after changing DPI resources on
the local backend: it starts `python -m dpictl.agent supervise --db DB` detached (double
fork, new session, so it is never a zombie of the CLI and survives it), which runs the agent
(`python -m dpictl.agent run --db DB`) as its child and restarts it when it dies (see
`dpictl.agent.supervisor`). When the agent already runs, it gets SIGHUP to re-read its
configuration and reconcile at once; when it waits for a restart, the supervisor gets SIGHUP
to restart it now. Everything about a daemon lives in one directory beside the database
(`<db>.agent/`): the pid files, the log, the config (which rules) and the statuses the agent
and its supervisor publish.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from dpictl.agent.limits import find_cgroups, remove_cgroups
from dpictl.errors import ClusterError, PermissionDenied

STOP_TIMEOUT = 10.0
LOG_ROTATE_BYTES = 5 * 2**20        # one old log is kept, as agent.log.1


@dataclass(frozen=True, slots=True)
class AgentPaths:
    """Where one database's agent keeps its files."""

    db: Path

    @classmethod
    def for_db(cls, db: Path | str) -> "AgentPaths":
        return cls(Path(db).expanduser().resolve())

    @property
    def dir(self) -> Path:
        return self.db.with_name(self.db.name + ".agent")

    @property
    def pid(self) -> Path:
        return self.dir / "agent.pid"

    @property
    def log(self) -> Path:
        return self.dir / "agent.log"

    @property
    def config(self) -> Path:
        return self.dir / "config.json"

    @property
    def status(self) -> Path:
        return self.dir / "status.json"

    @property
    def lock(self) -> Path:
        return self.dir / "agent.lock"

    @property
    def supervisor_pid(self) -> Path:
        return self.dir / "supervisor.pid"

    @property
    def supervisor_status(self) -> Path:
        return self.dir / "supervisor.json"

    @property
    def supervisor_lock(self) -> Path:
        return self.dir / "supervisor.lock"

    @property
    def cgroup_name(self) -> str:
        import hashlib

        return hashlib.sha1(str(self.db).encode()).hexdigest()[:12]


def configure_agent(db_path: Path | str, rules: list[Path] | None = None,
                    engine: str | None = None) -> Path:
    """Set which rule files the agent loads (None or []: the built-in rules) and its data
    plane (default: $DPICTL_ENGINE, else python), read when the agent starts."""
    paths = AgentPaths.for_db(db_path)
    paths.dir.mkdir(parents=True, exist_ok=True)
    config = {"rules": [str(Path(r).expanduser().resolve()) for r in (rules or [])],
              "engine": engine or os.environ.get("DPICTL_ENGINE") or "python"}
    _write_json(paths.config, config)
    return paths.config


def read_config(db_path: Path | str) -> dict:
    return _read_json(AgentPaths.for_db(db_path).config) or {"rules": []}


def ensure_agent(db_path: Path) -> int | None:
    """Start the agent (and its supervisor) for this database if they are not running, else
    make it reconcile now (or, between restarts, restart now).

    Returns the agent's pid, or None when it is not up (yet): then see `agent_status()`.
    """
    paths = AgentPaths.for_db(db_path)
    paths.dir.mkdir(parents=True, exist_ok=True)
    with _locked(paths.dir / "spawn.lock"):
        pid = running_pid(paths)
        supervisor = supervisor_pid(paths)
        if pid is not None:
            # Only a daemon that published its status has its SIGHUP handler installed (a
            # default SIGHUP would kill it); one still starting reconciles from scratch anyway.
            if (_read_json(paths.status) or {}).get("pid") == pid:
                os.kill(pid, signal.SIGHUP)
            if supervisor is None:      # its supervisor died: a new one adopts it
                _start_supervisor(paths)
            return pid
        if supervisor is not None:
            os.kill(supervisor, signal.SIGHUP)         # waiting to restart it: now
            return None
        paths.status.unlink(missing_ok=True)
        supervisor = _start_supervisor(paths)
        return _wait_agent(paths, supervisor)


def _start_supervisor(paths: AgentPaths) -> int:
    pid = _spawn(paths)
    if pid <= 0:
        raise ClusterError("could not start the DPI agent",
                           hint=f"see its log: {paths.log}")
    paths.supervisor_pid.write_text(f"{pid}\n")
    return pid


def stop_agent(db_path: Path | str, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM the supervisor, which stops the agent (each gets SIGKILL after `timeout`),
    then the agent if it still runs; clean up after them. True if one ran."""
    paths = AgentPaths.for_db(db_path)
    supervisor = supervisor_pid(paths)
    stopped = False
    if supervisor is not None:
        stopped = _terminate(supervisor, timeout + 2.0, "the agent's supervisor")
    pid = running_pid(paths)          # one its supervisor could not stop, or none had
    if pid is not None:
        stopped = _terminate(pid, timeout, "the agent") or stopped
    # After a crash or a SIGKILL the daemon could not tidy up: do it here.
    status = _read_json(paths.status) or {}
    listed = (status.get("limits") or {}).get("cgroups") or []
    remove_cgroups(listed + [c for c in find_cgroups(paths.cgroup_name) if c not in listed])
    for path in (paths.pid, paths.status, paths.supervisor_pid, paths.supervisor_status):
        path.unlink(missing_ok=True)
    return stopped


def _terminate(pid: int, timeout: float, what: str) -> bool:
    """SIGTERM, SIGKILL after `timeout`; False if it was already gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except PermissionError:
        raise PermissionDenied(f"cannot stop {what} (pid {pid})", hint="run as root") from None
    except ProcessLookupError:
        return False
    if not _wait_gone(pid, timeout):
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 2.0)
    return True


def agent_status(db_path: Path | str) -> dict:
    """Whether the agent runs, with what limits, on which interfaces; for `lab status`.

    What a dead agent published last is not what happens now: without a running agent
    nothing is inspected (`monitors` is empty). `supervisor` says whether a supervisor will
    restart it, how often it did, and why the last one ended.
    """
    paths = AgentPaths.for_db(db_path)
    pid = running_pid(paths)
    published = _read_json(paths.status) or {}
    if pid is None or published.get("pid") != pid:
        published = {k: v for k, v in published.items() if k in ("limits", "rules")}
        published["monitors"] = []
    supervisor = supervisor_pid(paths)
    supervised = _read_json(paths.supervisor_status) or {} if supervisor is not None else {}
    return {
        "running": pid is not None,
        "pid": pid,
        "db": str(paths.db),
        "log": str(paths.log),
        "configured_rules": (read_config(paths.db).get("rules") or ["builtin"]),
        **{k: v for k, v in published.items() if k not in ("pid", "running")},
        "supervisor": {"running": supervisor is not None, "pid": supervisor,
                       **{k: v for k, v in supervised.items()
                          if k in ("restarts", "last_exit", "restart_at", "state")}},
    }


def publish_status(paths: AgentPaths, status: dict) -> None:
    """Written by the daemon itself (atomically) for agent_status() to read."""
    _write_json(paths.status, status)


def publish_supervisor(paths: AgentPaths, status: dict) -> None:
    """Written by the supervisor (atomically) for agent_status() to read."""
    _write_json(paths.supervisor_status, status)


def running_pid(paths: AgentPaths) -> int | None:
    """The pid in the pid file if that process is this database's agent."""
    return _live_pid(paths, paths.pid, b"run")


def supervisor_pid(paths: AgentPaths) -> int | None:
    """The pid of this database's agent supervisor, if it runs."""
    return _live_pid(paths, paths.supervisor_pid, b"supervise")


def _live_pid(paths: AgentPaths, pid_file: Path, role: bytes) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    if state == "Z":
        return None
    if b"dpictl.agent" not in cmdline or role not in cmdline or \
            str(paths.db).encode() not in cmdline:
        return None           # a stale pid file whose number now belongs to someone else
    return pid


def hold_agent_lock(paths: AgentPaths):
    """Held by a running agent for its lifetime; yields False if another one holds it."""
    return hold_lock(paths.lock)


@contextmanager
def hold_lock(path: Path) -> Iterator[bool]:
    """An exclusive flock for the holder's lifetime; yields False if another one holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _spawn(paths: AgentPaths) -> int:
    """Double-fork the daemon so that no CLI process ever has to reap it."""
    try:
        if paths.log.stat().st_size > LOG_ROTATE_BYTES:
            os.replace(paths.log, paths.log.with_name(paths.log.name + ".1"))
    except OSError:
        pass
    argv = [sys.executable, "-m", "dpictl.agent", "supervise", "--db", str(paths.db)]
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # intermediate: new session, fork the daemon, report its pid, exit
        try:
            os.close(read_end)
            os.setsid()
            grandchild = os.fork()
            if grandchild == 0:
                os.close(write_end)
                _exec_daemon(argv, paths.log)
            os.write(write_end, str(grandchild).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    return int(data or 0)


def _exec_daemon(argv: list[str], log: Path) -> None:
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.closerange(3, 1024)
        os.execv(argv[0], argv)
    finally:
        os._exit(127)


def _wait_agent(paths: AgentPaths, supervisor: int, timeout: float = 5.0) -> int | None:
    """Until the supervisor has started the agent (so running_pid() recognises it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = running_pid(paths)
        if pid is not None or _wait_gone(supervisor, 0):
            return pid
        time.sleep(0.01)
    return running_pid(paths)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


__all__ = ["ensure_agent", "stop_agent", "agent_status", "configure_agent", "read_config",
           "AgentPaths", "publish_status", "publish_supervisor", "running_pid",
           "supervisor_pid", "hold_agent_lock", "hold_lock"]
