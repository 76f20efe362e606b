"""A worker forked while another thread is inside `subprocess.run` would inherit that call's
pipes and keep the caller waiting for EOF as long as the worker lives (the flow-log
collector's `nft` call once hung for a whole lab in CI). Both sides take one lock."""

from __future__ import annotations

import subprocess
import threading
import time

from dpictl.agent import workers
from dpictl.flowlogs import kernel_counters
from dpictl.forklock import FORK_LOCK


def test_the_collectors_nft_runs_under_the_fork_lock(monkeypatch):
    seen: list[bool] = []

    def fake_run(*args, **kwargs):
        seen.append(FORK_LOCK.locked())
        return subprocess.CompletedProcess(args, 0, "out", "")

    monkeypatch.setattr(kernel_counters.subprocess, "run", fake_run)
    assert kernel_counters._nft(None, ["list", "tables"]) == "out"
    assert seen == [True] and not FORK_LOCK.locked()


def test_a_worker_fork_waits_while_a_subprocess_is_being_spawned(monkeypatch):
    started: list[float] = []

    class FakeProcess:
        def __init__(self, *args, **kwargs):
            pass

        def start(self):
            started.append(time.monotonic())

    class FakeContext:
        Process = FakeProcess

        @staticmethod
        def Pipe(duplex=False):
            a, b = _Conn(), _Conn()
            return a, b

    class _Conn:
        def close(self):
            pass

    monkeypatch.setattr(workers.multiprocessing, "get_context", lambda kind: FakeContext)
    released_at: list[float] = []
    holding = threading.Event()

    def spawner():
        with FORK_LOCK:                       # as kernel_counters._nft does
            holding.set()
            time.sleep(0.3)
            released_at.append(time.monotonic())

    thread = threading.Thread(target=spawner)
    thread.start()
    holding.wait(5)
    workers._Worker.fork(0, None, None, 1, ["cali0"])
    thread.join()
    assert started and released_at and started[0] >= released_at[0]
