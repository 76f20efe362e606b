"""The daemon plumbing with a real process: start once, reconfigure by SIGHUP, no zombie,
SIGTERM stops it cleanly, a stale pid file is not mistaken for an agent."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dpictl.agent.daemon import (AgentPaths, agent_status, configure_agent, ensure_agent,
                                 running_pid, stop_agent)


def wait_for(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture()
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("DPICTL_CLUSTER_ID", "dagl" + os.urandom(3).hex())
    path = tmp_path / "state.db"
    yield path
    stop_agent(path)


def test_start_reconfigure_stop(db):
    pid = ensure_agent(db)
    assert pid > 0 and running_pid(AgentPaths.for_db(db)) == pid
    assert wait_for(lambda: agent_status(db).get("rules", {}).get("paths") == ["builtin"])
    assert ensure_agent(db) == pid                      # running: signalled, not restarted
    rules = db.with_name("two.rules")
    rules.write_text(
        'alert tcp any any -> any 80 (msg:"a"; content:"aaa"; sid:9100001;)\n'
        'alert tcp any any -> any 80 (msg:"b"; content:"bbb"; sid:9100002;)\n')
    configure_agent(db, [rules])
    assert ensure_agent(db) == pid
    assert wait_for(lambda: agent_status(db).get("rules", {}).get("paths") == [str(rules)])
    assert agent_status(db)["rules"]["loaded"] == 2
    assert agent_status(db)["pid"] == pid
    assert stop_agent(db) is True
    # gone, and never a zombie of ours: it was double-forked away from this process, so
    # init reaps it
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        assert int(stat.read_text().rsplit(")", 1)[1].split()[1]) != os.getpid()
    assert wait_for(lambda: not stat.exists(), 10)
    status = agent_status(db)
    assert status["running"] is False and status["pid"] is None
    assert stop_agent(db) is False


def test_two_ensures_at_once_start_one_agent(db):
    pids = {ensure_agent(db), ensure_agent(db)}
    assert len(pids) == 1


def test_stale_pid_file_is_not_an_agent(db):
    paths = AgentPaths.for_db(db)
    paths.dir.mkdir(parents=True, exist_ok=True)
    paths.pid.write_text(f"{os.getpid()}\n")              # this pytest process
    assert running_pid(paths) is None
    assert agent_status(db)["running"] is False
    assert stop_agent(db) is False                        # and it does not kill us


def test_agent_log_says_what_limits_apply(db):
    ensure_agent(db)
    assert wait_for(lambda: agent_status(db).get("limits") is not None)
    limits = agent_status(db)["limits"]
    assert limits["cpu"] == "unlimited" and limits["memory"] == "unlimited"


def test_a_killed_agent_is_restarted_by_its_supervisor_and_stop_ends_both(db):
    import signal

    from dpictl.agent.daemon import supervisor_pid

    paths = AgentPaths.for_db(db)
    first = ensure_agent(db)
    supervisor = supervisor_pid(paths)
    assert first and supervisor and supervisor != first
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: running_pid(paths) not in (None, first), 15)
    status = agent_status(db)
    assert status["supervisor"]["restarts"] == 1
    assert status["supervisor"]["last_exit"] == f"agent pid {first} was killed by SIGKILL"
    second = running_pid(paths)
    assert stop_agent(db) is True
    assert wait_for(lambda: not Path(f"/proc/{second}").exists()
                    and not Path(f"/proc/{supervisor}").exists(), 10)
    assert agent_status(db)["supervisor"] == {"running": False, "pid": None}


def test_a_new_supervisor_adopts_an_agent_whose_supervisor_died(db):
    import signal

    from dpictl.agent.daemon import supervisor_pid

    paths = AgentPaths.for_db(db)
    agent = ensure_agent(db)
    os.kill(supervisor_pid(paths), signal.SIGKILL)
    assert wait_for(lambda: supervisor_pid(paths) is None, 5)
    assert ensure_agent(db) == agent                 # the agent kept running
    assert wait_for(lambda: supervisor_pid(paths) is not None, 5)
    assert wait_for(lambda: agent_status(db)["supervisor"].get("state") == "running", 5)
    os.kill(agent, signal.SIGKILL)                   # and the new supervisor watches it
    assert wait_for(lambda: running_pid(paths) not in (None, agent), 15)
