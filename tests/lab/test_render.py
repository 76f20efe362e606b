"""The lab report and `lab status` as text: the verdict, expected vs seen per request, the
limits that apply. Rendered at a fixed width into a string."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from dpictl.lab import lab_status, load_scenario, run_scenario
from dpictl.lab import runner as runner_mod
from dpictl.lab.render import status_tables, traffic_table, verdict
from lab.fakes import fake_env

RED_BLUE = Path(__file__).resolve().parents[2] / "scenarios" / "red-blue.yaml"


def text_of(*renderables) -> str:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    for r in renderables:
        console.print(r)
    return out.getvalue()


def test_report_says_expected_and_seen(monkeypatch):
    monkeypatch.setattr(runner_mod, "SETTLE_SECONDS", 0.0)
    report = run_scenario(load_scenario(RED_BLUE), fake_env(), timeout=2)
    text = text_of(traffic_table(report), verdict(report))
    assert "PASSED  scenario red-blue" in text
    rows = {line.split()[0]: line for line in text.splitlines()
            if line.strip().startswith(("red1->", "blue2->"))}
    assert "2 (red/red1, red/red2)" in rows["red1->red2"] and "pass" in rows["red1->red2"]
    assert rows["blue2->blue1"].split()[-2:] == ["-", "pass"]
    assert "cleanup: down" in text


def test_failed_report_lists_why(monkeypatch):
    monkeypatch.setattr(runner_mod, "SETTLE_SECONDS", 0.0)
    report = run_scenario(load_scenario(RED_BLUE), fake_env(sid=42), timeout=2)
    text = text_of(verdict(report))
    assert "FAILED  scenario red-blue" in text
    assert "SID 42 is not the expected 1000001" in text


def test_status_shows_limits_and_monitors():
    env = fake_env()
    env.inspection.status = lambda: {
        "running": True, "pid": 99, "rss_bytes": 80 * 2**20,
        "limits": {"cpu": "cgroup v1 cpu.cfs_quota_us=100000/100000 (1 CPU)",
                   "memory": "cgroup v1 memory.limit_in_bytes (1Gi)"},
        "rules": {"paths": ["builtin"], "loaded": 13, "errors": 0},
        "monitors": [{"resource": "red/red-dpi-all", "endpoint": "red/red1",
                      "interface": "cali08ce55c424a", "packets": 10, "alerts": 1,
                      "kernel_packets": 12, "kernel_drops": 2}]}
    env.backend.create_namespace("red")
    text = text_of(*status_tables(lab_status(env)))
    assert "Agent: running, pid 99" in text
    assert "cpu limit: cgroup v1 cpu.cfs_quota_us=100000/100000 (1 CPU)" in text
    assert "memory in use: 80 MiB" in text
    assert "inspecting red/red1 on cali08ce55c424a for red/red-dpi-all" in text
    assert "kernel 12 packets, 2 dropped" in text
