"""The agent's supervisor: restarts with a doubling backoff (reset after a stable run), marks
the gap on the DPI resources, restarts at once on SIGHUP, and stops its agent on SIGTERM.
Fake children and a fake clock: no process is started and nothing waits."""

from __future__ import annotations

import pytest

from dpictl.agent.daemon import AgentPaths
from dpictl.agent.supervisor import (BACKOFF_MAX, STABLE_AFTER, Supervisor, describe_exit)

FAKE_PID = 5_000_000          # above any pid_max: no such process


class FakeChild:
    def __init__(self, pid: int, lifetime: float, clock: "FakeClock", code: int = -9) -> None:
        self.pid, self.clock, self.code = pid, clock, code
        self.dies_at = clock.now + lifetime

    def poll(self):
        return self.code if self.clock.now >= self.dies_at else None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _supervisor(tmp_path, lifetimes, stop_after):
    clock = FakeClock()
    marks: list[tuple[float, str]] = []
    started: list[float] = []
    paths = AgentPaths.for_db(tmp_path / "state.db")
    paths.dir.mkdir(parents=True)

    def start(_paths):
        started.append(clock.now)
        if len(started) > stop_after:
            sup.stopping = True
        return FakeChild(FAKE_PID + len(started), lifetimes[min(len(started) - 1,
                                                                len(lifetimes) - 1)], clock)

    sup = Supervisor(paths, start=start, mark_down=lambda p, m: marks.append((clock.now, m)),
                     clock=clock, sleep=clock.sleep)
    return sup, clock, marks, started


def test_a_dying_agent_is_restarted_with_a_doubling_backoff(tmp_path):
    sup, clock, marks, started = _supervisor(tmp_path, [0.5], stop_after=8)
    sup.loop()
    gaps = [b - a - 0.5 for a, b in zip(started, started[1:])]      # (polls: +-0.3 s)
    wanted = [1.0, 2.0, 4.0, 8.0, 16.0, BACKOFF_MAX, BACKOFF_MAX, BACKOFF_MAX]
    assert len(gaps) == len(wanted)
    assert all(abs(g - w) <= 0.3 for g, w in zip(gaps, wanted)), gaps
    assert sup.restarts == 8
    # each death is marked as it happens, before the wait, with what happened
    assert all(abs(t - s - 0.5) <= 0.3 for (t, _), s in zip(marks, started))
    assert len(marks) == 8
    assert marks[0][1] == (f"was killed by SIGKILL (pid {FAKE_PID + 1}); restarting in 1s")
    status = (sup.paths.supervisor_status).read_text()
    assert '"restarts": 8' in status and "was killed by SIGKILL" in status


def test_an_agent_that_ran_a_while_resets_the_backoff(tmp_path):
    sup, clock, marks, started = _supervisor(
        tmp_path, [0.5, 0.5, 0.5, STABLE_AFTER + 1, 0.5], stop_after=5)
    sup.loop()
    delays = [m.rsplit("in ", 1)[1] for _, m in marks]
    assert delays == ["1s", "2s", "4s", "1s", "2s"]


def test_sighup_restarts_at_once_and_sigterm_stops(tmp_path):
    sup, clock, marks, started = _supervisor(tmp_path, [0.5], stop_after=99)
    sleep = clock.sleep

    def sleeping(seconds):
        sleep(seconds)
        if len(started) == 3 and len(marks) == 3 and clock.now > started[-1] + 1.0:
            sup.nudge()                        # in the 4 s wait: ensure_agent's SIGHUP
        if len(started) == 4:
            sup.request_stop()                 # SIGTERM
    sup.sleep = sleeping
    sup.loop()
    assert len(started) == 4
    assert started[3] - started[2] < 2.0       # not the 4 s backoff


@pytest.mark.parametrize("code,said", [(-9, "was killed by SIGKILL"), (3, "exited with code 3"),
                                       (0, "exited with code 0")])
def test_describe_exit(code, said):
    assert describe_exit(code) == said
