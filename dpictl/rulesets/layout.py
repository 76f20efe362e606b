"""Where managed rules live on disk: one directory a user can read (and a sensor can watch).

    sources.yaml        the sources (`dpictl rules source ...` edits it)
    cache/NAME.data     the last download of each source, cache/NAME.json its ETag etc.
    enable.conf  disable.conf  modify.conf  drop.conf   the policy (suricata-update's files)
    threshold.config    suppress / threshold / event_filter / rate_filter lines
    managed.rules       the ruleset `rules update` wrote and checked: what sensors load
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from dpictl.paths import rules_dir

POLICY_FILES = ("enable", "disable", "modify", "drop")


@dataclass(frozen=True, slots=True)
class RulesDir:
    """The managed-rules directory; paths only, nothing is created until written."""

    root: Path

    @classmethod
    def default(cls) -> RulesDir:
        return cls(rules_dir())

    @property
    def sources(self) -> Path:
        return self.root / "sources.yaml"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def managed(self) -> Path:
        return self.root / "managed.rules"

    @property
    def threshold(self) -> Path:
        return self.root / "threshold.config"

    def policy(self, kind: str) -> Path:
        if kind not in POLICY_FILES:
            raise ValueError(f"no policy file {kind!r}")
        return self.root / f"{kind}.conf"


@contextmanager
def locked(rules: RulesDir) -> Iterator[None]:
    """One update or policy edit at a time (a cron `rules update` and a user's `rules disable`
    would otherwise each rebuild from what the other is rewriting). Blocks until free."""
    rules.root.mkdir(parents=True, exist_ok=True)
    with open(rules.root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside `path`, fsync, then rename over it: a reader (the agent, a concurrent
    `inspect`) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)   # sensors may run as another user than `rules update`
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["RulesDir", "POLICY_FILES", "write_atomically", "locked"]
