"""Issue 8, point 7, for real (root): in a lab left up, kill -9 of the agent shows at once in
the DPI resource's `status.nodes[]` (success: false, an errorCondition) and in `lab status`
(not running, nothing inspected, the supervisor's restart); the supervisor restarts it, the
resource is active again, and new attack traffic raises alerts again.

The supervisor is frozen (SIGSTOP) while the gap is checked, so the check does not race its
1 s restart; it is thawed to show the recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from dpictl.agent.daemon import AgentPaths, supervisor_pid
from lab.private_lab import DPICTL, PrivateLab

pytestmark = pytest.mark.root

ATTACK = ("curl -s -m 5 http://{ip}:80 -H 'User-Agent: Mozilla/4.0' -XPOST "
          "--data-raw 'smk=1234'")


@pytest.fixture()
def lab(tmp_path):
    lab = PrivateLab(tmp_path)
    yield lab
    lab.cleanup()
    lab.assert_nothing_left()


def _cli(lab: PrivateLab, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(DPICTL + list(args), env=lab.env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def _node_entry(lab: PrivateLab) -> dict:
    dpi = json.loads(_cli(lab, "get", "dpi", "-n", "red", "red-dpi-all", "-o", "json").stdout)
    (node,) = dpi["status"]["nodes"]
    return node


def _supervisor_state(paths: AgentPaths) -> str | None:
    try:
        return json.loads(paths.supervisor_status.read_text()).get("state")
    except (OSError, ValueError):
        return None


def test_a_killed_agent_shows_at_once_and_is_restarted(lab):
    _cli(lab, "lab", "up")
    paths = AgentPaths.for_db(lab.db)
    status = json.loads(_cli(lab, "lab", "status", "-o", "json").stdout)
    first = status["agent"]["pid"]
    assert status["agent"]["running"] and status["agent"]["supervisor"]["running"]
    assert _node_entry(lab)["active"]["success"] is True

    os.kill(first, signal.SIGKILL)
    lab.wait_for(lambda: _supervisor_state(paths) == "restarting", timeout=5)
    supervisor = supervisor_pid(paths)
    os.kill(supervisor, signal.SIGSTOP)              # hold the gap open while we look
    try:
        node = _node_entry(lab)
        assert node["active"]["success"] is False
        assert node["errorConditions"][-1]["message"] == (
            f"dpictl agent for resource red/red-dpi-all on node {node['node']} was killed "
            f"by SIGKILL (pid {first}); restarting in 1s")
        assert node["errorConditions"][-1]["lastUpdated"]
        down = json.loads(_cli(lab, "lab", "status", "-o", "json").stdout)
        assert down["agent"]["running"] is False and down["agent"]["monitors"] == []
        assert down["agent"]["supervisor"]["restarts"] == 1
        assert down["agent"]["supervisor"]["last_exit"] == (
            f"agent pid {first} was killed by SIGKILL")
        assert down["dpi"][0]["active"].endswith("=no") and down["dpi"][0]["errors"] >= 1
        table = _cli(lab, "lab", "status").stdout
        assert "Agent: not running, nothing is inspected" in table
        assert "inspecting" not in table
        assert "restarted 1 time; last" in table
    finally:
        os.kill(supervisor, signal.SIGCONT)

    lab.wait_for(lambda: _node_entry(lab)["active"]["success"] is True, timeout=30)
    again = json.loads(_cli(lab, "lab", "status", "-o", "json").stdout)["agent"]
    assert again["running"] and again["pid"] != first
    assert sorted(m["endpoint"] for m in again["monitors"]) == ["red/red1", "red/red2"]
    red2 = next(p["ip"] for p in json.loads(_cli(lab, "lab", "status", "-o", "json").stdout)
                ["pods"] if p["name"] == "red2")
    before = lab.alert_count()
    _cli(lab, "exec", "-n", "red", "red1", "--", "sh", "-c", ATTACK.format(ip=red2))
    lab.wait_for(lambda: lab.alert_count() >= before + 2, timeout=30)   # red1 and red2
