"""Where dpictl keeps its state on disk.

One SQLite file holds both the alerts and the local cluster's state, so separate commands
(and the agent daemon) see one world. It lives in the XDG state directory because it is
state that survives restarts but is not configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_ENV = "DPICTL_DB"


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


__all__ = ["DB_ENV", "state_dir", "cache_dir", "default_db_path", "run_dir"]
