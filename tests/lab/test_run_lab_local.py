"""`dpictl run-lab` for real on the local netns cluster (root): it passes twice in a row with
the built-in rules and with the community rules, prints the JSON it promises, leaves nothing
behind, fails with exit 7 when an expectation does not hold, and cleans up on Ctrl-C.
Netns are named `dagl<hex>-*` (DPICTL_CLUSTER_ID)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dpictl.agent.daemon import AgentPaths
from dpictl.backends.local import kernel
from dpictl.backends.local.processes import pod_servers_labelled

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[2]
RED_BLUE = ROOT / "scenarios" / "red-blue.yaml"
COMMUNITY = Path(__file__).resolve().parents[3] / "shared" / "rules" / "snort3-community.rules"
EXPECTED = {"red1->red2": ["red/red1", "red/red2"], "red1->blue1": ["red/red1"],
            "blue2->red2": ["red/red2"], "blue2->blue1": []}


def _root_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def _agents(db: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"dpictl.agent" in cmd and str(db).encode() in cmd:
            found.append(int(proc.name))
    return found


class Lab:
    """One private state file and cluster id; checks that a run left nothing behind."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = (tmp_path / "lab.db").resolve()
        self.cluster = "dagl" + secrets.token_hex(3)
        self.env = {**os.environ, "DPICTL_DB": str(self.db), "DPICTL_CLUSTER_ID": self.cluster}
        self.links = _root_links()

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "dpictl", "run-lab", *args],
                              capture_output=True, text=True, env=self.env, timeout=timeout)
        print(f"run-lab {' '.join(args)}: exit {proc.returncode} in "
              f"{time.monotonic() - started:.1f}s")
        return proc

    def assert_nothing_left(self) -> None:
        assert [n for n in kernel.list_netns() if n.startswith(self.cluster + "-")] == []
        assert {n for n in _root_links() - self.links if n.startswith(("cali", "dagl"))} \
            == set()
        assert _agents(self.db) == []
        assert pod_servers_labelled(self.cluster + "-") == []     # no orphaned pod servers
        name = AgentPaths.for_db(self.db).cgroup_name
        for hierarchy in ("cpu", "memory"):
            leftovers = list(Path("/sys/fs/cgroup", hierarchy).rglob(f"dpictl-agent-{name}"))
            assert leftovers == []

    def cleanup(self) -> None:
        subprocess.run([sys.executable, "-m", "dpictl", "lab", "down"], env=self.env,
                       capture_output=True, timeout=60)


@pytest.fixture()
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.cleanup()
    lab.assert_nothing_left()


def check_report(doc: dict, sid: int) -> None:
    assert doc["scenario"] == "red-blue" and doc["passed"] is True, doc["problems"]
    assert [s["status"] for s in doc["steps"]] == ["ok"] * 7
    assert all({"name", "kind", "status", "seconds", "detail"} <= set(s) for s in doc["steps"])
    seen = {t["name"]: t["seen"]["endpoints"] for t in doc["traffic"]}
    assert seen == EXPECTED
    assert len(doc["alerts"]) == 4
    for alert in doc["alerts"]:
        assert alert["record"]["snort_signature_id"] == str(sid)
        assert alert["origin"] == "dpi.red/red-dpi-all"
        assert alert["type"] == "deep_packet_inspection"
        assert alert["endpoint"]["namespace"] == "red"
        assert alert["dest_port"] == 80


@pytest.mark.parametrize("rules,sid", [((), 1000001), ((str(COMMUNITY),), 21562)],
                         ids=["builtin", "community"])
def test_run_lab_passes_twice_in_a_row(lab, rules, sid):
    flags = [a for r in rules for a in ("--rules", r)]
    for _ in range(2):
        proc = lab.run(*flags, "-o", "json")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        check_report(json.loads(proc.stdout), sid)
        lab.assert_nothing_left()


def test_table_output_and_failed_expectation_exit_7(lab, tmp_path):
    doc = yaml.safe_load(RED_BLUE.read_text())
    doc["steps"][6]["traffic"][0]["expect"] = {"alerts": 1}     # there will be 2
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(doc))
    proc = lab.run(str(wrong))
    assert proc.returncode == 7, proc.stderr
    assert "FAILED" in proc.stdout and "red1->red2" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == (
        "dpictl: error: scenario red-blue failed: red1->red2: expected 1 alert, saw 2 alerts")
    lab.assert_nothing_left()


def test_ctrl_c_during_run_lab_cleans_up(lab):
    proc = subprocess.Popen([sys.executable, "-m", "dpictl", "run-lab"], env=lab.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:      # interrupt once the pods exist
        if len([n for n in kernel.list_netns() if n.startswith(lab.cluster + "-")]) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("dpictl: error: run-lab red-blue interrupted")
    lab.assert_nothing_left()


def test_lab_up_status_and_down_after_an_agent_crash(lab):
    cli = [sys.executable, "-m", "dpictl", "lab"]
    up = subprocess.run(cli + ["up"], env=lab.env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    status = json.loads(subprocess.run(cli + ["status", "-o", "json"], env=lab.env,
                                       capture_output=True, text=True, timeout=60).stdout)
    assert status["namespaces"] == ["blue", "red"]
    assert sorted(p["name"] for p in status["pods"]) == ["blue1", "blue2", "red1", "red2"]
    assert status["dpi"][0]["name"] == "red-dpi-all" and "yes" in status["dpi"][0]["active"]
    agent = status["agent"]
    assert agent["running"] and "1 CPU" in agent["limits"]["cpu"]
    assert "1Gi" in agent["limits"]["memory"]
    assert sorted(m["endpoint"] for m in agent["monitors"]) == ["red/red1", "red/red2"]
    assert status["alerts"]["total"] == 0
    os.kill(agent["pid"], signal.SIGKILL)                 # the agent crashes
    time.sleep(0.5)
    down = subprocess.run(cli + ["down"], env=lab.env, capture_output=True, text=True,
                          timeout=60)
    assert down.returncode == 0, down.stderr
    assert "removed netns" in down.stdout
    lab.assert_nothing_left()


def test_second_scenario_label_selector_and_other_rules(lab):
    proc = lab.run("web-attacks", "-o", "json")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert {t["name"]: (t["seen"]["alerts"], t["seen"]["sids"]) for t in doc["traffic"]} == {
        "traversal->frontend": (1, [1000002]), "traversal->db": (0, []),
        "log4shell->db": (1, [1000005])}
    assert {a["origin"] for a in doc["alerts"]} == {"dpi.shop/web-tier"}
    lab.assert_nothing_left()
