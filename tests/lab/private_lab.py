"""A real lab on a private state directory, with netns named `harda<hex>-*` (root tests)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

from dpictl.alerts.store import AlertStore
from dpictl.backends.local import kernel
from lab.test_run_lab_local import Lab

DPICTL = [sys.executable, "-m", "dpictl"]


class PrivateLab(Lab):
    """A Lab whose netns carry this suite's prefix and whose whole state dir is private."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.cluster = "harda" + secrets.token_hex(3)
        self.env.update(DPICTL_CLUSTER_ID=self.cluster,
                        XDG_STATE_HOME=str(tmp_path / "state"))

    def assert_nothing_left(self) -> None:
        """Also no objects in the state database (namespaces, pods, DPI resources)."""
        super().assert_nothing_left()
        status = subprocess.run(DPICTL + ["lab", "status", "-o", "json"], env=self.env,
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert (doc["namespaces"], doc["pods"], doc["dpi"]) == ([], [], [])

    def netns(self) -> list[str]:
        return [n for n in kernel.list_netns() if n.startswith(self.cluster + "-")]

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(DPICTL + list(args), env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def wait_for(self, what, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < deadline, "the lab did not get there in time"
            time.sleep(0.02)

    def alert_count(self) -> int:
        if not self.db.exists():
            return 0
        try:
            with AlertStore(self.db) as store:
                return len(store.query(since=0.0))
        except Exception:
            return 0


