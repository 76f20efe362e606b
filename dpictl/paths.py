"""Where dpictl keeps its state on disk, and the rule that keeps it private.

One SQLite file holds both the alerts and the local cluster's state, so separate commands
(and the agent daemon) see one world. It lives in the XDG state directory because it is
state that survives restarts but is not configuration.

dpictl runs as root, so a state directory that someone else can write to would let them plant
symlinks that root then follows (a planted `agent.log` link got root's log lines appended to
another file). Directories dpictl creates are 0700, and a directory that is group- or
world-writable, or owned by another user, is refused with one line saying how to fix it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dpictl.errors import PermissionDenied

DB_ENV = "DPICTL_DB"
RULES_DIR_ENV = "DPICTL_RULES_DIR"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dpictl"


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/dpictl` (default ~/.cache/dpictl): things dpictl can rebuild, such
    as compiled rule sets."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dpictl"


def default_db_path() -> Path:
    """`$DPICTL_DB`, else `$XDG_STATE_HOME/dpictl/dpictl.db`."""
    env = os.environ.get(DB_ENV)
    return Path(env) if env else state_dir() / "dpictl.db"


def run_dir() -> Path:
    """Pid files, sockets and logs of background processes (the agent, pod HTTP servers)."""
    return state_dir() / "run"


def rules_dir() -> Path:
    """Managed rules: sources, fetch cache, policy files, the ruleset `rules update` writes.

    `$DPICTL_RULES_DIR`, else `$XDG_STATE_HOME/dpictl/rules`."""
    env = os.environ.get(RULES_DIR_ENV)
    return Path(env) if env else state_dir() / "rules"


def open_log(path: Path) -> int:
    """A file descriptor appending to the log at `path`, in a private directory under the
    state directory; a symlink planted in its place is refused (O_NOFOLLOW), not followed."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
                       | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if os.path.islink(path):
            raise PermissionDenied(f"refusing to write the log {path}: it is a symlink",
                                   hint=f"remove it: rm {path}") from None
        raise PermissionDenied(f"cannot open the log {path}: {exc.strerror}") from None


def private_dir(path: Path, top: Path | None = None) -> Path:
    """`path`, created 0700 if missing, after checking that nobody else can write to it, nor
    to any directory between `top` (an ancestor, e.g. the state directory) and it."""
    path = Path(path)
    chain = [path]
    if top is not None:
        chain = [path] + [p for p in path.parents if p == Path(top) or Path(top) in p.parents]
    for directory in reversed(chain):
        if not directory.exists():
            directory.parent.mkdir(parents=True, exist_ok=True)
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                pass                              # another dpictl made it first: check it
            else:
                os.chmod(directory, 0o700)        # whatever the umask said
        check_private_dir(directory)
    return path


def check_private_dir(path: Path) -> None:
    """PermissionDenied unless `path` is a directory owned by us that only we can write."""
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise PermissionDenied(f"state directory {path} is not a directory")
    me = os.geteuid()
    if info.st_uid != me:
        raise PermissionDenied(f"state directory {path} is owned by uid {info.st_uid}, not by "
                               f"this user (uid {me})",
                               hint="use a directory of your own (--db or $XDG_STATE_HOME)")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionDenied(f"state directory {path} is group- or world-writable "
                               f"(mode {stat.S_IMODE(info.st_mode):04o})",
                               hint=f"chmod go-w {path}, or use another --db")


__all__ = ["DB_ENV", "RULES_DIR_ENV", "state_dir", "cache_dir", "default_db_path", "run_dir",
           "rules_dir",
           "open_log", "private_dir", "check_private_dir"]
