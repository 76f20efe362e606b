"""Keeps the local agent running: restarts it with backoff when it dies, and shows the gap.

Where it lives, and why: in a small process of its own (`python -m dpictl.agent supervise
--db DB`), which `ensure_agent` starts detached in the agent's place and which runs the agent
as its child. The agent outlives the command that started it - `run-lab --keep`, `lab up` and
`dpictl apply` all return while it keeps inspecting - so its supervisor must too: one that
lived in `run-lab` would be gone exactly when a kept lab is used by later commands, and one
that `lab status` provided could only notice a death when someone looks. The supervisor is
tiny (no engine, no capture), so it is far less likely to die than the agent it watches;
`ensure_agent` starts a new one if it did.

When the agent dies (a crash, the OOM killer, kill -9) the supervisor, within a tenth of a
second:
- writes a failed condition on every DeepPacketInspection's `status.nodes[]` entry for this
  node (`active.success: false` plus an `errorConditions` message, Calico's shape), which the
  restarted agent sets back to `success: true` once it inspects again;
- publishes `supervisor.json` (restarts, last exit, next restart) for `lab status`;
- restarts it after 1 s, then 2, 4 ... up to 30 s while it keeps dying, back to 1 s once one
  ran for a minute (kubelet's CrashLoopBackOff, in small). SIGHUP (sent by `ensure_agent`,
  e.g. from `dpictl apply`) restarts it at once.
SIGTERM stops the agent (SIGKILL after STOP_TIMEOUT), then the supervisor.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import Callable, Protocol

from dpictl.agent.daemon import (STOP_TIMEOUT, AgentPaths, hold_lock, publish_supervisor,
                                 running_pid)

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0        # an agent that ran this long resets the backoff
POLL_SECONDS = 0.1


class Child(Protocol):
    pid: int

    def poll(self) -> int | None: ...


def start_agent_process(paths: AgentPaths) -> Child:
    """The agent as this process's child, logging where the supervisor logs (its stderr)."""
    return subprocess.Popen([sys.executable, "-m", "dpictl.agent", "run", "--db", str(paths.db)],
                            stdin=subprocess.DEVNULL)


def mark_agent_down(paths: AgentPaths, message: str) -> None:
    """`success: false` and `message` on this node's entry of every DeepPacketInspection."""
    from dpictl.agent.local_source import BackendSource
    from dpictl.backends import open_backend

    backend = open_backend("local", db=paths.db)
    try:
        source = BackendSource(backend)
        for dpi in source.resources():
            meta = dpi.get("metadata") or {}
            source.report_status(dpi, backend.node_name, False,
                                 f"dpictl agent for resource {meta.get('namespace')}/"
                                 f"{meta.get('name')} on node {backend.node_name} {message}")
    finally:
        backend.close()


def describe_exit(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """The restart loop; `start`, `mark_down` and `sleep` are seams for the tests."""

    def __init__(self, paths: AgentPaths, *,
                 start: Callable[[AgentPaths], Child] = start_agent_process,
                 mark_down: Callable[[AgentPaths, str], None] = mark_agent_down,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.paths = paths
        self.start = start
        self.mark_down = mark_down
        self.clock = clock
        self.sleep = sleep
        self.stopping = False
        self.nudged = False
        self.restarts = 0
        self.last_exit: str | None = None
        self.child: Child | None = None

    # signal handlers (installed by run())
    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def nudge(self, *_: object) -> None:
        self.nudged = True

    def run(self) -> int:
        with hold_lock(self.paths.supervisor_lock) as mine:
            if not mine:
                log.info("another supervisor already serves %s; exiting", self.paths.db)
                return 0
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
            signal.signal(signal.SIGHUP, self.nudge)
            self.paths.supervisor_pid.write_text(f"{os.getpid()}\n")
            try:
                self.loop()
            finally:
                self.stop_child()
                for path in (self.paths.supervisor_pid, self.paths.supervisor_status):
                    path.unlink(missing_ok=True)
        return 0

    def loop(self) -> None:
        delay = BACKOFF_FIRST
        while not self.stopping:
            pid, alive = self._start_or_adopt()
            started = self.clock()
            self._publish("running", pid)
            while not self.stopping and alive():
                self.sleep(POLL_SECONDS)
            if self.stopping:
                return
            if running_pid(self.paths) not in (None, pid):
                continue                     # another agent took over (it holds the lock)
            code = self.child.poll() if self.child is not None and self.child.pid == pid \
                else None
            if self.clock() - started >= STABLE_AFTER:
                delay = BACKOFF_FIRST
            self.restarts += 1
            self.last_exit = f"agent pid {pid} {describe_exit(code)}"
            log.warning("%s; restarting it in %gs", self.last_exit, delay)
            try:
                self.mark_down(self.paths, f"{describe_exit(code)} (pid {pid}); restarting "
                                           f"in {delay:g}s")
            except Exception as exc:  # the status is best effort; restarting is the job
                log.warning("could not mark the DPI resources down: %s", exc)
            self._publish("restarting", None, restart_in=delay)
            self._wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    def _start_or_adopt(self) -> tuple[int, Callable[[], bool]]:
        """Our own child, or an agent that already runs (after a supervisor restart)."""
        other = running_pid(self.paths)
        if other is not None and (self.child is None or other != self.child.pid):
            return other, lambda: running_pid(self.paths) == other
        child = self.child = self.start(self.paths)
        self.paths.pid.write_text(f"{child.pid}\n")      # the agent rewrites it, same pid
        log.info("started agent pid %d", child.pid)
        return child.pid, lambda: child.poll() is None

    def _wait(self, seconds: float) -> None:
        deadline = self.clock() + seconds
        self.nudged = False
        while not self.stopping and not self.nudged and self.clock() < deadline:
            self.sleep(POLL_SECONDS)

    def _publish(self, state: str, agent_pid: int | None, restart_in: float | None = None) -> None:
        publish_supervisor(self.paths, {
            "pid": os.getpid(), "state": state, "agent_pid": agent_pid,
            "restarts": self.restarts, "last_exit": self.last_exit,
            "restart_at": time.time() + restart_in if restart_in is not None else None})

    def stop_child(self) -> None:
        child = self.child
        if child is None or child.poll() is not None:
            return
        os.kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            while child.poll() is None:
                time.sleep(0.05)


def run_supervisor(db: str) -> int:
    return Supervisor(AgentPaths.for_db(db)).run()


__all__ = ["Supervisor", "run_supervisor", "mark_agent_down", "describe_exit",
           "BACKOFF_FIRST", "BACKOFF_MAX", "STABLE_AFTER"]
